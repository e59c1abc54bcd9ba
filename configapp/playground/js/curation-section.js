// Settings, curation: the warnings about models going away, a default model per purpose,
// aliases, and which of each provider's models are shown. Like the other sections it runs
// in the Playground and, copied, in the extension: it knows only the client it is given
// (no location, no storage, no globals).

import { busyButton, el, replaceChildren, statusLine, uniqueId } from "./dom.js";
import { formatError, formatInteger } from "./format.js";
import { providerLabel, sortProviders } from "./providers.js";

const DAY_MS = 86_400_000;

/** "in 43 days", "today", "1 day ago": how many calendar days (UTC, as the server writes
 * its dates) a YYYY-MM-DD date is from today. Days, not hours: this afternoon, today's date
 * is still "today". */
export function daysFrom(date, now = Date.now()) {
  const days = Date.parse(`${date}T00:00:00Z`) / DAY_MS - Math.floor(now / DAY_MS);
  if (!Number.isInteger(days)) return "";
  if (days === 0) return "today";
  const count = `${formatInteger(Math.abs(days))} ${Math.abs(days) === 1 ? "day" : "days"}`;
  return days > 0 ? `in ${count}` : `${count} ago`;
}

/** "12 of 400 shown". */
export function countText(entry) {
  return `${formatInteger(entry.shown)} of ${formatInteger(entry.total)} shown`;
}

const KIND_LABELS = {
  withdrawn: "Withdrawn", deprecated: "Deprecated", hidden: "Hidden", no_key: "No key",
  unknown_model: "Unknown model",
};

/**
 * The curation section. context: { client, isReadOnly(), applyReadOnly(), changed(what) }.
 * client methods: purposes(), aliases(), curation(), models({provider, includeHidden}),
 * setPurpose, clearPurpose, setAlias, deleteAlias, curate(provider, change).
 * Returns { node, load() }.
 */
export function createCurationSection(context) {
  const { client } = context;
  const status = statusLine();

  // ---- warnings ---------------------------------------------------------------------
  const warningList = el("ul", { className: "curation-warnings" });
  const warningBox = el("div", { className: "banner banner-warning", role: "status",
                                 "aria-live": "polite" },
    el("strong", {}, "Models that need attention"), warningList);
  warningBox.hidden = true;

  function renderWarnings(warnings) {
    warningBox.hidden = !warnings.length;
    replaceChildren(warningList, warnings.map((warning) => {
      const when = warning.date ? ` (${warning.date}, ${daysFrom(warning.date)})` : "";
      return el("li", { className: `warning warning-${warning.kind}`,
                        dataset: { kind: warning.kind, name: warning.name } },
        el("span", { className: "warning-kind" }, KIND_LABELS[warning.kind] || warning.kind),
        " ", `${warning.message}${when} `,
        el("span", { className: "warning-action" }, warning.action));
    }));
  }

  // ---- purposes ---------------------------------------------------------------------
  const purposeRows = el("tbody", {});
  const newPurposeName = el("input", { type: "text", id: uniqueId("purpose-name"),
                                       placeholder: "summaries", autocomplete: "off",
                                       spellcheck: false, "data-write": "" });
  const newPurposeModel = el("input", { type: "text", id: uniqueId("purpose-model"),
                                        placeholder: "openai/gpt-4o-mini or an alias",
                                        autocomplete: "off", spellcheck: false,
                                        "data-write": "" });
  const addPurposeButton = el("button", { type: "submit", "data-write": "" }, "Add purpose");
  const purposeForm = el("form", { className: "inline-form" },
    el("div", { className: "field" },
      el("label", { for: newPurposeName.id }, "New purpose"), newPurposeName),
    el("div", { className: "field grow" },
      el("label", { for: newPurposeModel.id }, "Its model or alias"), newPurposeModel),
    addPurposeButton);

  async function write(button, label, action, done, what = "curation") {
    if (context.isReadOnly()) return;
    const finish = busyButton(button, label);
    try {
      await action();
      finish();
      status.show("ok", done);
      context.changed(what);
      await load();
    } catch (error) {
      finish();
      status.show("error", `Not saved: ${formatError(error)}`);
    }
  }

  function purposeRow(purpose) {
    const input = el("input", { type: "text", value: purpose.target || "",
                                "aria-label": `Model for the purpose ${purpose.name}`,
                                placeholder: "no model", spellcheck: false,
                                "data-write": "" });
    const save = el("button", { type: "button", "data-write": "" }, "Set");
    const clear = el("button", { type: "button", className: "danger", "data-write": "" },
      purpose.builtin ? "Unset" : "Remove");
    // The chat purpose is the default model: the models section redraws after it.
    const what = purpose.name === "chat" ? "default-purpose" : "curation";
    save.addEventListener("click", () => write(save, "Saving…",
      () => client.setPurpose(purpose.name, input.value.trim()),
      `The purpose ${purpose.name} now uses ${input.value.trim()}.`, what));
    clear.addEventListener("click", () => write(clear, "Removing…",
      () => client.clearPurpose(purpose.name),
      `The purpose ${purpose.name} has no model now: chat refuses it (409).`, what));
    const model = purpose.model
      ? `${purpose.model.id}${purpose.alias ? ` (alias ${purpose.alias})` : ""}` : "none";
    return el("tr", { dataset: { purpose: purpose.name } },
      el("th", { scope: "row" }, purpose.name),
      el("td", {}, input),
      el("td", { className: "resolved" }, model),
      el("td", { className: "actions" }, save, clear));
  }

  purposeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = newPurposeName.value.trim();
    write(addPurposeButton, "Adding…", async () => {
      await client.setPurpose(name, newPurposeModel.value.trim());
      newPurposeName.value = newPurposeModel.value = "";
    }, `Added the purpose ${name}.`);
  });

  // ---- aliases ----------------------------------------------------------------------
  const aliasRows = el("tbody", {});
  const aliasName = el("input", { type: "text", id: uniqueId("alias-name"), placeholder: "fast",
                                  autocomplete: "off", spellcheck: false, "data-write": "" });
  const aliasModel = el("input", { type: "text", id: uniqueId("alias-model"),
                                   placeholder: "anthropic/claude-haiku-4-5",
                                   autocomplete: "off", spellcheck: false, "data-write": "" });
  const aliasTemperature = el("input", { type: "number", id: uniqueId("alias-temperature"),
                                         step: "any", min: 0, max: 2, "data-write": "" });
  const aliasMaxTokens = el("input", { type: "number", id: uniqueId("alias-max-tokens"),
                                       step: 1, min: 1, "data-write": "" });
  const addAliasButton = el("button", { type: "submit", "data-write": "" }, "Save alias");
  const aliasForm = el("form", { className: "inline-form" },
    el("div", { className: "field" }, el("label", { for: aliasName.id }, "Alias name"), aliasName),
    el("div", { className: "field grow" },
      el("label", { for: aliasModel.id }, "Alias of"), aliasModel),
    el("div", { className: "field" },
      el("label", { for: aliasTemperature.id }, "Alias temperature"), aliasTemperature),
    el("div", { className: "field" },
      el("label", { for: aliasMaxTokens.id }, "Alias max tokens"), aliasMaxTokens),
    addAliasButton);

  aliasForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = aliasName.value.trim();
    const parameters = {};
    if (aliasTemperature.value !== "") parameters.temperature = Number(aliasTemperature.value);
    if (aliasMaxTokens.value !== "") parameters.max_tokens = Math.round(Number(aliasMaxTokens.value));
    write(addAliasButton, "Saving…", async () => {
      await client.setAlias(name, aliasModel.value.trim(), parameters);
      aliasName.value = aliasModel.value = aliasTemperature.value = aliasMaxTokens.value = "";
    }, `Saved the alias ${name}.`);
  });

  function aliasRow(alias) {
    const remove = el("button", { type: "button", className: "danger", "data-write": "" },
      "Delete");
    remove.addEventListener("click", () => write(remove, "Deleting…",
      () => client.deleteAlias(alias.name), `Deleted the alias ${alias.name}.`));
    const parameters = Object.entries(alias.parameters || {})
      .map(([name, value]) => `${name} ${value}`).join(", ");
    return el("tr", { dataset: { alias: alias.name } },
      el("th", { scope: "row" }, alias.name),
      el("td", {}, alias.target),
      el("td", {}, parameters || "the model's own"),
      el("td", { className: "actions" }, remove));
  }

  // ---- visibility -------------------------------------------------------------------
  const providerSelect = el("select", { id: uniqueId("curation-provider") });
  const providerCount = el("p", { className: "curation-count", "aria-live": "polite" });
  const visibilityList = el("ul", { className: "visibility-list" });
  const showAllButton = el("button", { type: "button", "data-write": "" }, "Show all");
  const onlyCheckedButton = el("button", { type: "button", "data-write": "" },
    "Hide all but the ticked");
  const visibilityStatus = statusLine();
  const visibilityBox = el("div", { className: "visibility" },
    el("div", { className: "filter-bar" },
      el("div", { className: "field" },
        el("label", { for: providerSelect.id }, "Provider to curate"), providerSelect),
      providerCount, showAllButton, onlyCheckedButton),
    visibilityStatus.node, visibilityList);
  let counts = [];

  function renderProviders() {
    const current = providerSelect.value;
    const names = sortProviders(counts.map((entry) => entry.provider));
    const byName = new Map(counts.map((entry) => [entry.provider, entry]));
    replaceChildren(providerSelect, names.map((name) =>
      el("option", { value: name }, `${providerLabel(name)} (${countText(byName.get(name))})`)));
    providerSelect.value = byName.has(current) ? current : (names[0] || "");
    const entry = byName.get(providerSelect.value);
    providerCount.textContent = entry ? countText(entry) : "";
  }

  /** The chosen provider's models as toggles; whether they could be loaded. */
  async function loadProviderModels() {
    const provider = providerSelect.value;
    if (!provider) {
      visibilityList.replaceChildren();
      return true;
    }
    try {
      const catalog = await client.models({ provider, includeHidden: true });
      if (providerSelect.value !== provider) return true; // another provider was chosen since
      replaceChildren(visibilityList, catalog.models.map((model) => {
        const box = el("input", { type: "checkbox", value: model.id, "data-write": "",
                                  checked: !model.hidden });
        const notes = [model.withdrawn_at ? `withdrawn ${model.withdrawn_at.slice(0, 10)}` : "",
                       model.deprecation_date ? `deprecated ${model.deprecation_date}` : ""]
          .filter(Boolean).join(" · ");
        return el("li", {},
          el("label", { className: "visibility-option" }, box, el("code", {}, model.id),
            notes ? el("span", { className: "model-meta" }, notes) : null));
      }));
      visibilityStatus.clear();
      context.applyReadOnly();
      return true;
    } catch (error) {
      visibilityStatus.show("error", `Could not load the models: ${formatError(error)}`);
      return false;
    }
  }

  async function curate(change, message) {
    if (context.isReadOnly()) return;
    const provider = providerSelect.value;
    visibilityStatus.show("busy", "Saving…");
    try {
      const entry = await client.curate(provider, change);
      counts = counts.map((item) => (item.provider === provider ? entry : item));
      renderProviders();
      context.changed("visibility");
      // Told once the list is redrawn: the redraw clears the line (it was cleared at once).
      const [loaded] = await Promise.all([loadProviderModels(), loadPurposes()]);
      if (loaded) {
        visibilityStatus.show("ok", `${message} ${providerLabel(provider)}: ${countText(entry)}.`);
      }
    } catch (error) {
      visibilityStatus.show("error", `Not saved: ${formatError(error)}`);
      await loadProviderModels();
    }
  }

  visibilityList.addEventListener("change", (event) => {
    const box = event.target;
    if (box.type !== "checkbox") return;
    curate(box.checked ? { show: [box.value] } : { hide: [box.value] },
      box.checked ? `Shown ${box.value}.` : `Hidden ${box.value}.`);
  });
  showAllButton.addEventListener("click", () => curate({ show_all: true }, "Every model shown."));
  onlyCheckedButton.addEventListener("click", () => {
    const ticked = [...visibilityList.querySelectorAll("input:checked")].map((box) => box.value);
    curate({ only: ticked }, "Only the ticked models shown.");
  });
  providerSelect.addEventListener("change", () => {
    renderProviders();
    loadProviderModels();
  });

  const node = el("section", { className: "card", id: "settings-curation",
                               "aria-labelledby": "settings-curation-title" },
    el("h2", { id: "settings-curation-title" }, "Purposes, aliases and shown models"),
    el("p", { className: "lead" },
      "A default model per purpose (chat is the default model above), short names for "
      + "models with their own parameters, and the models each provider shows."),
    status.node, warningBox,
    el("h3", {}, "Purposes"),
    el("table", { className: "curation-table purposes-table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Purpose"),
        el("th", { scope: "col" }, "Model or alias"), el("th", { scope: "col" }, "Uses"),
        el("th", { scope: "col" }, el("span", { className: "visually-hidden" }, "Actions")))),
      purposeRows),
    purposeForm,
    el("h3", {}, "Aliases"),
    el("table", { className: "curation-table aliases-table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Alias"),
        el("th", { scope: "col" }, "Points at"), el("th", { scope: "col" }, "Parameters"),
        el("th", { scope: "col" }, el("span", { className: "visually-hidden" }, "Actions")))),
      aliasRows),
    aliasForm,
    el("h3", {}, "Shown models"),
    visibilityBox);

  async function loadPurposes() {
    const { purposes, warnings } = await client.purposes();
    replaceChildren(purposeRows, purposes.map(purposeRow));
    renderWarnings(warnings || []);
  }

  async function loadAliases() {
    const aliases = await client.aliases();
    replaceChildren(aliasRows, aliases.length ? aliases.map(aliasRow)
      : el("tr", {}, el("td", { colSpan: 4, className: "empty" }, "No aliases yet.")));
  }

  async function loadCounts() {
    const answer = await client.curation();
    counts = answer.providers || [];
    visibilityBox.hidden = !counts.length;
    if (answer.note) visibilityStatus.show("info", answer.note);
    renderProviders();
    await loadProviderModels();
  }

  /** Load everything; failures are shown in the section, not thrown. */
  async function load() {
    try {
      await Promise.all([loadPurposes(), loadAliases(), counts.length ? null : loadCounts()]);
      context.applyReadOnly();
    } catch (error) {
      status.show("error", `Could not load the purposes and aliases: ${formatError(error)}`);
    }
  }

  return { node, load };
}
