// Filtering thousands of models as the user types: a lower-case haystack per model, built
// once, and an AND match of the words typed. Pure functions, no DOM.

import { POPULAR_PROVIDERS } from "./providers.js";

function providerRank(provider) {
  const index = POPULAR_PROVIDERS.indexOf(provider);
  return index === -1 ? POPULAR_PROVIDERS.length : index;
}

// Fine-tunes ("ft:"), dated snapshots ("-2024-07-18", "-20250514"), previews and "-latest"
// aliases: offered after the models they are variants of.
const VARIANT = /(^|\/)ft:|-\d{4}-\d{2}-\d{2}$|-\d{8}$|preview|-latest$/;

/** [{ model, haystack, name, short, variant }] for filterModels, the popular providers'
 * models first. */
export function indexModels(models) {
  return models
    .map((model, order) => ({
      model,
      order,
      rank: providerRank(model.provider),
      name: model.display_name.toLowerCase(),
      short: model.id.slice(model.id.indexOf("/") + 1).toLowerCase(),
      variant: VARIANT.test(model.id.toLowerCase()) ? 1 : 0,
      haystack: `${model.id} ${model.display_name}`.toLowerCase(),
    }))
    .sort((a, b) => a.rank - b.rank || a.order - b.order);
}

/** 0 for the id or name itself, 1 for one that starts with the text, 2 for word matches. */
function closeness(entry, text) {
  const id = entry.model.id.toLowerCase();
  if (id === text || entry.short === text || entry.name === text) return 0;
  const dashed = text.replace(/\s+/g, "-");
  return [entry.short, entry.name, id].some((name) => name.startsWith(text)
    || name.startsWith(dashed)) ? 1 : 2;
}

/**
 * The models matching every word of `query` (in id or display name), of `provider` when
 * given, and reachable by a key when `onlyWithKey` (hasKey(provider) says which are).
 * Ranked: the default model (`defaultId`), then the models with a key, then the others;
 * within each, with a query, exact id or name, then prefix, then word matches; and
 * variants (fine-tunes, dated snapshots, previews) after the models they vary.
 */
export function filterModels(index, { provider = "", query = "", onlyWithKey = false,
                                      hasKey = () => true, defaultId = null } = {}) {
  const text = query.trim().toLowerCase();
  const words = text.split(/\s+/).filter(Boolean);
  const matches = [];
  const keyed = new Map();
  for (const entry of index) {
    const { model } = entry;
    if (provider && model.provider !== provider) continue;
    if (!keyed.has(model.provider)) keyed.set(model.provider, Boolean(hasKey(model.provider)));
    if (onlyWithKey && !keyed.get(model.provider)) continue;
    if (words.length && !words.every((word) => entry.haystack.includes(word))) continue;
    const group = model.id === defaultId ? 0 : keyed.get(model.provider) ? 1 : 2;
    matches.push({ model, group, closeness: words.length ? closeness(entry, text) : 0,
                   variant: entry.variant });
  }
  // Array.prototype.sort is stable: within a rank, the index's order stays.
  matches.sort((a, b) => a.group - b.group || a.closeness - b.closeness
    || a.variant - b.variant);
  return matches.map((match) => match.model);
}

/** provider -> number of models, for the provider filter's labels. */
export function countByProvider(models) {
  const counts = new Map();
  for (const model of models) counts.set(model.provider, (counts.get(model.provider) || 0) + 1);
  return counts;
}
