// Settings, curation: the warnings about models going away, a default model per purpose,
// aliases, and which of each provider's models are shown. Like the other sections it runs
// in the Playground and, copied, in the extension: it knows only the client it is given
// (no location, no storage, no globals).

import { busyButton, el, replaceChildren, statusLine, uniqueId } from "./dom.js";
import { formatError, formatInteger } from "./format.js";
import { providerLabel, sortProviders } from "./providers.js";

// The status lines of Settings show one action's outcome at a time (dom.js).
const SETTINGS = "settings";

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

/** "a, b" -> ["a", "b"]: a fallbacks field's model ids or aliases, in order. */
export function fallbackList(text) {
  return text.split(",").map((name) => name.trim()).filter(Boolean);
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
  const status = statusLine("", SETTINGS);

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
    const fallbacks = el("input", { type: "text", value: (purpose.fallbacks || []).join(", "),
                                    "aria-label": `Fallbacks for the purpose ${purpose.name}`,
                                    placeholder: "fallbacks, comma-separated",
                                    spellcheck: false, "data-write": "" });
    const save = el("button", { type: "button", "data-write": "" }, "Set");
    const clear = el("button", { type: "button", className: "danger", "data-write": "" },
      purpose.builtin ? "Unset" : "Remove");
    // The chat purpose is the default model: the models section redraws after it.
    const what = purpose.name === "chat" ? "default-purpose" : "curation";
    save.addEventListener("click", () => write(save, "Saving…",
      () => client.setPurpose(purpose.name, input.value.trim(), fallbackList(fallbacks.value)),
      `The purpose ${purpose.name} now uses ${input.value.trim()}.`, what));
    clear.addEventListener("click", () => write(clear, "Removing…",
      () => client.clearPurpose(purpose.name),
      `The purpose ${purpose.name} has no model now: chat refuses it (409).`, what));
    const model = purpose.model
      ? `${purpose.model.id}${purpose.alias ? ` (alias ${purpose.alias})` : ""}` : "none";
    return el("tr", { dataset: { purpose: purpose.name } },
      el("th", { scope: "row" }, purpose.name),
      el("td", { "data-label": "Model or alias" }, input, fallbacks),
      el("td", { className: "resolved", "data-label": "Uses" }, model),
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
  const aliasFallbacks = el("input", { type: "text", id: uniqueId("alias-fallbacks"),
                                       placeholder: "openai/gpt-4o-mini, other-alias",
                                       autocomplete: "off", spellcheck: false,
                                       "data-write": "" });
  const addAliasButton = el("button", { type: "submit", "data-write": "" }, "Save alias");
  const aliasForm = el("form", { className: "inline-form" },
    el("div", { className: "field" }, el("label", { for: aliasName.id }, "Alias name"), aliasName),
    el("div", { className: "field grow" },
      el("label", { for: aliasModel.id }, "Alias of"), aliasModel),
    el("div", { className: "field" },
      el("label", { for: aliasTemperature.id }, "Alias temperature"), aliasTemperature),
    el("div", { className: "field" },
      el("label", { for: aliasMaxTokens.id }, "Alias max tokens"), aliasMaxTokens),
    el("div", { className: "field grow" },
      el("label", { for: aliasFallbacks.id }, "Alias fallbacks"), aliasFallbacks),
    addAliasButton);

  aliasForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = aliasName.value.trim();
    const parameters = {};
    if (aliasTemperature.value !== "") parameters.temperature = Number(aliasTemperature.value);
    if (aliasMaxTokens.value !== "") parameters.max_tokens = Math.round(Number(aliasMaxTokens.value));
    write(addAliasButton, "Saving…", async () => {
      await client.setAlias(name, aliasModel.value.trim(), parameters,
                            fallbackList(aliasFallbacks.value));
      aliasName.value = aliasModel.value = aliasTemperature.value = aliasMaxTokens.value = "";
      aliasFallbacks.value = "";
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
      el("td", { "data-label": "Points at" }, alias.fallbacks && alias.fallbacks.length
        ? `${alias.target}, then ${alias.fallbacks.join(", ")}` : alias.target),
      el("td", { "data-label": "Parameters" }, parameters || "the model's own"),
      el("td", { className: "actions" }, remove));
  }

  // ---- visibility -------------------------------------------------------------------
  const providerSelect = el("select", { id: uniqueId("curation-provider") });
  const providerCount = el("p", { className: "curation-count", "aria-live": "polite" });
  const visibilityList = el("ul", { className: "visibility-list" });
  const showAllButton = el("button", { type: "button", "data-write": "" }, "Show all");
  const onlyCheckedButton = el("button", { type: "button", "data-write": "" },
    "Hide all but the ticked");
  const visibilityStatus = statusLine("", SETTINGS);
  const visibilityBox = el("div", { className: "visibility" },
    el("div", { className: "filter-bar" },
      el("div", { className: "field" },
        el("label", { for: providerSelect.id }, "Provider to curate"), providerSelect),
      providerCount, showAllButton, onlyCheckedButton),
    visibilityStatus.node, visibilityList);
  let counts = [];
  // model id -> the warnings of the purposes and aliases a hidden model leaves without it.
  let hiddenUses = new Map();

  /** "the default model (purpose chat)", "the purpose title", "the alias fast". */
  function useText(warning) {
    if (warning.source === "purpose" && warning.name === "chat") {
      return "the default model (purpose chat)";
    }
    return `the ${warning.source} ${warning.name}`;
  }

  /** A warning beside a hidden model's toggle: what hiding it broke. */
  function toggleWarning(modelId, id) {
    const uses = hiddenUses.get(modelId);
    if (!uses) return null;
    return el("span", { className: "toggle-warning", id },
      `Hidden, but ${uses.map(useText).join(", ")} uses it: chat refuses it.`);
  }

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
        const warning = model.hidden ? toggleWarning(model.id, uniqueId("hidden-use")) : null;
        if (warning) box.setAttribute("aria-describedby", warning.id);
        return el("li", { dataset: { model: model.id } },
          el("label", { className: "visibility-option" }, box, el("code", {}, model.id),
            notes ? el("span", { className: "model-meta" }, notes) : null),
          warning);
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
      await loadPurposes(); // first: the toggles show what hiding broke
      const loaded = await loadProviderModels();
      if (loaded) {
        const broken = (change.hide || change.only ? [...hiddenUses.entries()] : [])
          .filter(([model]) => !change.only || !change.only.includes(model))
          .filter(([model]) => !change.hide || change.hide.includes(model))
          .flatMap(([model, uses]) => uses.map((use) => `${useText(use)} uses ${model}`));
        if (broken.length) {
          visibilityStatus.show("info", `${message} But ${broken.join("; ")}: chat refuses `
            + "it until the model is shown again or another model is chosen.");
        } else {
          visibilityStatus.show("ok", `${message} ${providerLabel(provider)}: `
            + `${countText(entry)}.`);
        }
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
    hiddenUses = new Map();
    for (const warning of warnings || []) {
      if (warning.kind !== "hidden" || !warning.model) continue;
      hiddenUses.set(warning.model, [...(hiddenUses.get(warning.model) || []), warning]);
    }
    if (context.warningsChanged) context.warningsChanged(warnings || []);
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
