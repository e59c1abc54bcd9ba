// The extension page's own card: which backend, its token, whether it answers, and what
// the cache holds (the last sync). The Settings UI below it is the Playground's.

import { el, replaceChildren, statusLine, uniqueId } from "../vendor/js/dom.js";
import { formatDateTime, formatRelative } from "../vendor/js/format.js";
import { providerLabel } from "../vendor/js/providers.js";
import { tokenFrom } from "../vendor/js/token-dialog.js";

const BADGES = { online: "Online", offline: "Offline · read-only", "read-only": "Read-only" };

function field(labelText, control, hint) {
  const hintNode = hint ? el("small", { className: "hint", id: uniqueId("hint") }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return el("div", { className: "field" },
    el("label", { for: control.id }, labelText), control, hintNode);
}

function timeNode(iso) {
  return el("time", { dateTime: iso, title: iso }, `${formatDateTime(iso)} (${formatRelative(iso)})`);
}

function keysSummary(snapshot) {
  const parts = Object.entries(snapshot.keys).flatMap(([provider, keys]) =>
    keys.map((key) => `${providerLabel(provider)} ${key.masked_key}`
      + (key.is_active ? "" : " (inactive)")));
  return parts.length ? parts.join(", ") : "none";
}

function modelSummary(snapshot) {
  if (!snapshot.selected) return "none chosen";
  const { model, parameters } = snapshot.selected;
  const values = Object.entries(parameters || {}).map(([name, value]) => `${name} ${value}`);
  return `${model.id}${values.length ? ` (${values.join(", ")})` : ""}`;
}

/** "chat: openai/gpt-4o-mini, title: fast (anthropic/claude-haiku-4-5)" from the snapshot. */
function purposesSummary(snapshot) {
  const parts = Object.entries(snapshot.purposes || {}).filter(([, purpose]) => purpose.target)
    .map(([name, purpose]) => `${name}: ${purpose.target}`
      + (purpose.alias && purpose.model ? ` (${purpose.model})` : ""));
  return parts.length ? parts.join(", ") : "none set";
}

/** The snapshot's warnings: what points at a model going away, and what to do. */
function warningsNode(snapshot) {
  const warnings = snapshot.warnings || [];
  if (!warnings.length) return el("dd", { className: "synced-warnings" }, "none");
  return el("dd", { className: "synced-warnings" },
    el("ul", {}, warnings.map((warning) => el("li", { dataset: { kind: warning.kind } },
      `${warning.message} ${warning.action}`))));
}

/** The month's spending as synced, with the budgets at 80% or more (older backends: none). */
function usageSummary(snapshot) {
  const { usage } = snapshot;
  if (!usage || typeof usage.cost !== "number") return "not reported by this backend";
  const requests = `${usage.requests} request${usage.requests === 1 ? "" : "s"}`;
  const warnings = (snapshot.budget_warnings || []).map((warning) => warning.message);
  return `$${usage.cost.toFixed(usage.cost >= 1 ? 2 : 6)} over ${requests} (${usage.month}, UTC)`
    + (warnings.length ? `. ${warnings.join(" ")}` : "");
}

/**
 * createBackendPanel({ initialUrl, onConnect({ url, token }), onSyncNow(), onDisconnect() })
 *   -> panel
 * panel: { node, badge(mode), setUrl(url), offerUrl(url), connection, writes,
 *          sync (status lines), showCache(cache), setConnected(connected) }
 */
export function createBackendPanel({ initialUrl, onConnect, onSyncNow, onDisconnect }) {
  const urlInput = el("input", { id: uniqueId("backend-url"), name: "backend_url", type: "text",
                                 inputMode: "url", required: true, autocomplete: "url",
                                 spellcheck: false, autocapitalize: "off", value: initialUrl });
  const tokenInput = el("input", { id: uniqueId("backend-token"), name: "token",
                                   type: "password", autocomplete: "off", spellcheck: false,
                                   autocapitalize: "off" });
  const connectButton = el("button", { type: "submit", className: "primary" }, "Connect");
  const connection = statusLine();
  const writes = statusLine();
  const form = el("form", { className: "backend-form", "aria-label": "Backend" },
    field("Backend URL", urlInput, "Where configapp runs, for example http://127.0.0.1:8000."),
    field("API token or login link", tokenInput,
      "The login link the server printed (or `flask --app wsgi config token` prints), or "
      + "the value of CONFIGAPP_API_TOKEN. Kept by the extension across browser restarts; "
      + "leave empty to keep the one given before."),
    el("div", { className: "form-actions" }, connectButton));

  const facts = el("dl", { className: "sync-facts" });
  const syncButton = el("button", { type: "button" }, "Sync now");
  // Forgets the address, the token and the synced copy: the extension starts afresh.
  const disconnectButton = el("button", { type: "button", className: "danger" }, "Disconnect");
  disconnectButton.hidden = true;
  const sync = statusLine();
  const syncPart = el("div", { className: "sync-part" },
    el("h3", {}, "Sync"),
    el("p", { className: "hint" },
      "The backend's settings are copied here (masked keys only) at each sync, and every "
      + "5 minutes in the background; that copy is what this page shows when the backend "
      + "is away."),
    facts,
    el("div", { className: "form-actions" }, syncButton, disconnectButton),
    sync.node);
  syncPart.hidden = true;

  const node = el("section", { className: "card backend-card", id: "backend",
                               "aria-labelledby": "backend-title" },
    el("h2", { id: "backend-title" }, "Backend"),
    el("p", { className: "lead" },
      "This extension shows and changes the settings of your configapp backend."),
    form, connection.node, writes.node, syncPart);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = tokenFrom(tokenInput.value);
    tokenInput.value = ""; // kept in chrome.storage.local by the page, not in the form
    connectButton.disabled = true;
    try {
      await onConnect({ url: urlInput.value, token });
    } finally {
      connectButton.disabled = false;
    }
  });

  syncButton.addEventListener("click", async () => {
    syncButton.disabled = true;
    try {
      await onSyncNow();
    } finally {
      syncButton.disabled = false;
    }
  });

  disconnectButton.addEventListener("click", async () => {
    disconnectButton.disabled = true;
    try {
      await onDisconnect();
    } finally {
      disconnectButton.disabled = false;
    }
  });

  const badge = document.getElementById("connection-badge");

  return {
    node,
    connection,
    writes,
    sync,
    setConnected(connected) {
      disconnectButton.hidden = !connected;
      if (!connected) syncPart.hidden = true;
    },
    setUrl(url) {
      urlInput.value = url;
    },
    /** The address the page starts with, unless the user is already typing one: the saved
     *  connection loads after the form shows, and must not overwrite (or join) their text. */
    offerUrl(url) {
      if (document.activeElement === urlInput || urlInput.value !== initialUrl) return;
      urlInput.value = url;
    },
    focusUrl() {
      urlInput.focus();
    },
    /** "online", "offline", "read-only" (reachable, but refused) or "setup", in the header. */
    badge(mode) {
      if (!badge) return;
      badge.hidden = mode === "setup";
      badge.className = `connection-badge badge-${mode}`;
      badge.textContent = BADGES[mode] || "";
    },
    showCache(cache) {
      syncPart.hidden = false;
      disconnectButton.hidden = false;
      if (!cache) {
        replaceChildren(facts, el("dt", {}, "Last sync"), el("dd", {}, "never"));
        return;
      }
      const { snapshot } = cache;
      replaceChildren(facts,
        el("dt", {}, "Last sync"), el("dd", { className: "last-sync" }, timeNode(cache.syncedAt)),
        el("dt", {}, "Default model"), el("dd", { className: "synced-model" }, modelSummary(snapshot)),
        el("dt", {}, "Keys"), el("dd", { className: "synced-keys" }, keysSummary(snapshot)),
        el("dt", {}, "Purposes"),
        el("dd", { className: "synced-purposes" }, purposesSummary(snapshot)),
        el("dt", {}, "Warnings"), warningsNode(snapshot),
        el("dt", {}, "This month"), el("dd", { className: "synced-usage" }, usageSummary(snapshot)));
    },
  };
}
