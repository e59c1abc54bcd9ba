// Conversations kept in this browser (IndexedDB), so they survive a reload and a visit to
// Settings. Runs in the page; touches only its own database, "configapp-chat". Nothing of
// it goes to the server: the server keeps no chat history.
//
// openConversationStore() -> { list(), get(id), put(conversation), remove(id) }
// A conversation: { id, title, model (id, or null for the default model), system (text),
//   messages: [{ role, content, usage?, cost?, model?, fallbackFrom?, seconds?, stopped?, leftAt?,
//     streaming? (ISO: an answer still arriving when this was saved),
//     receipt? (its ledger row's name, from the stream's X-Chat-Receipt) }],
//   createdAt, updatedAt (ISO strings) }.
// Without IndexedDB (private modes of some browsers) it keeps them in memory and says so.
// An answer being written is saved as it arrives (marked `streaming`); as the page goes
// away, what arrived is also noted in localStorage (written at once, where an IndexedDB
// write may not finish), and the next page marks such an answer "Cut short" with the time.
//
// holdAnswer(id) -> release(): while held, other tabs leave that answer alone.
// noteLeftAnswer({ conversationId, content, receipt }), settleLeftAnswers(store) ->
//   [{ conversation, reply }]

const DB_NAME = "configapp-chat";
const STORE = "conversations";

function request(idbRequest) {
  return new Promise((resolve, reject) => {
    idbRequest.onsuccess = () => resolve(idbRequest.result);
    idbRequest.onerror = () => reject(idbRequest.error);
  });
}

function openDatabase() {
  const opening = indexedDB.open(DB_NAME, 1);
  opening.onupgradeneeded = () => {
    opening.result.createObjectStore(STORE, { keyPath: "id" });
  };
  return request(opening);
}

function memoryStore() {
  const kept = new Map();
  return {
    persistent: false,
    list: async () => [...kept.values()].map((c) => structuredClone(c)),
    get: async (id) => (kept.has(id) ? structuredClone(kept.get(id)) : null),
    put: async (conversation) => { kept.set(conversation.id, structuredClone(conversation)); },
    remove: async (id) => { kept.delete(id); },
  };
}

/** The store, newest conversations first in list(). */
export async function openConversationStore() {
  let db;
  try {
    db = await openDatabase();
  } catch {
    return memoryStore();
  }
  const run = (mode, action) => {
    const transaction = db.transaction(STORE, mode);
    const result = request(action(transaction.objectStore(STORE)));
    return new Promise((resolve, reject) => {
      transaction.oncomplete = () => resolve(result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  };
  return {
    persistent: true,
    async list() {
      const all = await run("readonly", (store) => store.getAll());
      return all.sort((a, b) => (b.updatedAt || "").localeCompare(a.updatedAt || ""));
    },
    get: async (id) => (await run("readonly", (store) => store.get(id))) || null,
    put: (conversation) => run("readwrite", (store) => store.put(conversation)),
    remove: (id) => run("readwrite", (store) => store.delete(id)),
  };
}

/** A new, empty conversation (not stored until it has a message). */
export function newConversation(model = null, system = "") {
  const now = new Date().toISOString();
  return { id: crypto.randomUUID(), title: "New conversation", model, system, messages: [],
           createdAt: now, updatedAt: now };
}

/** A title from the first thing the user said: its first line, shortened. */
export function titleFrom(text) {
  const line = text.trim().split("\n")[0].replace(/\s+/g, " ");
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || "New conversation";
}

const LEFT_ANSWER = "configapp-chat-left-answer";
const lockName = (id) => `configapp-chat-answer:${id}`;

/** A Web Lock held while this tab writes the conversation's answer; released when it ends,
 *  or when the page goes away. -> release() */
export function holdAnswer(id) {
  let release = () => {};
  if (!navigator.locks) return release;
  const held = new Promise((resolve) => { release = resolve; });
  navigator.locks.request(lockName(id), () => held).catch(() => {});
  return release;
}

async function writtenElsewhere(id) {
  if (!navigator.locks) return false;
  const { held = [] } = await navigator.locks.query();
  return held.some((lock) => lock.name === lockName(id));
}

/** As the page goes away mid-answer: what arrived, and when (synchronous, so it is kept). */
export function noteLeftAnswer({ conversationId, content, receipt }) {
  try {
    localStorage.setItem(LEFT_ANSWER, JSON.stringify({ conversationId, content, receipt,
                                                       leftAt: new Date().toISOString() }));
  } catch {
    // no localStorage: the answer saved as it streamed (at most a second older) stays
  }
}

function takeLeftAnswer() {
  try {
    const note = JSON.parse(localStorage.getItem(LEFT_ANSWER) || "null");
    localStorage.removeItem(LEFT_ANSWER);
    return note && typeof note === "object" ? note : null;
  } catch {
    return null;
  }
}

/**
 * Answers that were still arriving when their page went away become "Cut short", with the
 * time the page was left (or last saved), keeping the longer of what was saved and what was
 * noted. An answer another tab is still writing (stillWriting(id) true) is left alone.
 * -> the replies settled, as [{ conversation, reply }]
 */
export async function settleLeftAnswers(store, stillWriting = writtenElsewhere) {
  const note = takeLeftAnswer();
  const settled = [];
  for (const conversation of await store.list()) {
    const reply = conversation.messages.at(-1);
    if (!reply || reply.role !== "assistant" || !reply.streaming) continue;
    if (await stillWriting(conversation.id)) continue;
    const noted = note && note.conversationId === conversation.id ? note : null;
    if (noted && typeof noted.content === "string"
        && noted.content.length > reply.content.length) reply.content = noted.content;
    reply.stopped = "Cut short";
    reply.leftAt = (noted && noted.leftAt) || reply.streaming;
    if (!reply.receipt && noted && typeof noted.receipt === "string") {
      reply.receipt = noted.receipt;
    }
    delete reply.streaming;
    await store.put(conversation);
    settled.push({ conversation, reply });
  }
  return settled;
}
