// The Chat view: conversations kept in this browser (a sidebar to open, rename, delete and
// export them), each with its model and system prompt; answers streamed in and rendered
// as markdown, each with its tokens and cost; Stop, Regenerate and Edit-and-resend; and a
// first-run checklist while no key or model is ready. Runs in the page; touches only the
// element it is given (and the conversation store). Given an element, an API client and
// the URL of the Settings page.
//
// mountChat(root, { client, settingsUrl }) -> { newConversation() }

import { ApiError } from "./api-client.js";
import { el, replaceChildren, statusLine, uniqueId } from "./dom.js";
import { fileStem, download, toJson, toMarkdown } from "./conversation-export.js";
import { mountConversationList } from "./conversation-list.js";
import { newConversation, openConversationStore, titleFrom } from "./conversation-store.js";
import { checklist, missingStep } from "./first-run.js";
import { followScroll } from "./follow-scroll.js";
import { formatError, formatTotalCost } from "./format.js";
import { messageView } from "./message-view.js";
import { providerLabel } from "./providers.js";
import { readEvents } from "./sse.js";

/**
 * What one server-sent event of POST /api/chat means. The server sends `delta` events
 * ({content}), then one `done` ({model, finish_reason, usage, cost, latency_ms}), or an
 * `error` ({code, status, message, errors}) when the answer ends otherwise (`errors.provider`
 * names how: `provider_stream_cut` when the provider's stream stopped before it said it
 * finished).
 * -> { type: "delta", text } | { type: "done", info } | { type: "error", status, message,
 *      errors }
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
             message: payload.message || "The provider failed.",
             errors: payload.errors && typeof payload.errors === "object" ? payload.errors : null };
  }
  return null;
}

/** Whether an answer failed because the provider's stream ended before it said it finished. */
function cutShort(error) {
  const kinds = error instanceof ApiError && error.errors ? error.errors.provider : null;
  return Array.isArray(kinds) && kinds.includes("provider_stream_cut");
}

/** The messages as the server takes them: the system prompt first, if any. */
function requestMessages(conversation) {
  const turns = conversation.messages.map(({ role, content }) => ({ role, content }));
  const system = conversation.system.trim();
  return system ? [{ role: "system", content: system }, ...turns] : turns;
}

export function mountChat(root, { client, settingsUrl = "/settings" } = {}) {
  const modelsUrl = `${settingsUrl}#settings-models`;
  const keysUrl = `${settingsUrl}#settings-keys`;
  let store = null;
  let conversation = newConversation();
  let controller = null;
  let setup = { hasKey: true, hasModel: true, defaultModel: null, keyed: [] };

  // ---- the parts of the page ---------------------------------------------------------
  const sidebar = mountConversationList({
    onOpen: (id) => openConversation(id),
    onNew: () => startNew(),
    onRename: (id, title) => rename(id, title),
    onDelete: (id) => remove(id),
    onExport: (id, format) => exportConversation(id, format),
  });

  const title = el("h1", { className: "conversation-heading" }, "New conversation");
  const total = el("p", { className: "conversation-total" });
  const pickerId = uniqueId("model");
  const picker = el("select", { id: pickerId, className: "model-picker" },
    el("option", { value: "" }, "Loading models…"));
  const modelBar = el("div", { className: "model-bar" },
    el("label", { for: pickerId, className: "model-label" }, "Model"), picker,
    el("a", { href: modelsUrl, className: "change-model" }, "Change model"));

  const systemId = uniqueId("system");
  const system = el("textarea", { id: systemId, rows: 3,
    placeholder: "For example: Answer briefly, in plain English." });
  const systemBox = el("details", { className: "system-prompt" },
    el("summary", {}, "System prompt"),
    el("label", { for: systemId, className: "hint" },
      "Instructions the model reads before the conversation (kept with it)."), system);

  const log = el("section", { className: "messages", role: "log", "aria-label": "Conversation",
                              tabIndex: 0 });
  const jump = el("button", { type: "button", className: "jump-latest" }, "Jump to latest ↓");
  const follow = followScroll(log, jump);

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

  const chat = el("div", { className: "chat-ui" },
    el("header", { className: "conversation-head" }, title, total), modelBar, systemBox, log,
    el("div", { className: "jump-row" }, jump), status.node, form);
  replaceChildren(root, el("div", { className: "chat-layout" }, sidebar.node, chat));

  // ---- showing the conversation ------------------------------------------------------
  function showTotal() {
    const replies = conversation.messages.filter((m) => m.role === "assistant" && !m.stopped);
    total.textContent = replies.length
      ? `${replies.length} ${replies.length === 1 ? "reply" : "replies"} · total `
        + formatTotalCost(replies.map((m) => (typeof m.cost === "number" ? m.cost : null)))
      : "";
  }

  function showLog() {
    const views = conversation.messages.map((message, index) => messageView(message, {
      index,
      last: index === conversation.messages.length - 1,
      onEdit: (at, text) => resend(at, text),
      onRegenerate: () => regenerate(),
    }).node);
    if (views.length) replaceChildren(log, ...views);
    else {
      replaceChildren(log, checklist({ ...setup, keysUrl, modelsUrl })
        || el("div", { className: "empty-chat" }, el("strong", {}, "Start a conversation."),
          " Answers appear as they are written, with what each one cost."));
    }
    title.textContent = conversation.title;
    document.title = `${conversation.title} · Chat · configapp Playground`;
    showTotal();
  }

  function showPicker() {
    const options = [el("option", { value: "" }, setup.defaultModel
      ? `Default: ${setup.defaultModel.display_name}` : "No default model chosen yet")];
    const ids = new Set();
    for (const model of setup.keyed) {
      ids.add(model.id);
      options.push(el("option", { value: model.id }, `${model.display_name} (${model.id})`));
    }
    if (conversation.model && !ids.has(conversation.model)) {
      options.push(el("option", { value: conversation.model }, `${conversation.model} (no key)`));
    }
    replaceChildren(picker, ...options);
    picker.value = conversation.model || "";
  }

  function showConversation() {
    system.value = conversation.system;
    systemBox.open = Boolean(conversation.system);
    showPicker();
    showLog();
    follow.reset();
  }

  async function refreshList() {
    if (!store) return;
    sidebar.render(await store.list(), conversation.id);
  }

  async function save() {
    conversation.updatedAt = new Date().toISOString();
    if (store && (conversation.messages.length || conversation.system)) {
      await store.put(conversation);
    } else if (store) {
      await store.remove(conversation.id); // emptied again (a question that got no answer)
    }
    await refreshList();
  }

  // ---- the sidebar's actions ---------------------------------------------------------
  function busy() {
    if (!controller) return false;
    status.show("info", "Stop the answer being written first.");
    return true;
  }

  async function openConversation(id) {
    if (busy()) return;
    const found = store && await store.get(id);
    if (!found) return;
    conversation = found;
    status.clear();
    showConversation();
    await refreshList();
    input.focus();
  }

  async function startNew() {
    if (busy()) return;
    conversation = newConversation();
    status.clear();
    showConversation();
    await refreshList();
    input.focus();
  }

  async function rename(id, newTitle) {
    const target = id === conversation.id ? conversation : await store.get(id);
    target.title = newTitle;
    if (target === conversation) await save();
    else await store.put(target);
    if (target === conversation) showLog();
    await refreshList();
    status.show("ok", `Renamed to “${newTitle}”.`);
    sidebar.focusCurrent();
  }

  async function remove(id) {
    if (id === conversation.id && busy()) return;
    const gone = id === conversation.id ? conversation : await store.get(id);
    await store.remove(id);
    if (id === conversation.id) {
      conversation = newConversation();
      showConversation();
    }
    await refreshList();
    status.show("ok", `Deleted “${gone ? gone.title : "the conversation"}”.`);
    sidebar.focusNew();
  }

  async function exportConversation(id, format) {
    const target = id === conversation.id ? conversation : await store.get(id);
    if (!target) return;
    if (format === "json") {
      download(`${fileStem(target.title)}.json`, toJson(target), "application/json");
    } else {
      download(`${fileStem(target.title)}.md`, toMarkdown(target), "text/markdown");
    }
    status.show("ok", `Exported “${target.title}” as ${format === "json" ? "JSON" : "Markdown"}.`);
  }

  // ---- asking the model --------------------------------------------------------------
  function setStreaming(on) {
    stopButton.hidden = !on;
    sendButton.hidden = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
  }

  function explain(error) {
    if (error instanceof ApiError && error.status === 409) {
      const provider = providerOf(conversation.model);
      return [`No API key for ${provider}. `, el("a", { href: keysUrl }, "Add one in Settings"),
        "."];
    }
    if (error instanceof ApiError && error.status === 502) {
      return [`The provider answered with an error: ${error.message}`];
    }
    if (error instanceof ApiError && error.status === 504) {
      return [`The provider did not answer in time: ${error.message}`];
    }
    if (error instanceof ApiError && error.status === 404) {
      const step = missingStep({ ...setup, hasModel: false, keysUrl, modelsUrl });
      return conversation.model ? [`${error.message} `, el("a", { href: modelsUrl },
        "Choose another model"), "."] : step;
    }
    return [formatError(error)];
  }

  function providerOf(modelId) {
    const model = modelId ? setup.keyed.find((m) => m.id === modelId) : setup.defaultModel;
    if (model) return providerLabel(model.provider);
    return modelId ? providerLabel(modelId.split("/")[0]) : "this provider";
  }

  /** Ask for the answer to the conversation as it stands (its last message is yours). */
  async function answer() {
    const asked = conversation;
    const view = messageView({ role: "assistant" }, {});
    view.node.classList.add("streaming");
    log.append(view.node);
    view.show("", true);
    follow.follow();
    status.show("busy", "Waiting for the model…");
    setStreaming(true);
    controller = new AbortController();
    const started = performance.now();
    let received = "";
    let info = null;
    let outcome = "done";
    let frame = 0;
    const render = () => {
      frame = 0;
      view.show(received, Boolean(controller));
      follow.follow();
    };
    try {
      const body = { messages: requestMessages(asked) };
      if (asked.model) body.model = asked.model;
      const response = await client.chatStream(body, { signal: controller.signal });
      status.show("busy", "The model is answering…");
      for await (const message of readEvents(response.body)) {
        const meaning = interpretChatEvent(message);
        if (!meaning) continue;
        if (meaning.type === "delta") {
          received += meaning.text;
          if (!frame) frame = requestAnimationFrame(render);
        } else if (meaning.type === "error") {
          throw new ApiError(meaning.status, meaning.message, { errors: meaning.errors });
        } else if (meaning.type === "done") {
          info = meaning.info;
          break;
        }
      }
      if (!info) throw new ApiError(0, "The answer was cut off: the connection ended early.");
    } catch (error) {
      outcome = error && error.name === "AbortError" ? "stopped" : error;
    } finally {
      controller = null;
      cancelAnimationFrame(frame);
      setStreaming(false);
      view.node.classList.remove("streaming");
    }

    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (outcome === "done" || received) {
      const reply = { role: "assistant", content: received, seconds };
      if (outcome === "done") {
        Object.assign(reply, { usage: info.usage || null, cost: info.cost ?? null,
                               model: info.model });
        status.show("ok", "Answered.");
      } else if (outcome === "stopped") {
        reply.stopped = "Stopped";
        status.show("info", "Stopped. The partial answer is kept.");
      } else if (cutShort(outcome)) {
        reply.stopped = "Cut short";
        status.show("error", "Cut short: the provider's stream ended before it said the answer "
          + "was finished. The partial answer is kept; Regenerate to ask again.");
      } else {
        reply.stopped = "Interrupted";
        status.show("error", ...explain(outcome));
      }
      asked.messages.push(reply);
      await save(); // kept before it shows as done: a reload right after loses nothing
      if (asked === conversation) showLog();
      follow.follow();
      return;
    }
    // Nothing came back: undo the exchange, and give the text back to edit or resend.
    const mine = asked.messages.pop();
    if (asked === conversation) showLog();
    await save();
    if (!input.value) input.value = mine.content;
    if (outcome === "stopped") status.show("info", "Stopped before the model answered.");
    else status.show("error", ...explain(outcome));
  }

  async function ask(text) {
    if (!conversation.messages.length && conversation.title === "New conversation") {
      conversation.title = titleFrom(text);
    }
    conversation.messages.push({ role: "user", content: text });
    showLog();
    follow.reset();
    save(); // listed (and kept) from the question on; the answer starts meanwhile
    await answer();
  }

  async function regenerate() {
    if (busy()) return;
    const last = conversation.messages.at(-1);
    if (last && last.role === "assistant") conversation.messages.pop();
    showLog();
    await answer();
    input.focus();
  }

  async function resend(index, text) {
    if (busy()) return;
    conversation.messages = conversation.messages.slice(0, index);
    await ask(text);
    input.focus();
  }

  // ---- the composer and the settings of the conversation ----------------------------
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await ready; // what is set up decides whether a message can go
    const text = input.value.trim();
    if (!text || controller) return;
    const missing = missingStep({ ...setup, hasModel: setup.hasModel || Boolean(conversation.model),
                                  keysUrl, modelsUrl });
    if (missing) {
      status.show("error", ...missing);
      return;
    }
    input.value = "";
    ask(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener("click", () => {
    if (controller) controller.abort();
    input.focus();
  });
  root.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && controller) {
      controller.abort();
      input.focus();
    }
  });
  jump.addEventListener("click", () => input.focus());
  picker.addEventListener("change", async () => {
    conversation.model = picker.value || null;
    await save();
    status.show("ok", picker.value
      ? `This conversation now uses ${picker.selectedOptions[0].textContent}.`
      : "This conversation now uses the default model.");
  });
  let systemTimer = 0;
  system.addEventListener("input", () => {
    clearTimeout(systemTimer);
    systemTimer = setTimeout(() => {
      conversation.system = system.value;
      save();
    }, 300);
  });

  // ---- start ---------------------------------------------------------------------------
  async function loadSetup() {
    try {
      const [providers, selected] = await Promise.all([client.providers(),
                                                       client.selectedModel()]);
      const keyed = providers.some((p) => p.key_source);
      const models = keyed ? await client.models({ configured: true }) : { models: [] };
      setup = { hasKey: keyed, hasModel: Boolean(selected), defaultModel: selected
        ? selected.model : null, keyed: models.models || [] };
    } catch (error) {
      status.show("error", `Could not load the models: ${formatError(error)}`);
    }
  }

  async function start() {
    store = await openConversationStore();
    await loadSetup();
    const kept = await store.list();
    if (kept.length) conversation = kept[0];
    showConversation();
    sidebar.render(kept, conversation.id);
    if (!store.persistent) {
      status.show("info", "This browser does not keep data for this page: conversations last "
        + "until it is closed.");
    }
  }

  const ready = start();
  input.focus();

  return { newConversation: () => startNew() };
}
