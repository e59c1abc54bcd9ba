// The Settings UI: API keys and the default model. It runs in the Playground page and, as a
// copy made by the extension's build, in the extension's Settings page: it knows nothing of
// where it runs. The caller gives it an element to fill and an API client (see
// api-client.js) that already carries the backend's base URL and token. It reads no
// location, sets no globals and stores nothing.
//
// Its imports (dom.js, format.js, providers.js, model-index.js, keys-section.js,
// models-section.js, curation-section.js) are equally free of the page: copy them along
// with this file.

import { el, replaceChildren, statusLine } from "./dom.js";
import { formatError } from "./format.js";
import { createCurationSection } from "./curation-section.js";
import { createKeysSection } from "./keys-section.js";
import { createModelsSection } from "./models-section.js";

// The status lines of Settings show one action's outcome at a time (dom.js).
const SETTINGS = "settings";

/**
 * mountSettings(root, { client, readOnly, onChange, sections })
 *   -> { ready, refresh(), setReadOnly(reason), destroy() }
 *
 * root: the element to fill (its content is replaced).
 * client: an object with the methods of createApiClient's result that Settings uses
 *   (providers, listKeys, addKey, updateKey, deleteKey, testKey, models, selectedModel,
 *   selectModel, setParameters, purposes, setPurpose, clearPurpose, aliases, setAlias,
 *   deleteAlias, curation, curate). A client that is not the server (an offline cache) may
 *   add a `note` to what models() answers, shown above the list, and leave out what it
 *   does not know of a key (created_at, last_used_at), shown as "unknown".
 * readOnly: null, or a sentence saying why nothing can be changed now (for example an
 *   offline cache); every control that writes is disabled and the reason shown.
 * onChange(what): called after each successful write ("keys", "model", "parameters",
 *   "visibility", "curation", "default-purpose"), for example to sync a cache.
 * sections: optional { keys, models, curation } elements each card is appended to (a page
 *   laid out in sections); without them, the cards follow each other in root.
 * ready: a promise settled once everything is loaded (failures are shown, not thrown).
 * The sections carry the ids settings-keys, settings-models and settings-curation, for
 * links.
 */
export function mountSettings(root, { client, readOnly = null, onChange = () => {},
                                      sections = null } = {}) {
  if (!root || !client) throw new TypeError("mountSettings needs a root element and a client");
  let readOnlyReason = readOnly;
  let providers = [];
  const sourceOf = new Map();

  const banner = el("div", { className: "banner banner-readonly", role: "status" });
  banner.hidden = true;
  const pageStatus = statusLine("", SETTINGS);

  const context = {
    client,
    isReadOnly: () => Boolean(readOnlyReason),
    applyReadOnly,
    hasKey: (provider) => Boolean(sourceOf.get(provider)),
    keySource: (provider) => sourceOf.get(provider) || null,
    // A provider configapp can chat with (the server lists only those); with no list (it
    // could not be loaded), every provider, rather than an empty catalogue.
    // The purposes' warnings (hidden, withdrawn, no key...): the default model's show in
    // the Default model card too, where the user acts on it.
    warningsChanged: (warnings) => models.showWarnings(warnings.filter(
      (warning) => warning.source === "purpose" && warning.name === "chat")),
    isSupported: (provider) => !sourceOf.size || sourceOf.has(provider),
    async changed(what) {
      if (what === "keys") {
        await Promise.all([loadProviders(), keys.load()]);
        models.providersChanged();
      }
      // Keys and the default model change the purposes' warnings; hidden models the list.
      if (what === "keys" || what === "model") curation.load();
      if (what === "visibility" || what === "default-purpose") models.load();
      try {
        onChange(what);
      } catch (error) {
        // The caller's hook failing must not undo what the server already did.
        pageStatus.show("error", `Saved, but a follow-up step failed: ${formatError(error)}`);
      }
    },
  };

  const keys = createKeysSection(context);
  const models = createModelsSection(context);
  const curation = createCurationSection(context);

  if (sections) {
    replaceChildren(root, el("div", { className: "settings-ui" }, banner, pageStatus.node));
    sections.keys.append(keys.node);
    sections.models.append(models.node);
    sections.curation.append(curation.node);
  } else {
    replaceChildren(root, el("div", { className: "settings-ui" },
      banner, pageStatus.node, keys.node, models.node, curation.node));
  }

  function applyReadOnly() {
    banner.hidden = !readOnlyReason;
    if (readOnlyReason) replaceChildren(banner, el("strong", {}, "Read-only. "), readOnlyReason);
    const cards = [keys.node, models.node, curation.node];
    for (const control of cards.flatMap((card) => [...card.querySelectorAll("[data-write]")])) {
      if (control.getAttribute("aria-busy") === "true") continue;
      control.disabled = Boolean(readOnlyReason);
    }
  }

  async function loadProviders() {
    try {
      providers = await client.providers();
      pageStatus.clear();
    } catch (error) {
      pageStatus.show("error", `Could not load the providers: ${formatError(error)}`);
      providers = [];
    }
    sourceOf.clear();
    for (const provider of providers) sourceOf.set(provider.name, provider.key_source);
    keys.setProviders(providers);
  }

  async function refresh() {
    // All three load at once; the model list waits for the providers only to draw badges.
    const providersLoaded = loadProviders();
    await Promise.all([providersLoaded, keys.load(), models.load(providersLoaded),
                       curation.load()]);
    applyReadOnly();
  }

  const ready = refresh();

  return {
    ready,
    refresh,
    setReadOnly(reason) {
      readOnlyReason = reason || null;
      applyReadOnly();
    },
    destroy() {
      root.replaceChildren();
      for (const card of [keys.node, models.node, curation.node]) card.remove();
    },
  };
}
