// Filtering thousands of models as the user types: a lower-case haystack per model, built
// once, and an AND match of the words typed. Pure functions, no DOM.

import { POPULAR_PROVIDERS } from "./providers.js";

function providerRank(provider) {
  const index = POPULAR_PROVIDERS.indexOf(provider);
  return index === -1 ? POPULAR_PROVIDERS.length : index;
}

/** [{ model, haystack, name }] for filterModels, the popular providers' models first. */
export function indexModels(models) {
  return models
    .map((model, order) => ({
      model,
      order,
      rank: providerRank(model.provider),
      name: model.display_name.toLowerCase(),
      haystack: `${model.id} ${model.display_name}`.toLowerCase(),
    }))
    .sort((a, b) => a.rank - b.rank || a.order - b.order);
}

/** 0 for the name itself, 1 for a name that starts with the text, 2 for the rest. */
function closeness(entry, text) {
  if (entry.name === text) return 0;
  return entry.name.startsWith(text) ? 1 : 2;
}

/**
 * The models matching every word of `query` (in id or display name), of `provider` when
 * given, and reachable by a key when `onlyWithKey` (hasKey(provider) says which are).
 * With a query, exact and prefix matches of the display name come first.
 */
export function filterModels(index, { provider = "", query = "", onlyWithKey = false,
                                      hasKey = () => true } = {}) {
  const text = query.trim().toLowerCase();
  const words = text.split(/\s+/).filter(Boolean);
  const matches = [];
  for (const entry of index) {
    if (provider && entry.model.provider !== provider) continue;
    if (onlyWithKey && !hasKey(entry.model.provider)) continue;
    if (words.length && !words.every((word) => entry.haystack.includes(word))) continue;
    matches.push({ model: entry.model, closeness: words.length ? closeness(entry, text) : 0 });
  }
  // Array.prototype.sort is stable: within a closeness, the index's order stays.
  if (words.length) matches.sort((a, b) => a.closeness - b.closeness);
  return matches.map((match) => match.model);
}

/** provider -> number of models, for the provider filter's labels. */
export function countByProvider(models) {
  const counts = new Map();
  for (const model of models) counts.set(model.provider, (counts.get(model.provider) || 0) + 1);
  return counts;
}
