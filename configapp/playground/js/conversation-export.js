// A conversation as a file to keep: Markdown to read, JSON to process. Runs in the page;
// touches nothing but a temporary link it clicks to download.

const ROLE_NAMES = { user: "You", assistant: "Assistant", system: "System prompt" };

/** The conversation as Markdown: a title, its model, the system prompt, then each turn. */
export function toMarkdown(conversation) {
  const parts = [`# ${conversation.title}`, ""];
  parts.push(`Model: ${conversation.model || "the default model"}  `);
  parts.push(`Started: ${conversation.createdAt}`, "");
  if (conversation.system) parts.push(`## ${ROLE_NAMES.system}`, "", conversation.system, "");
  for (const message of conversation.messages) {
    parts.push(`## ${ROLE_NAMES[message.role] || message.role}`, "", message.content, "");
  }
  return parts.join("\n");
}

/** The conversation as JSON, as it is kept (pretty-printed). */
export function toJson(conversation) {
  return `${JSON.stringify({ format: "configapp-conversation", version: 1, ...conversation },
                           null, 2)}\n`;
}

/** "plan-for-tuesday" from a title: safe as a file name on every system. */
export function fileStem(title) {
  const stem = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return stem.slice(0, 60) || "conversation";
}

/** Offer `text` as a download named `name`. */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
