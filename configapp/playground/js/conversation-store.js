// Conversations kept in this browser (IndexedDB), so they survive a reload and a visit to
// Settings. Runs in the page; touches only its own database, "configapp-chat". Nothing of
// it goes to the server: the server keeps no chat history.
//
// openConversationStore() -> { list(), get(id), put(conversation), remove(id) }
// A conversation: { id, title, model (id, or null for the default model), system (text),
//   messages: [{ role, content, usage?, cost?, model?, seconds?, stopped? }],
//   createdAt, updatedAt (ISO strings) }.
// Without IndexedDB (private modes of some browsers) it keeps them in memory and says so.

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
