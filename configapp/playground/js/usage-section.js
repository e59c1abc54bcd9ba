// The Settings page's "Usage and budgets" section: the month so far per provider and per
// model (figures and a chart, both from GET /api/config/usage), the budgets with their
// warnings, and a form to set or remove one. It runs in the Playground's Settings page; it
// reads no location, sets no globals and stores nothing.

import { barChart } from "./bar-chart.js";
import { el, replaceChildren, statusLine, uniqueId } from "./dom.js";
import { formatError, formatInteger } from "./format.js";
import { providerLabel, sortProviders } from "./providers.js";

// The status lines of Settings show one action's outcome at a time (dom.js).
const SETTINGS = "settings";

/** "$0.0123": enough digits for the small sums of a test month, two for large ones. */
export function formatDollars(value) {
  if (typeof value !== "number") return "?";
  if (value === 0) return "$0";
  const digits = value >= 1 ? 2 : Math.min(8, 2 + Math.ceil(-Math.log10(value)));
  return `$${value.toFixed(digits)}`;
}

function monthStart(now = new Date()) {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
}

function totalsTable(caption, groups) {
  return el("table", { className: "usage-table" },
    el("caption", { className: "visually-hidden" }, caption),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, caption.split(" ").pop()),
      el("th", { scope: "col" }, "Requests"),
      el("th", { scope: "col" }, "Tokens in / out"),
      el("th", { scope: "col" }, "Cost"))),
    el("tbody", {}, groups.map((group) => el("tr", {},
      el("th", { scope: "row" }, group.group),
      el("td", {}, formatInteger(group.requests),
        group.unavailable_requests ? ` (${formatInteger(group.unavailable_requests)} failed)`
          : ""),
      el("td", {}, `${formatInteger(group.prompt_tokens)} / `
        + formatInteger(group.completion_tokens)),
      el("td", {}, formatDollars(group.cost),
        group.unpriced_requests ? ` (+${group.unpriced_requests} unpriced)` : "")))));
}

/**
 * createUsageSection({ client }) -> { node, load() }
 * client: createApiClient's result (its json(method, path, options) is used).
 */
export function createUsageSection({ client }) {
  const status = statusLine("", SETTINGS);
  const warnings = el("div", { className: "budget-warnings" });
  const summary = el("p", { className: "lead usage-summary" });
  const byProvider = el("div", { className: "usage-block", id: "usage-by-provider" });
  const byModel = el("div", { className: "usage-block", id: "usage-by-model" });
  const byClient = el("div", { className: "usage-block", id: "usage-by-client" });
  const budgetList = el("ul", { className: "budget-list" });

  // A provider or a stored key, chosen by name: nobody types an id.
  const target = el("select", { id: uniqueId("budget-target"), required: true });
  let keyLabels = new Map(); // key id -> "work (OpenAI, sk-***1234)"
  const limit = el("input", { id: uniqueId("budget-limit"), type: "number", min: "0.000001",
                              step: "any", required: true, placeholder: "20" });
  const formStatus = statusLine("", SETTINGS);
  const form = el("form", { className: "budget-form", onsubmit: save },
    el("div", { className: "field" }, el("label", { for: target.id }, "Budget for"), target),
    el("div", { className: "field" },
      el("label", { for: limit.id }, "Monthly limit ($)"), limit),
    el("div", { className: "form-actions" },
      el("button", { type: "submit", className: "primary", "data-write": true }, "Set budget")),
    formStatus.node);

  const node = el("section", { className: "card", id: "settings-usage",
                               "aria-labelledby": "settings-usage-title" },
    el("h2", { id: "settings-usage-title" }, "Usage and budgets"),
    summary, warnings, status.node, byProvider, byModel, byClient,
    el("h3", {}, "Monthly budgets"),
    el("p", { className: "lead" }, "At 80% of a budget the pages warn; at 100% chats through "
      + "that provider or key are refused until next month (UTC) or until the budget is raised."),
    budgetList, form);

  function drawTotals(container, title, groups) {
    const heading = el("h3", {}, title);
    if (!groups.length) {
      replaceChildren(container, heading, el("p", { className: "hint" }, "No use yet."));
      return;
    }
    const rows = groups.map((group) => ({ label: group.group, value: group.cost }));
    replaceChildren(container, heading,
      barChart({ title: `${title}: cost in dollars`, rows, format: formatDollars }),
      totalsTable(title, groups));
  }

  function drawBudgets(budgets) {
    const alarming = budgets.filter((budget) => budget.level !== "ok");
    replaceChildren(warnings, alarming.map((budget) => el("p", {
      className: `banner budget-${budget.level}`, role: "alert" },
    el("strong", {}, budget.level === "exceeded" ? "Budget reached. " : "Budget at 80%. "),
    budget.message)));
    replaceChildren(budgetList, budgets.length ? budgets.map((budget) => el("li", {
      className: `budget budget-${budget.level}` },
    el("span", {}, budget.scope === "key" && keyLabels.has(budget.target)
      ? `Key ${keyLabels.get(budget.target)}: ` : "", budget.message),
    el("button", { type: "button", className: "danger", "data-write": true,
                   onclick: () => remove(budget) }, "Remove")))
      : el("li", { className: "hint" }, "No budgets."));
  }

  async function load() {
    const since = encodeURIComponent(monthStart());
    try {
      const [providers, models, clients, budgets, keys, known] = await Promise.all([
        client.json("GET", `/api/config/usage?group_by=provider&since=${since}`),
        client.json("GET", `/api/config/usage?group_by=model&since=${since}`),
        client.json("GET", `/api/config/usage?group_by=client&since=${since}`),
        client.json("GET", "/api/config/budgets"),
        client.listKeys(),
        client.providers(),
      ]);
      drawTargets(keys, known);
      const total = providers.total;
      replaceChildren(summary, "This month so far (UTC): ",
        el("strong", {}, formatDollars(total.cost)), ` over ${formatInteger(total.requests)} `
        + `request${total.requests === 1 ? "" : "s"}`,
        total.unpriced_requests ? `, ${total.unpriced_requests} of unpriced models` : "", ".");
      drawTotals(byProvider, "Month so far per provider", providers.groups);
      drawTotals(byModel, "Month so far per model", models.groups);
      // A client's name (the calls without one: the pages and the API token).
      drawTotals(byClient, "Month so far per client", clients.groups.map((group) => ({
        ...group, group: group.name || `deleted client ${group.group}` })));
      drawBudgets(budgets);
      status.clear();
    } catch (error) {
      status.show("error", `Could not load the usage: ${formatError(error)}`);
    }
  }

  /** The choices of "Budget for": the providers, then each stored key by its name,
   * provider and mask. */
  function drawTargets(keys, known) {
    const previous = target.value;
    keyLabels = new Map(keys.map((key) => [String(key.id),
      `${key.key_name || "(no name)"} (${providerLabel(key.provider)}, ${key.masked_key})`]));
    const providerNames = sortProviders(known.map((provider) => provider.name));
    replaceChildren(target,
      el("optgroup", { label: "Providers" }, providerNames.map((name) =>
        el("option", { value: `provider/${name}` }, providerLabel(name)))),
      keys.length ? el("optgroup", { label: "Keys" }, keys.map((key) =>
        el("option", { value: `key/${key.id}` }, keyLabels.get(String(key.id))))) : null);
    if ([...target.options].some((option) => option.value === previous)) {
      target.value = previous;
    }
  }

  async function save(event) {
    event.preventDefault();
    const [scope, name] = target.value.split("/");
    const path = `/api/config/budgets/${scope}/${encodeURIComponent(name)}`;
    try {
      await client.json("PUT", path, { body: { monthly_limit: Number(limit.value) } });
      formStatus.show("ok", `Budget saved: ${target.selectedOptions[0].textContent}, `
        + `${formatDollars(Number(limit.value))} a month.`);
      limit.value = "";
      await load();
    } catch (error) {
      formStatus.show("error", formatError(error));
    }
  }

  async function remove(budget) {
    try {
      await client.json("DELETE", `/api/config/budgets/${budget.scope}/`
        + encodeURIComponent(budget.target));
      await load();
    } catch (error) {
      formStatus.show("error", formatError(error));
    }
  }

  return { node, load };
}
