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
import { holdAnswer, newConversation, noteLeftAnswer, openConversationStore, settleLeftAnswers,
         titleFrom } from "./conversation-store.js";
import { checklist, missingStep } from "./first-run.js";
import { followScroll } from "./follow-scroll.js";
import { formatError, formatTotalCost } from "./format.js";
import { messageView } from "./message-view.js";
import { providerLabel } from "./providers.js";
import { readEvents } from "./sse.js";

/**
 * What one server-sent event of POST /api/chat means. The server sends `delta` events
 * ({content}), then one `done` ({model, finish_reason, usage, cost, latency_ms,
 * fallback_from}), or an
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

// An answer being written is saved at most this long after a piece of it arrives.
const SAVE_EVERY_MS = 500;
const PURPOSE = "purpose:"; // a conversation's model that names a purpose
const TITLE_PROMPT = "Name this conversation in at most six words. Answer with the name only.";
const TITLE_SOURCE_CHARS = 2000;

/** The request's messages, and its model: a model id, an alias, or a purpose. */
function chatTarget(conversation) {
  const body = { messages: requestMessages(conversation) };
  const { model } = conversation;
  if (model && model.startsWith(PURPOSE)) body.purpose = model.slice(PURPOSE.length);
  else if (model) body.model = model;
  return body;
}

export function mountChat(root, { client, settingsUrl = "/settings" } = {}) {
  const modelsUrl = `${settingsUrl}#settings-models`;
  const keysUrl = `${settingsUrl}#settings-keys`;
  let store = null;
  let conversation = newConversation();
  let controller = null;
  let writing = null; // the answer being written: { conversationId, text() }
  let leaving = false; // the page is going away
  let setup = { hasKey: true, hasModel: true, defaultModel: null, keyed: [], purposes: [],
                aliases: [], hidden: new Set(), titlePurpose: false };

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

  const chat = el("div", { className: "chat-ui", id: "chat-conversation", tabIndex: -1 },
    el("header", { className: "conversation-head" }, sidebar.toggle, title, total), modelBar,
    systemBox, log,
    el("div", { className: "jump-row" }, jump), status.node, form);
  replaceChildren(root, el("div", { className: "chat-layout" }, sidebar.node, chat));

  // ---- showing the conversation ------------------------------------------------------
  function showTotal() {
    // A stopped reply counts once the server counted it (the ledger has it too).
    const replies = conversation.messages.filter((m) => m.role === "assistant"
      && (!m.stopped || m.counted));
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

  /** The picker offers what chat can use: the default, the purposes and aliases that have
   *  a model, and the models a key reaches; one whose model is hidden says so. */
  function showPicker() {
    const marked = (label, hidden) => (hidden ? `${label} (hidden: chat refuses it)` : label);
    const known = new Set([""]);
    const option = (value, label, hidden = false) => {
      known.add(value);
      return el("option", { value }, marked(label, hidden));
    };
    const options = [option("", setup.defaultModel
      ? `Default: ${setup.defaultModel.display_name}` : "No default model chosen yet",
    setup.hidden.has("purpose:chat"))];
    const purposes = setup.purposes.map((p) => option(`${PURPOSE}${p.name}`,
      `${p.name}: ${p.model.display_name}`, setup.hidden.has(`purpose:${p.name}`)));
    const aliases = setup.aliases.map((a) => option(a.name, `${a.name} → ${a.model.display_name}`,
      setup.hidden.has(`alias:${a.name}`)));
    const models = setup.keyed.map((m) => option(m.id, `${m.display_name} (${m.id})`));
    const groups = [["Purposes", purposes], ["Aliases", aliases], ["Models a key reaches", models]]
      .filter(([, items]) => items.length)
      .map(([label, items]) => el("optgroup", { label }, ...items));
    if (conversation.model && !known.has(conversation.model)) {
      groups.push(el("option", { value: conversation.model }, `${conversation.model} (not `
        + "offered now)"));
    }
    replaceChildren(picker, ...options, ...groups);
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
      return [error.message]; // the API's sentence says who failed and how
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

  /** Ask for the answer to the conversation as it stands (its last message is yours). What
   *  arrives is saved as it streams (at most SAVE_EVERY_MS behind), so a reload keeps it. */
  async function answer() {
    keepSystemPrompt();
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
    const release = holdAnswer(asked.id);
    let received = "";
    let info = null;
    let outcome = "done";
    let frame = 0;
    let saveTimer = 0;
    let lastSaved = 0;
    let receipt = null; // the stream's ledger row (X-Chat-Receipt)
    writing = { conversationId: asked.id, text: () => received, receipt: () => receipt };
    const render = () => {
      frame = 0;
      view.show(received, Boolean(controller));
      follow.follow();
    };
    const keepSoFar = () => {
      saveTimer = 0;
      lastSaved = performance.now();
      const now = new Date().toISOString();
      const reply = { role: "assistant", content: received, streaming: now };
      if (receipt) reply.receipt = receipt;
      if (store) {
        store.put({ ...asked, messages: [...asked.messages, reply], updatedAt: now })
          .catch(() => {});
      }
    };
    const body = chatTarget(asked);
    try {
      const response = await client.chatStream(body, { signal: controller.signal });
      receipt = response.headers.get("X-Chat-Receipt");
      status.show("busy", "The model is answering…");
      for await (const message of readEvents(response.body)) {
        const meaning = interpretChatEvent(message);
        if (!meaning) continue;
        if (meaning.type === "delta") {
          received += meaning.text;
          if (!frame) frame = requestAnimationFrame(render);
          if (!saveTimer) {
            saveTimer = setTimeout(keepSoFar,
              Math.max(0, SAVE_EVERY_MS - (performance.now() - lastSaved)));
          }
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
      clearTimeout(saveTimer);
      if (!leaving) {
        controller = null;
        writing = null;
        cancelAnimationFrame(frame);
        setStreaming(false);
        view.node.classList.remove("streaming");
      }
    }
    if (leaving) return; // the page is going: what arrived is noted, the next page settles it

    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (outcome === "done" || received) {
      const reply = { role: "assistant", content: received, seconds };
      if (outcome === "done") {
        Object.assign(reply, { usage: info.usage || null, cost: info.cost ?? null,
                               model: info.model, fallbackFrom: info.fallback_from || [] });
        status.show("ok", "Answered.");
      } else if (outcome === "stopped") {
        reply.stopped = "Stopped";
        if (receipt) reply.receipt = receipt;
        status.show("info", "Stopped. The partial answer is kept.");
      } else if (cutShort(outcome)) {
        reply.stopped = "Cut short";
        if (receipt) reply.receipt = receipt;
        status.show("error", "Cut short: the provider's stream ended before it said the answer "
          + "was finished. The partial answer is kept; Regenerate to ask again.");
      } else {
        reply.stopped = "Interrupted";
        if (receipt) reply.receipt = receipt;
        status.show("error", ...explain(outcome));
      }
      asked.messages.push(reply);
      await save(); // kept before it shows as done: a reload right after loses nothing
      release();
      if (asked === conversation) showLog();
      follow.follow();
      if (reply.stopped) await countReply(asked, reply, body);
      else if (asked.messages.length === 2) await titleByPurpose(asked);
      return;
    }
    release();
    // Nothing came back: undo the exchange, and give the text back to edit or resend.
    const mine = asked.messages.pop();
    if (asked === conversation) showLog();
    await save();
    if (!input.value) input.value = mine.content;
    if (outcome === "stopped") status.show("info", "Stopped before the model answered.");
    else status.show("error", ...explain(outcome));
  }

  /** A reply that ended without the provider's usage gets the tokens and cost of its
   *  ledger row, read by its receipt: the row counts every piece the server relayed, one
   *  still on its way when the page stopped reading included, so the conversation and the
   *  ledger agree. Without a receipt (or its row), the server counts the text kept. */
  async function countReply(target, reply, body) {
    try {
      const counted = (reply.receipt && await ledgerRow(reply.receipt))
        || await client.countReply({ ...body, reply: reply.content });
      if (!counted.usage) return; // the ledger could not count it either
      Object.assign(reply, { usage: counted.usage, cost: counted.cost, counted: true });
    } catch {
      return; // best effort: the reply stays, as "tokens unknown"
    }
    await keep(target);
  }

  /** The ledger row of a stream (the server waits a few seconds for it to be written);
   *  null if it is not there. */
  async function ledgerRow(receipt) {
    try {
      return await client.receipt(receipt);
    } catch {
      return null;
    }
  }

  /** Save a conversation that may not be the one shown, and show it if it is. */
  async function keep(target) {
    if (target === conversation) {
      await save();
      showLog();
    } else if (store) {
      await store.put(target);
    }
  }

  /** The `title` purpose names a new conversation after its first answer, when it is set;
   *  otherwise (or if that fails) the first line stays its title, silently. */
  async function titleByPurpose(target) {
    if (!setup.titlePurpose || target.title !== titleFrom(target.messages[0].content)) return;
    const first = target.messages[0].content.slice(0, TITLE_SOURCE_CHARS);
    let made;
    try {
      const reply = await client.chat({ purpose: "title", messages: [
        { role: "system", content: TITLE_PROMPT }, { role: "user", content: first }] });
      made = titleFrom(reply.message.content.replace(/^["'“”\s]+|["'“”.\s]+$/g, ""));
    } catch {
      return;
    }
    if (!made || made === "New conversation") return;
    target.title = made;
    await keep(target);
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
  /** The system prompt as typed, into the conversation: after a pause in typing, and at
   * once before a send (or the request would go without an edit made just before). */
  function keepSystemPrompt() {
    if (!systemTimer) return;
    clearTimeout(systemTimer);
    systemTimer = 0;
    conversation.system = system.value;
    save();
  }
  system.addEventListener("input", () => {
    clearTimeout(systemTimer);
    systemTimer = setTimeout(keepSystemPrompt, 300);
  });

  // ---- start ---------------------------------------------------------------------------
  async function loadSetup() {
    try {
      const [providers, selected, purposes, aliases] = await Promise.all([client.providers(),
        client.selectedModel(), client.purposes(), client.aliases()]);
      const keyed = providers.some((p) => p.key_source);
      const set = purposes.purposes.filter((p) => p.model);
      setup = {
        hasKey: keyed, hasModel: Boolean(selected),
        defaultModel: selected ? selected.model : null,
        keyed: [],
        purposes: set.filter((p) => p.name !== "chat"),
        aliases: aliases.filter((a) => a.model),
        hidden: new Set(purposes.warnings.filter((w) => w.kind === "hidden")
          .map((w) => `${w.source}:${w.name}`)),
        titlePurpose: set.some((p) => p.name === "title"),
      };
    } catch (error) {
      status.show("error", `Could not load the models: ${formatError(error)}`);
    }
  }

  /** The models the keys reach, from the live catalogue (which may ask the providers: the
   *  page does not wait for it). A provider whose listing could not be read (reachable
   *  null) has its catalogue entries offered. */
  async function loadReachable() {
    if (!setup.hasKey) return;
    try {
      const models = await client.models({ configured: true, live: true });
      setup.keyed = (models.models || []).filter((m) => m.reachable !== false);
      showPicker();
    } catch (error) {
      status.show("error", `Could not load the models: ${formatError(error)}`);
    }
  }

  async function start() {
    store = await openConversationStore();
    const settled = await settleLeftAnswers(store);
    await loadSetup();
    const kept = await store.list();
    if (kept.length) conversation = kept[0];
    showConversation();
    sidebar.render(kept, conversation.id);
    loadReachable();
    for (const { conversation: target, reply } of settled) {
      const found = kept.find((c) => c.id === target.id) || target;
      const answered = found.messages.at(-1);
      const asked = { ...found, messages: found.messages.slice(0, -1) };
      const body = chatTarget(asked);
      if (answered && answered.content === reply.content) {
        await countReply(found, answered, body);
      }
    }
    if (!store.persistent) {
      status.show("info", "This browser does not keep data for this page: conversations last "
        + "until it is closed.");
    }
  }

  // Leaving while an answer is written asks first; if the page goes anyway, what arrived is
  // noted at once (the next page marks it "Cut short" with the time).
  window.addEventListener("beforeunload", (event) => {
    if (!controller) return;
    event.preventDefault();
    event.returnValue = "";
  });
  window.addEventListener("pagehide", () => {
    if (!writing) return;
    leaving = true;
    noteLeftAnswer({ conversationId: writing.conversationId, content: writing.text(),
                     receipt: writing.receipt() });
  });

  const ready = start();
  input.focus();

  return { newConversation: () => startNew() };
}
