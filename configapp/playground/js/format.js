// Numbers, prices and times as a person reads them.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat();

/** "Nov 28, 2026, 9:41 AM", or the fallback for no date. */
export function formatDateTime(iso, fallback = "never") {
  if (!iso) return fallback;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? fallback : dateTime.format(date);
}

/** "3 minutes ago", "yesterday", "in 2 days". */
export function formatRelative(iso, now = Date.now()) {
  if (!iso) return "";
  const seconds = (new Date(iso).getTime() - now) / 1000;
  if (Number.isNaN(seconds)) return "";
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const steps = [[60, "second"], [60, "minute"], [24, "hour"], [30, "day"], [12, "month"]];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return relative.format(Math.round(value), "year");
}

/** 128000 -> "128K tokens". */
export function formatTokens(count) {
  return typeof count === "number" ? `${compact.format(count)} tokens` : "context unknown";
}

export function formatInteger(value) {
  return whole.format(value);
}

/** Dollars per million tokens: "$0.15", "$0.0375", "free". */
export function formatPrice(perMillion) {
  if (typeof perMillion !== "number") return "?";
  if (perMillion === 0) return "free";
  const digits = perMillion >= 1 ? 2 : Math.min(6, 2 + Math.ceil(-Math.log10(perMillion)));
  return `$${perMillion.toFixed(digits).replace(/(\.\d\d\d*?)0+$/, "$1")}`;
}

/** "$0.15 in / $0.60 out per 1M tokens", or "price unknown". */
export function formatPricing(model) {
  const known = [model.input_price_per_million, model.output_price_per_million]
    .some((price) => typeof price === "number");
  if (!known) return "price unknown";
  return `${formatPrice(model.input_price_per_million)} in · `
    + `${formatPrice(model.output_price_per_million)} out per 1M tokens`;
}

/** An ApiError (or any error) as one sentence, with the fields the server complained of. */
export function formatError(error) {
  const message = (error && error.message) || String(error);
  const errors = error && error.errors && typeof error.errors === "object" ? error.errors : null;
  if (!errors) return message;
  // Only what reads as words: a field's complaints; a structured detail (a budget's
  // figures) belongs to whoever asked for it, not to this sentence.
  const details = Object.entries(errors)
    .map(([name, problems]) => [name, [].concat(problems).filter((p) => typeof p === "string")])
    .filter(([, problems]) => problems.length)
    .map(([name, problems]) => `${name}: ${problems.join(" ")}`)
    .join("; ");
  if (!details) return message;
  return message.includes(details) ? message : `${message} (${details})`;
}

/** What a reply cost: "$0.0042", "$1.25", or "price unknown" (never "$0" for unknown). */
export function formatCost(cost) {
  if (typeof cost !== "number" || !Number.isFinite(cost)) return "price unknown";
  if (cost === 0) return "$0.00";
  if (cost >= 1) return `$${cost.toFixed(2)}`;
  if (cost < 0.000001) return "< $0.000001";
  const digits = Math.max(2, 1 - Math.floor(Math.log10(cost)));
  return `$${Number(cost.toPrecision(2)).toFixed(digits).replace(/(\.\d\d\d*?)0+$/, "$1")}`;
}

/** A conversation's running total: "$0.0031", "$0.0031 + 2 replies price unknown". */
export function formatTotalCost(costs) {
  const known = costs.filter((cost) => typeof cost === "number");
  const unknown = costs.length - known.length;
  if (!costs.length) return "$0.00";
  if (!known.length) return "price unknown";
  const sum = formatCost(known.reduce((a, b) => a + b, 0));
  if (!unknown) return sum;
  return `${sum} + ${unknown} ${unknown === 1 ? "reply" : "replies"} price unknown`;
}
