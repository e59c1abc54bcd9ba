// The Chat view: a conversation with the default model, tokens shown as they stream in,
// a Stop button, and errors in words. Given an element, an API client and the URL of the
// Settings page; it keeps the conversation in memory only.

import { ApiError } from "./api-client.js";
import { busyButton, el, replaceChildren, statusLine, uniqueId } from "./dom.js";
import { formatError, formatTokens } from "./format.js";
import { renderMarkdown } from "./markdown.js";
import { providerLabel } from "./providers.js";
import { readEvents } from "./sse.js";

/**
 * What one server-sent event of POST /api/chat means. The server sends `delta` events
 * ({content}), then one `done` ({model, finish_reason, usage, latency_ms}), or an `error`
 * ({code, status, message}) when the provider fails mid-stream.
 * -> { type: "delta", text } | { type: "done", info } | { type: "error", status, message }
 *    | null for anything else (ignored, so the server may add events).
 */
export function interpretChatEvent({ event, data }) {
  let payload;
  try {
    payload = JSON.parse(data);
  } catch {
    return null;
  }
  if (!payload || typeof payload !== "object") return null;
  if (event === "delta") {
    return typeof payload.content === "string" ? { type: "delta", text: payload.content } : null;
  }
  if (event === "done") return { type: "done", info: payload };
  if (event === "error") {
    return { type: "error", status: payload.code || 502,
             message: payload.message || "The provider failed." };
  }
  return null;
}

/** "42 tokens · 1.3 s" from a `done` event or a JSON answer, as far as it says. */
function answerFacts(info, seconds) {
  const tokens = info && info.usage && info.usage.completion_tokens;
  return [typeof tokens === "number" ? `${tokens} tokens` : null, `${seconds} s`]
    .filter(Boolean).join(" · ");
}

/**
 * mountChat(root, { client, settingsUrl }) -> { newConversation }
 * settingsUrl: where "change the model" and "add a key" lead.
 */
export function mountChat(root, { client, settingsUrl = "/settings" } = {}) {
  const modelsUrl = `${settingsUrl}#settings-models`;
  const keysUrl = `${settingsUrl}#settings-keys`;
  const history = []; // { role, content } as sent to the server
  let controller = null;
  let model = null;

  const modelName = el("span", { className: "model-name" }, "Loading the model…");
  const modelLink = el("a", { href: modelsUrl, className: "change-model" }, "Change model");
  const newButton = el("button", { type: "button", className: "quiet" }, "New conversation");
  const modelBar = el("div", { className: "model-bar" },
    el("span", { className: "model-label" }, "Model"), modelName, modelLink, newButton);

  const emptyState = el("li", { className: "empty-chat" },
    el("strong", {}, "Start a conversation."),
    " Your messages go to the default model; answers appear as they are written.");
  const log = el("ol", { className: "messages", role: "log", "aria-live": "polite",
                         "aria-label": "Conversation" }, emptyState);

  const inputId = uniqueId("message");
  const input = el("textarea", { id: inputId, name: "message", rows: 3, required: true,
                                 placeholder: "Write a message…  (Enter sends, Shift+Enter "
                                   + "adds a line)" });
  const sendButton = el("button", { type: "submit", className: "primary" }, "Send");
  const stopButton = el("button", { type: "button", className: "danger" }, "Stop");
  stopButton.hidden = true;
  const status = statusLine("chat-status");
  const form = el("form", { className: "composer", "aria-label": "Send a message" },
    el("label", { for: inputId, className: "visually-hidden" }, "Message"),
    input,
    el("div", { className: "composer-actions" }, stopButton, sendButton));

  replaceChildren(root, el("div", { className: "chat-ui" }, modelBar, log, status.node, form));

  function bubble(role, text = "") {
    const body = el("div", { className: role === "user" ? "bubble-text" : "bubble-text prose" });
    const textNode = document.createTextNode(text);
    body.append(textNode);
    const item = el("li", { className: `message message-${role}` },
      el("span", { className: "message-role" }, role === "user" ? "You" : "Assistant"),
      body);
    emptyState.remove();
    log.append(item);
    item.scrollIntoView({ block: "end" });
    return { item, body, textNode };
  }

  function setStreaming(on) {
    stopButton.hidden = !on;
    sendButton.hidden = on;
    input.setAttribute("aria-busy", on ? "true" : "false");
  }

  function explain(error) {
    if (error instanceof ApiError && error.status === 409) {
      const provider = model ? providerLabel(model.provider) : "this provider";
      return [`No API key for ${provider}. `, el("a", { href: keysUrl }, "Add one in Settings"),
        "."];
    }
    if (error instanceof ApiError && error.status === 502) {
      return [`The provider answered with an error: ${error.message}`];
    }
    if (error instanceof ApiError && error.status === 504) {
      return [`The provider did not answer in time: ${error.message}`];
    }
    if (error instanceof ApiError && error.status === 404 && !model) {
      return ["No default model is chosen yet. ", el("a", { href: modelsUrl }, "Choose one in "
        + "Settings"), "."];
    }
    return [formatError(error)];
  }

  async function send(text) {
    const user = { role: "user", content: text };
    history.push(user);
    const userBubble = bubble("user", text);
    const answer = bubble("assistant");
    answer.item.classList.add("streaming");
    answer.body.append(el("span", { className: "cursor", "aria-hidden": "true" }));
    status.show("busy", "Waiting for the model…");
    setStreaming(true);
    controller = new AbortController();
    const started = performance.now();
    let received = "";
    let info = null;
    let outcome = "done";
    let frame = 0;
    const show = () => {
      frame = 0;
      answer.body.replaceChildren(renderMarkdown(received));
      if (controller) answer.body.append(el("span", { className: "cursor", "aria-hidden": "true" }));
    };
    const showSoon = () => { if (!frame) frame = requestAnimationFrame(show); };
    try {
      const response = await client.chatStream({ messages: history }, { signal: controller.signal });
      const type = response.headers.get("Content-Type") || "";
      if (type.includes("text/event-stream")) {
        status.show("busy", "The model is answering…");
        for await (const message of readEvents(response.body)) {
          const meaning = interpretChatEvent(message);
          if (!meaning) continue;
          if (meaning.type === "delta") {
            received += meaning.text;
            showSoon();
          } else if (meaning.type === "error") {
            throw new ApiError(meaning.status, meaning.message);
          } else if (meaning.type === "done") {
            info = meaning.info;
            break;
          }
        }
        if (!info) throw new ApiError(0, "The answer was cut off: the connection ended early.");
      } else {
        info = await response.json();
        received = (info.message && info.message.content) || "";
      }
    } catch (error) {
      outcome = error && error.name === "AbortError" ? "stopped" : error;
    } finally {
      controller = null;
      setStreaming(false);
      answer.item.classList.remove("streaming");
      cancelAnimationFrame(frame);
      show();
    }

    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (outcome === "done") {
      history.push({ role: "assistant", content: received });
      answer.item.append(el("span", { className: "message-meta" }, answerFacts(info, seconds)));
      status.show("ok", "Answered.");
      return;
    }
    if (received) {
      // Stopped, or failed mid-way: keep the part that came, marked as such.
      history.push({ role: "assistant", content: received });
      answer.item.classList.add("stopped");
      const stopped = outcome === "stopped";
      answer.item.append(el("span", { className: "message-meta" },
        stopped ? `Stopped after ${seconds} s` : `Interrupted after ${seconds} s`));
      if (stopped) status.show("info", "Stopped. The partial answer is kept.");
      else status.show("error", ...explain(outcome));
      return;
    }
    // Nothing came back: undo the exchange, and give the text back to edit or resend.
    history.pop();
    answer.item.remove();
    userBubble.item.remove();
    if (!history.length) log.append(emptyState);
    if (!input.value) input.value = text;
    if (outcome === "stopped") status.show("info", "Stopped before the model answered.");
    else status.show("error", ...explain(outcome));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || controller) return;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener("click", () => {
    if (controller) controller.abort();
  });
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && controller) controller.abort();
  });
  newButton.addEventListener("click", () => {
    if (controller) controller.abort();
    history.length = 0;
    replaceChildren(log, emptyState);
    status.clear();
    input.focus();
  });

  async function loadModel() {
    const done = busyButton(sendButton, "Loading…");
    try {
      const selected = await client.selectedModel();
      model = selected ? selected.model : null;
      if (model) {
        replaceChildren(modelName, el("strong", {}, model.display_name), " ",
          el("code", {}, model.id), " ",
          el("span", { className: "model-meta" }, formatTokens(model.context_window)));
        modelLink.textContent = "Change model";
      } else {
        replaceChildren(modelName, "No default model chosen yet");
        modelLink.textContent = "Choose a model in Settings";
      }
    } catch (error) {
      replaceChildren(modelName, "Unknown");
      status.show("error", `Could not load the default model: ${formatError(error)}`);
    } finally {
      done();
    }
  }

  loadModel();
  input.focus();

  return { newConversation: () => newButton.click() };
}
