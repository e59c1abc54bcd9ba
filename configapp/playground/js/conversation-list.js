// The sidebar of kept conversations: open one, start a new one, rename, delete, export.
// Runs in the page; touches only the element it builds. It holds no data: the Chat view
// calls render() with the list and tells it what to do through the callbacks.
//
// mountConversationList({ onOpen(id), onNew(), onRename(id, title), onDelete(id),
//   onExport(id, format) }) -> { node, render(conversations, currentId), focusCurrent() }

import { el, replaceChildren } from "./dom.js";
import { formatRelative } from "./format.js";

export function mountConversationList({ onOpen, onNew, onRename, onDelete, onExport }) {
  const newButton = el("button", { type: "button", className: "primary new-conversation" },
    "New conversation");
  const list = el("ul", { className: "conversation-list" });
  const heading = el("h2", { id: "conversations-heading" }, "Conversations");
  const node = el("nav", { className: "conversations", "aria-labelledby": heading.id },
    heading, newButton, list);
  newButton.addEventListener("click", () => onNew());
  let items = new Map();

  function renameForm(conversation, row) {
    const field = el("input", { type: "text", value: conversation.title, maxLength: 120,
                                "aria-label": "Conversation name" });
    const form = el("form", { className: "rename-form" }, field,
      el("button", { type: "submit" }, "Save"),
      el("button", { type: "button", className: "quiet", onclick: () => cancel() }, "Cancel"));
    const cancel = () => {
      form.replaceWith(row);
      row.querySelector(".conversation-open").focus();
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const title = field.value.trim();
      if (title) onRename(conversation.id, title);
      else cancel();
    });
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") cancel();
    });
    return { form, field };
  }

  function item(conversation, current) {
    const open = el("button", { type: "button", className: "conversation-open",
                                "aria-current": current ? "true" : null },
      el("span", { className: "conversation-title" }, conversation.title),
      el("span", { className: "conversation-when" }, formatRelative(conversation.updatedAt)));
    open.addEventListener("click", () => onOpen(conversation.id));
    const rename = el("button", { type: "button", className: "quiet" }, "Rename");
    const remove = el("button", { type: "button", className: "quiet danger" }, "Delete");
    const markdown = el("button", { type: "button", className: "quiet" }, "Markdown");
    const json = el("button", { type: "button", className: "quiet" }, "JSON");
    const tools = el("div", { className: "conversation-tools", role: "group",
                              "aria-label": `${conversation.title}: actions` },
      rename, remove, el("span", { className: "export-label" }, "Export:"), markdown, json);
    const row = el("div", { className: "conversation-row" }, open, tools);
    const li = el("li", { className: current ? "current" : "" }, row);
    rename.addEventListener("click", () => {
      const { form, field } = renameForm(conversation, row);
      row.replaceWith(form);
      field.select();
      field.focus();
    });
    // Two steps: the first click asks, the second deletes; leaving the button cancels.
    remove.addEventListener("click", () => {
      if (remove.dataset.armed) onDelete(conversation.id);
      else {
        remove.dataset.armed = "yes";
        remove.textContent = "Delete for good?";
      }
    });
    remove.addEventListener("blur", () => {
      delete remove.dataset.armed;
      remove.textContent = "Delete";
    });
    markdown.addEventListener("click", () => onExport(conversation.id, "markdown"));
    json.addEventListener("click", () => onExport(conversation.id, "json"));
    return li;
  }

  let currentId = null;
  return {
    node,
    render(conversations, current) {
      currentId = current;
      items = new Map(conversations.map((c) => [c.id, item(c, c.id === current)]));
      if (!conversations.length) {
        replaceChildren(list, el("li", { className: "hint" }, "Your conversations are kept "
          + "in this browser and listed here."));
      } else replaceChildren(list, ...items.values());
    },
    focusCurrent() {
      const row = items.get(currentId);
      (row ? row.querySelector(".conversation-open") : newButton).focus();
    },
    focusNew: () => newButton.focus(),
  };
}
