// Reading a text/event-stream body as it arrives (EventSource cannot POST or send headers).

/**
 * for await (const { event, data, id } of readEvents(response.body)) ...
 * Follows the HTML spec's parsing: lines end in \n, \r\n or \r; `data:` lines join with
 * \n; a blank line dispatches the event; lines starting with ':' are comments.
 */
export async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "";
  let data = [];
  let id = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // A final \r may be the first half of \r\n: hold it until the next chunk.
      const held = buffer.endsWith("\r") ? "\r" : "";
      const lines = (held ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
      buffer = lines.pop() + held;
      for (const line of lines) {
        if (line === "") {
          if (data.length) yield { event: event || "message", data: data.join("\n"), id };
          event = "";
          data = [];
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const name = colon === -1 ? line : line.slice(0, colon);
          let field = colon === -1 ? "" : line.slice(colon + 1);
          if (field.startsWith(" ")) field = field.slice(1);
          if (name === "data") data.push(field);
          else if (name === "event") event = field;
          else if (name === "id") id = field;
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}
