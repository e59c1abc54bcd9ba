// A Settings UI client that answers from the cached snapshot, for when the backend is
// away: the same methods as the API client (api-client.js), reading only. Every write is
// refused; the page also mounts the UI read-only, so none is offered.

import { ApiError } from "../vendor/js/api-client.js";
import { POPULAR_PROVIDERS } from "../vendor/js/providers.js";

function copy(value) {
  return structuredClone(value); // the UI gets its own objects; the cache stays frozen
}

/** The snapshot's keys as GET /api/config/api-keys lists them (without the dates it lacks). */
function keysOf(snapshot) {
  return Object.entries(snapshot.keys).flatMap(([provider, keys]) =>
    keys.map((key) => ({ ...key, provider, created_at: undefined, last_used_at: undefined })));
}

/**
 * createCachedClient(cache) -> client for mountSettings, answering from cache.snapshot.
 * What the snapshot does not hold: the catalogue (only the default model is known), which
 * models are hidden, and keys taken from the server's environment variables.
 */
export function createCachedClient(cache, { reason = "The backend cannot be reached." } = {}) {
  const { snapshot } = cache;
  const refuse = async () => {
    throw new ApiError(503, `Read-only: ${reason}`);
  };
  const selected = snapshot.selected;

  return {
    baseUrl: cache.backendUrl,

    async providers() {
      const withKeys = Object.keys(snapshot.keys);
      const names = [...new Set([...POPULAR_PROVIDERS, ...withKeys])];
      return names.map((name) => ({
        name,
        key_source: (snapshot.keys[name] || []).some((key) => key.is_active) ? "database" : null,
        env_var: null,
        env_vars: [],
      }));
    },

    async listKeys() {
      return copy(keysOf(snapshot));
    },

    async models() {
      const models = selected ? [copy(selected.model)] : [];
      return {
        source: "cache",
        count: models.length,
        models,
        note: "From the cache: the model catalogue is not kept there, so only the default "
          + "model is shown.",
      };
    },

    async selectedModel() {
      if (!selected) return null;
      return { model: copy(selected.model), parameters: copy(selected.parameters),
               is_default: true };
    },

    async sync() {
      return copy(snapshot);
    },

    async purposes() {
      const purposes = Object.entries(snapshot.purposes || {}).map(([name, purpose]) => ({
        name, builtin: ["chat", "title", "extension"].includes(name), target: purpose.target,
        alias: purpose.alias, parameters: purpose.parameters,
        model: purpose.model ? { id: purpose.model } : null,
      }));
      return copy({ purposes, warnings: snapshot.warnings || [] });
    },

    async aliases() {
      return copy(Object.entries(snapshot.aliases || {}).map(([name, alias]) => ({
        name, target: alias.target, parameters: alias.parameters })));
    },

    async curation() {
      return { providers: [], note: "From the cache: which models are shown is not kept "
        + "there." };
    },

    addKey: refuse,
    updateKey: refuse,
    deleteKey: refuse,
    testKey: refuse,
    selectModel: refuse,
    setParameters: refuse,
    setPurpose: refuse,
    clearPurpose: refuse,
    setAlias: refuse,
    deleteAlias: refuse,
    curate: refuse,
  };
}
