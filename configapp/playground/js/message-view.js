// One message of the conversation as the reader sees it: who said it, the text (answers as
// rendered markdown), what it cost, and its actions (Edit for what you said, Regenerate for
// the last answer). Runs in the page; builds nodes only.
//
// messageView(message, { index, last, onEdit(index, text), onRegenerate() })
//   -> { node, show(text, streaming), finish(message) }

import { el, replaceChildren, uniqueId } from "./dom.js";
import { formatCost, formatDateTime, formatInteger } from "./format.js";
import { renderMarkdown } from "./markdown.js";

/** "12 in + 7 out tokens · $0.000006 · 1.3 s", as far as the reply says. */
export function replyFacts(message) {
  if (message.stopped) {
    const how = message.leftAt
      ? `${message.stopped}: the page was left at ${formatDateTime(message.leftAt)}`
      : `${message.stopped} after ${message.seconds} s`;
    // A stopped reply's tokens are counted by the server (as the ledger counts them).
    return message.counted ? `${how} · ${tokenFacts(message)} (counted) · `
      + `${formatCost(message.cost)}` : how;
  }
  const facts = [tokenFacts(message), formatCost(message.cost)];
  if (typeof message.seconds === "string" || typeof message.seconds === "number") {
    facts.push(`${message.seconds} s`);
  }
  return facts.join(" · ");
}

function tokenFacts(message) {
  const usage = message.usage || {};
  return typeof usage.completion_tokens === "number"
    ? `${formatInteger(usage.prompt_tokens || 0)} in + ${formatInteger(usage.completion_tokens)} `
      + "out tokens"
    : "tokens unknown";
}

/** "answered by X (Y was unavailable: 503)" when the reply came from a fallback; "" else. */
export function fallbackNote(message) {
  const from = message.fallbackFrom || [];
  if (!from.length || !message.model) return "";
  const why = from.map((f) => `${f.model} was ${f.reason === "budget spent"
    ? "skipped: its budget is spent" : `unavailable: ${f.reason}`}`).join("; ");
  return `answered by ${message.model} (${why})`;
}

function editForm(text, onSend, onCancel) {
  const id = uniqueId("edit");
  const field = el("textarea", { id, rows: 3, value: text });
  const form = el("form", { className: "edit-form" },
    el("label", { for: id, className: "visually-hidden" }, "Edit your message"), field,
    el("div", { className: "form-actions" },
      el("button", { type: "submit", className: "primary" }, "Send edited message"),
      el("button", { type: "button", onclick: onCancel }, "Cancel")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (field.value.trim()) onSend(field.value.trim());
  });
  field.addEventListener("keydown", (event) => {
    if (event.key === "Escape") onCancel();
  });
  return { form, field };
}

export function messageView(message, { index, last = false, onEdit, onRegenerate } = {}) {
  const assistant = message.role === "assistant";
  const body = el("div", { className: assistant ? "bubble-text prose" : "bubble-text" });
  const meta = el("p", { className: "message-meta" });
  const fallback = el("p", { className: "message-fallback" });
  fallback.hidden = true;
  const actions = el("div", { className: "message-actions" });
  const node = el("article", { className: `message message-${message.role}`,
                               "aria-label": assistant ? "Assistant" : "You" },
    el("h2", { className: "message-role" }, assistant ? "Assistant" : "You"), body, fallback,
    meta, actions);

  function show(text, streaming = false) {
    if (!assistant) {
      body.textContent = text;
      return;
    }
    replaceChildren(body, renderMarkdown(text));
    if (streaming) body.append(el("span", { className: "cursor", "aria-hidden": "true" }));
  }

  function finish(done) {
    node.classList.toggle("stopped", Boolean(done.stopped));
    meta.textContent = assistant ? replyFacts(done) : "";
    meta.hidden = !assistant;
    fallback.textContent = assistant ? fallbackNote(done) : "";
    fallback.hidden = !fallback.textContent;
    actions.replaceChildren();
    if (!assistant && onEdit) {
      const edit = el("button", { type: "button", className: "quiet" }, "Edit");
      edit.addEventListener("click", () => {
        const { form, field } = editForm(done.content, (text) => onEdit(index, text), () => {
          form.replaceWith(body);
          actions.hidden = false;
          edit.focus();
        });
        body.replaceWith(form);
        actions.hidden = true;
        field.focus();
      });
      actions.append(edit);
    }
    if (assistant && last && onRegenerate) {
      actions.append(el("button", { type: "button", className: "quiet", onclick: onRegenerate },
        "Regenerate"));
    }
  }

  show(message.content);
  if (message.content !== undefined) finish(message);
  return { node, show, finish };
}
