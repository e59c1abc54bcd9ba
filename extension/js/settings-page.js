// The extension's Settings page: connect to a backend, sync its settings into the cache,
// and show the Playground's Settings UI, live when the backend answers and read-only from
// the cache when it does not.
//
//   setup    no backend yet: the Backend card asks for its address (and token).
//   online   the Settings UI talks to the backend (writes go to its API); after each
//            write, and every 30 s, a sync refreshes the cache.
//   offline  the Settings UI answers from the cache, read-only, with the time of the
//            last sync; every 5 s (or "Sync now") the page tries again, and the live UI
//            comes back as soon as a sync succeeds.

import { ApiError, createApiClient } from "../vendor/js/api-client.js";
import { el, replaceChildren } from "../vendor/js/dom.js";
import { formatDateTime } from "../vendor/js/format.js";
import { mountSettings } from "../vendor/js/settings-ui.js";
import { askForToken } from "../vendor/js/token-dialog.js";
import { createBackendPanel } from "./backend-panel.js";
import { createCachedClient } from "./cached-client.js";
import {
  DEFAULT_BACKEND_URL,
  checkBackend,
  extensionOrigin,
  forgetConnection,
  forgetIdentity,
  hostPattern,
  loadConnection,
  normaliseBackendUrl,
  requestHostAccess,
  saveBackendUrl,
  saveToken,
  writesAllowed,
} from "./connection.js";
import { forgetCache, syncNow } from "./sync.js";

const ONLINE_SYNC_MS = 30_000;
const OFFLINE_RETRY_MS = 5_000;

const settingsRoot = document.getElementById("settings-root");
const state = {
  backendUrl: null,
  token: null,
  mode: "setup",
  ui: null,
  shownCache: null, // the cache the read-only UI was drawn from
  timer: null,
};

const panel = createBackendPanel({ initialUrl: DEFAULT_BACKEND_URL, onConnect: connect,
                                   onSyncNow: () => sync({ manual: true }),
                                   onDisconnect: () => disconnect() });
document.getElementById("backend-root").replaceWith(panel.node);

// ---- the token --------------------------------------------------------------------------

let pendingToken = null;
const TOKEN_HINT = "Kept by this extension (in its local storage) until you change it, so "
  + "that syncing goes on after a browser restart.";

/** Ask for the API token (the Playground's dialog); keep it in chrome.storage.local. */
function askToken(reason) {
  if (!pendingToken) {
    pendingToken = askForToken(reason, { hint: TOKEN_HINT }).then(async (token) => {
      if (token) {
        await forgetIdentity();
        state.token = token;
        await saveToken(token);
      }
      return token;
    }).finally(() => {
      pendingToken = null;
    });
  }
  return pendingToken;
}

// ---- the Settings UI, live or from the cache ----------------------------------------------

/** The API client for the live UI; losing the backend mid-way starts a sync at once. */
function liveClient() {
  const client = createApiClient({ baseUrl: state.backendUrl, getToken: () => state.token,
                                   askToken });
  const watched = {};
  for (const [name, value] of Object.entries(client)) {
    watched[name] = typeof value !== "function" ? value : async (...args) => {
      try {
        return await value(...args);
      } catch (error) {
        if (error instanceof ApiError && error.status === 0) setTimeout(() => sync(), 0);
        throw error;
      }
    };
  }
  return watched;
}

function mount(options) {
  if (state.ui) state.ui.destroy();
  state.ui = mountSettings(settingsRoot, options);
}

async function checkWrites() {
  const allowed = await writesAllowed(state.backendUrl);
  if (allowed === true) {
    panel.writes.show("ok", "Changes are allowed: the backend lists this extension's origin "
      + "in CONFIGAPP_EXTENSION_ORIGINS.");
  } else if (allowed === false) {
    panel.writes.show("error", "The backend will refuse changes from this extension: add ",
      el("code", {}, extensionOrigin()), " to CONFIGAPP_EXTENSION_ORIGINS on the server and "
      + "restart it. Until then this page can show the settings but not change them.");
    // Known to be refused: offer no change at all, and say why where the controls are.
    if (state.ui && state.mode === "online") {
      state.ui.setReadOnly("The backend refuses changes from this extension (its origin is "
        + "not in CONFIGAPP_EXTENSION_ORIGINS): see the Backend card.");
    }
  } else {
    panel.writes.clear();
  }
}

function goOnline({ changed }) {
  if (state.mode !== "online" || !state.ui) {
    state.mode = "online";
    state.shownCache = null;
    mount({ client: liveClient(), onChange: () => sync({ afterWrite: true }) });
    checkWrites();
  } else if (changed) {
    state.ui.refresh(); // changed elsewhere (the Playground, another browser): show it
  }
  panel.badge("online");
  panel.connection.show("ok", `Connected to the configapp backend at ${state.backendUrl}.`);
}

function goOffline(cache, why, { reachable = false } = {}) {
  const wasOffline = state.mode === "offline";
  state.mode = "offline";
  panel.badge(reachable ? "read-only" : "offline");
  panel.connection.show("error", why);
  panel.writes.clear();
  if (!cache) {
    if (state.ui) state.ui.destroy();
    state.ui = null;
    state.shownCache = null;
    replaceChildren(settingsRoot, el("p", { className: "status status-error", role: "status" },
      `${why} Nothing has been synced from ${state.backendUrl} yet, so there is nothing to `
      + "show; this page tries again every few seconds."));
    return;
  }
  const reason = `${why} Showing the settings synced at ${formatDateTime(cache.syncedAt)}; `
    + "changes are disabled until the backend answers again.";
  if (wasOffline && state.ui && state.shownCache === cache.syncedAt) {
    state.ui.setReadOnly(reason);
    return;
  }
  state.shownCache = cache.syncedAt;
  mount({ client: createCachedClient(cache, { reason: why }), readOnly: reason });
}

// ---- sync -------------------------------------------------------------------------------

function schedule() {
  clearTimeout(state.timer);
  if (!state.backendUrl || state.mode === "setup") return;
  state.timer = setTimeout(() => sync(), state.mode === "online" ? ONLINE_SYNC_MS
    : OFFLINE_RETRY_MS);
}

const OFFLINE_WHY = {
  offline: (url) => `Offline: cannot reach ${url}.`,
  unverified: (url) => `${url} answers, but it did not prove it is the configapp this `
    + "extension signed in to, so the token was not sent (is another program on its port "
    + "while configapp is down?). If configapp's encryption key was changed, give the token "
    + "again in the Backend card and press Connect.",
  unauthorized: () => (state.token
    ? "Sign in again: the backend refused the extension's API token (it was changed, perhaps "
      + "by `flask --app wsgi config token`). Give the new token or login link in the "
      + "Backend card and press Connect."
    : "Sign in: the backend needs its API token. Give it (or the login link the server "
      + "printed) in the Backend card and press Connect."),
};

/**
 * Sync, then show the result. manual: the user asked (say so while it runs); ask: a 401
 * may ask for the token (not on the timer's syncs: a dialog every few seconds would nag);
 * afterWrite: the change came from this page, so the UI already shows it.
 */
async function runSync({ manual = false, ask = manual, afterWrite = false } = {}) {
  clearTimeout(state.timer);
  if (!state.backendUrl) return;
  if (manual) panel.sync.show("busy", `Syncing with ${state.backendUrl}…`);
  let result = await syncNow({ backendUrl: state.backendUrl, token: state.token });
  while (result.outcome === "unauthorized" && ask) {
    const token = await askToken(state.token ? "refused" : "needed");
    if (!token) break;
    result = await syncNow({ backendUrl: state.backendUrl, token });
  }
  panel.showCache(result.cache);
  if (result.outcome === "updated" || result.outcome === "unchanged") {
    panel.sync.show("ok", result.outcome === "updated"
      ? `Synced at ${formatDateTime(result.cache.syncedAt)}: this copy holds the backend's `
        + "current settings."
      : `Up to date, synced at ${formatDateTime(result.cache.syncedAt)}.`);
    goOnline({ changed: result.outcome === "updated" && !afterWrite });
  } else {
    const why = (OFFLINE_WHY[result.outcome] || (() => `The backend answered: ${result.message}`))(
      state.backendUrl);
    panel.sync.show("error", result.cache
      ? `Not synced: the cache is kept as it was at ${formatDateTime(result.cache.syncedAt)}.`
      : "Not synced: nothing is cached from this backend yet.");
    goOffline(result.cache, why, { reachable: result.outcome !== "offline" });
  }
  schedule();
}

let queue = Promise.resolve();

/** One sync at a time from this page (the Web Lock in sync.js orders it with the worker's). */
function sync(options) {
  queue = queue.then(() => runSync(options)).catch((error) => {
    panel.sync.show("error", `The sync failed: ${error && error.message ? error.message : error}`);
    schedule();
  });
  return queue;
}

// ---- connecting -------------------------------------------------------------------------

async function connect({ url, token }) {
  let backendUrl;
  try {
    backendUrl = normaliseBackendUrl(url);
  } catch (error) {
    panel.connection.show("error", error.message);
    panel.focusUrl();
    return;
  }
  panel.setUrl(backendUrl);
  // First, while the click still counts as a user gesture: access to that host.
  let granted = false;
  try {
    granted = await requestHostAccess(backendUrl);
  } catch (error) {
    panel.connection.show("error", `Cannot ask for access to ${backendUrl}: ${error.message}`);
    return;
  }
  if (!granted) {
    panel.connection.show("error", `Access to ${hostPattern(backendUrl)} was not granted, so `
      + `the extension cannot reach ${backendUrl}.`);
    return;
  }
  panel.connection.show("busy", `Checking ${backendUrl}…`);
  const check = await checkBackend(backendUrl);
  if (!check.ok) {
    panel.connection.show("error", check.message);
    return;
  }
  if (token) {
    state.token = token;
    await saveToken(token);
    await forgetIdentity(); // learnt again with this token
  }
  if (backendUrl !== state.backendUrl) {
    state.backendUrl = backendUrl;
    state.mode = "setup"; // another backend: draw its settings afresh
    await saveBackendUrl(backendUrl);
  }
  await sync({ manual: true });
}

/** Forget the backend, its token and the synced copy; back to the first-run view. */
async function disconnect() {
  clearTimeout(state.timer);
  const was = state.backendUrl;
  await Promise.all([forgetConnection(), forgetCache()]);
  if (state.ui) state.ui.destroy();
  Object.assign(state, { ui: null, backendUrl: null, token: null, mode: "setup",
                         shownCache: null });
  panel.setConnected(false);
  panel.writes.clear();
  panel.sync.clear();
  panel.badge("setup");
  panel.setUrl(DEFAULT_BACKEND_URL);
  panel.connection.show("info", `Disconnected from ${was}: its address, the token and the `
    + "synced settings are forgotten. Connect again to use a backend.");
  replaceChildren(settingsRoot, el("p", { className: "hint" },
    "The settings appear here once the backend is connected."));
  panel.focusUrl();
}

async function start() {
  const saved = await loadConnection();
  state.token = saved.token;
  if (saved.backendUrl) panel.offerUrl(saved.backendUrl);
  if (!saved.backendUrl) {
    panel.badge("setup");
    panel.connection.show("info", "First, tell the extension where your configapp backend "
      + "runs (its default address is filled in) and press Connect.");
    replaceChildren(settingsRoot, el("p", { className: "hint" },
      "The settings appear here once the backend is connected."));
    panel.focusUrl();
    return;
  }
  state.backendUrl = saved.backendUrl;
  replaceChildren(settingsRoot, el("p", { className: "status status-busy", role: "status" },
    `Syncing with ${saved.backendUrl}…`));
  await sync({ ask: true });
}

start();
