// The sidebar of kept conversations: search them (titles and text), open one, start a new
// one, and each one's actions (rename, delete, export) behind its Actions button. On a narrow
// screen it folds behind a "Conversations" button (the `toggle` node, which the Chat view
// places). Runs in the page; touches only the elements it builds, and listens for Ctrl+K
// (⌘K) on the document to search. It holds no data: the Chat view calls render() with the
// list and tells it what to do through the callbacks.
//
// mountConversationList({ onOpen(id), onNew(), onRename(id, title), onDelete(id),
//   onExport(id, format) })
//   -> { node, toggle, render(conversations, currentId), focusCurrent(), focusNew() }

import { el, replaceChildren, uniqueId } from "./dom.js";
import { formatRelative } from "./format.js";

const SNIPPET_CHARS = 70;

/** Where a conversation matches the query: "title", or a snippet of a message, or null. */
export function matchOf(conversation, query) {
  const wanted = query.trim().toLowerCase();
  if (!wanted) return { title: true };
  if (conversation.title.toLowerCase().includes(wanted)) return { title: true };
  for (const message of conversation.messages) {
    const at = message.content.toLowerCase().indexOf(wanted);
    if (at < 0) continue;
    const start = Math.max(0, at - 25);
    const text = message.content.slice(start, start + SNIPPET_CHARS).replace(/\s+/g, " ");
    return { snippet: `${start ? "…" : ""}${text}${start + SNIPPET_CHARS < message.content.length
      ? "…" : ""}` };
  }
  return null;
}

export function mountConversationList({ onOpen, onNew, onRename, onDelete, onExport }) {
  const newButton = el("button", { type: "button", className: "primary new-conversation" },
    "New conversation");
  const list = el("ul", { className: "conversation-list" });
  const heading = el("h2", { id: "conversations-heading" }, "Conversations");
  const searchId = uniqueId("search");
  const search = el("input", { type: "search", id: searchId, className: "conversation-search",
                               placeholder: "Titles and text", autocomplete: "off",
                               "aria-keyshortcuts": "Control+K Meta+K" });
  const found = el("p", { className: "search-count", role: "status", "aria-live": "polite" });
  const node = el("nav", { id: uniqueId("conversations"), className: "conversations",
                           "aria-labelledby": heading.id },
    heading, newButton,
    el("div", { className: "search-field" },
      el("label", { for: searchId }, "Search conversations ", el("kbd", {}, "Ctrl K")),
      search),
    found, list);
  const toggle = el("button", { type: "button", className: "conversations-toggle",
                                "aria-expanded": "false", "aria-controls": node.id },
    "Conversations");
  let items = new Map();
  let all = [];
  let currentId = null;
  // What the user has open, kept across render(): a reply that ends, or a save, redraws the
  // list, and must not close the Actions under the pointer nor drop a name being typed.
  let openToolsId = null;
  let renaming = null; // { id, value }
  newButton.addEventListener("click", () => {
    fold();
    openToolsId = null;
    renaming = null;
    onNew();
  });

  function unfold() {
    node.classList.add("open");
    toggle.setAttribute("aria-expanded", "true");
  }
  function fold() {
    node.classList.remove("open");
    toggle.setAttribute("aria-expanded", "false");
  }
  toggle.addEventListener("click", () => {
    if (node.classList.contains("open")) fold();
    else {
      unfold();
      search.focus();
    }
  });
  node.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !node.classList.contains("open")) return;
    if (event.target === search && search.value) return; // the first Escape clears the search
    event.stopPropagation(); // Escape elsewhere on the page stops an answer being written
    fold();
    toggle.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key.toLowerCase() === "k" && (event.ctrlKey || event.metaKey) && !event.altKey) {
      event.preventDefault();
      unfold();
      search.focus();
      search.select();
    }
  });
  search.addEventListener("input", () => show());
  search.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && search.value) {
      event.stopPropagation();
      search.value = "";
      show();
    } else if (event.key === "Enter") {
      const first = list.querySelector(".conversation-open");
      if (first) first.click();
    }
  });

  function renameForm(conversation, row) {
    const field = el("input", { type: "text", value: renaming.value, maxLength: 120,
                                "aria-label": "Conversation name",
                                dataset: { focusKey: `${conversation.id} name` } });
    const form = el("form", { className: "rename-form" }, field,
      el("button", { type: "submit", dataset: { focusKey: `${conversation.id} save` } }, "Save"),
      el("button", { type: "button", className: "quiet", onclick: () => cancel(),
                     dataset: { focusKey: `${conversation.id} cancel` } }, "Cancel"));
    const cancel = () => {
      renaming = null;
      form.replaceWith(row);
      row.querySelector(".conversation-open").focus();
    };
    field.addEventListener("input", () => {
      renaming.value = field.value;
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const title = field.value.trim();
      if (!title) return cancel();
      renaming = null;
      openToolsId = null;
      onRename(conversation.id, title);
    });
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") cancel();
    });
    return { form, field };
  }

  function item(conversation, current, match) {
    const titleId = uniqueId("conversation-title");
    const key = (part) => ({ focusKey: `${conversation.id} ${part}` });
    const open = el("button", { type: "button", className: "conversation-open",
                                "aria-current": current ? "true" : null, dataset: key("open") },
      el("span", { className: "conversation-title", id: titleId }, conversation.title),
      match.snippet ? el("span", { className: "conversation-snippet" }, match.snippet) : null,
      el("span", { className: "conversation-when" }, formatRelative(conversation.updatedAt)));
    open.addEventListener("click", () => {
      fold();
      openToolsId = null; // another conversation: what was open on this list closes
      renaming = null;
      onOpen(conversation.id);
    });
    const rename = el("button", { type: "button", className: "quiet", dataset: key("rename") },
      "Rename");
    const remove = el("button", { type: "button", className: "quiet danger",
                                  dataset: key("delete") }, "Delete");
    const markdown = el("button", { type: "button", className: "quiet",
                                    dataset: key("markdown") }, "Markdown");
    const json = el("button", { type: "button", className: "quiet", dataset: key("json") },
      "JSON");
    const tools = el("div", { className: "conversation-tools", role: "group", id: uniqueId("tools"),
                              "aria-label": `${conversation.title}: actions` },
      rename, remove, el("span", { className: "export-label" }, "Export:"), markdown, json);
    const more = el("button", { type: "button", className: "quiet conversation-more",
                                "aria-controls": tools.id, "aria-label": "Actions",
                                "aria-describedby": titleId, title: "Rename, delete or export",
                                dataset: key("more") }, "⋯");
    const showTools = (shown) => {
      tools.hidden = !shown;
      more.setAttribute("aria-expanded", String(shown));
      if (shown) openToolsId = conversation.id;
      else if (openToolsId === conversation.id) openToolsId = null;
    };
    showTools(openToolsId === conversation.id);
    more.addEventListener("click", () => {
      showTools(tools.hidden);
      if (!tools.hidden) rename.focus();
    });
    tools.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.stopPropagation();
      showTools(false);
      more.focus();
    });
    const row = el("div", { className: "conversation-row" }, el("div", { className: "row-main" },
      open, more), tools);
    const li = el("li", { className: current ? "current" : "" }, row);
    rename.addEventListener("click", () => {
      renaming = { id: conversation.id, value: conversation.title };
      const { form, field } = renameForm(conversation, row);
      row.replaceWith(form);
      field.select();
      field.focus();
    });
    if (renaming && renaming.id === conversation.id) {
      row.replaceWith(renameForm(conversation, row).form);
    }
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

  /** The focused element of the list, to focus its counterpart once the list is redrawn. */
  function focusWithin() {
    const active = document.activeElement;
    if (!active || !list.contains(active) || !active.dataset.focusKey) return null;
    const { selectionStart, selectionEnd } = active;
    return { key: active.dataset.focusKey, selectionStart, selectionEnd };
  }

  function refocus(focused) {
    if (!focused) return;
    const again = [...list.querySelectorAll("[data-focus-key]")]
      .find((candidate) => candidate.dataset.focusKey === focused.key);
    if (!again) return;
    again.focus();
    if (typeof focused.selectionStart === "number" && "setSelectionRange" in again) {
      again.setSelectionRange(focused.selectionStart, focused.selectionEnd);
    }
  }

  function show() {
    const focused = focusWithin();
    const query = search.value;
    const shown = all.map((c) => [c, matchOf(c, query)]).filter(([, match]) => match);
    items = new Map(shown.map(([c, match]) => [c.id, item(c, c.id === currentId, match)]));
    if (!all.length) {
      replaceChildren(list, el("li", { className: "hint" }, "Your conversations are kept "
        + "in this browser and listed here."));
    } else if (!shown.length) {
      replaceChildren(list, el("li", { className: "hint" }, "No conversation matches."));
    } else replaceChildren(list, ...items.values());
    refocus(focused);
    found.textContent = query.trim()
      ? `${shown.length} ${shown.length === 1 ? "conversation matches" : "conversations match"}.`
      : "";
  }

  return {
    node,
    toggle,
    render(conversations, current) {
      currentId = current;
      all = conversations;
      show();
    },
    focusCurrent() {
      const row = items.get(currentId);
      (row ? row.querySelector(".conversation-open") : newButton).focus();
    },
    focusNew: () => newButton.focus(),
  };
}
