// Settings, models: filter thousands of models as you type, pick one (radio buttons), set
// its parameters with sliders bounded by the model, and save it as the default.

import { busyButton, debounce, el, replaceChildren, statusLine, uniqueId } from "./dom.js";
import { formatError, formatInteger, formatPricing, formatTokens } from "./format.js";
import { countByProvider, filterModels, indexModels } from "./model-index.js";
import { providerLabel, sortProviders } from "./providers.js";

// The status lines of Settings show one action's outcome at a time (dom.js).
const SETTINGS = "settings";

const PAGE_SIZE = 100;
const FILTER_DELAY_MS = 120;
const SLIDERS = [
  { name: "temperature", label: "Temperature", step: 0.01,
    hint: "Lower is more focused, higher more varied." },
  { name: "top_p", label: "Top P", step: 0.01,
    hint: "Sample only from the most likely tokens that add up to this probability." },
  { name: "max_tokens", label: "Max tokens", step: 1,
    hint: "The longest answer the model may give." },
];
const DEFAULTS = { temperature: 1, top_p: 1, max_tokens: 4096 };
const LABELS = Object.fromEntries(SLIDERS.map((spec) => [spec.name, spec.label]));

/**
 * Bounds to draw the sliders for a model that is not saved yet. They mirror the server's
 * rule (configapp.domain.parameter_bounds); the server checks every value again on Save,
 * and its own bounds replace these once the model is saved.
 */
function previewBounds(model) {
  return {
    temperature: { low: 0, high: model.provider === "anthropic" ? 1 : 2, integer: false },
    top_p: { low: 0, high: 1, integer: false },
    max_tokens: { low: 1, high: model.max_output_tokens || 4096, integer: true },
  };
}

function clamp(value, bound) {
  const number = Math.min(bound.high, Math.max(bound.low, Number(value)));
  return bound.integer ? Math.round(number) : Math.round(number * 100) / 100;
}

/**
 * The models section. context: { client, isReadOnly(), changed(what), hasKey(provider),
 * keySource(provider), isSupported(provider) }. Returns { node, load(), providersChanged() }.
 */
export function createModelsSection(context) {
  const { client } = context;
  const radioName = uniqueId("model");
  let index = [];
  let byId = new Map();
  let filtered = [];
  let limit = PAGE_SIZE;
  let selected = null; // the server's default: { model, parameters, bounds }
  let chosen = null; // the model whose radio is checked (saved or not)
  let saved = null; // parameters as last saved for `chosen`, to tell unsaved changes

  // ---- filter bar ---------------------------------------------------------------------
  const providerFilter = el("select", { id: uniqueId("model-provider") },
    el("option", { value: "" }, "All providers"));
  const search = el("input", { id: uniqueId("model-search"), type: "search",
                               placeholder: "gpt-4o, claude, gemini flash…",
                               autocomplete: "off", spellcheck: false });
  const onlyWithKey = el("input", { id: uniqueId("with-key"), type: "checkbox" });
  // The catalogue names providers configapp cannot chat with: shown only when asked.
  const showAll = el("input", { id: uniqueId("all-providers"), type: "checkbox" });
  const count = el("p", { className: "model-count", "aria-live": "polite" });
  const filterBar = el("div", { className: "filter-bar", role: "search" },
    el("div", { className: "field" },
      el("label", { for: providerFilter.id }, "Filter by provider"), providerFilter),
    el("div", { className: "field grow" },
      el("label", { for: search.id }, "Search models"), search),
    el("div", { className: "field check" }, onlyWithKey,
      el("label", { for: onlyWithKey.id }, "Only models with a key")),
    el("div", { className: "field check" }, showAll,
      el("label", { for: showAll.id }, "Also providers configapp cannot chat with")));

  // ---- list -------------------------------------------------------------------------
  const list = el("ul", { className: "model-list" });
  const listBox = el("fieldset", { className: "model-fieldset" },
    el("legend", { className: "visually-hidden" }, "Models"), list);
  const moreButton = el("button", { type: "button", className: "more" });
  moreButton.hidden = true;
  const listStatus = statusLine("", SETTINGS);

  // A row prototype, cloned for each model: far cheaper than building each from scratch.
  const prototype = el("li", { className: "model-row" },
    el("label", { className: "model-option" },
      el("input", { type: "radio", name: radioName }),
      el("span", { className: "model-text" },
        el("span", { className: "model-name" }),
        el("code", { className: "model-id" }),
        el("span", { className: "model-meta" })),
      el("span", { className: "key-badge" })));

  function modelRow(model) {
    const row = prototype.cloneNode(true);
    const label = row.firstChild;
    const [radio, text, badge] = label.children;
    const [name, id, meta] = text.children;
    radio.value = model.id;
    radio.checked = chosen !== null && chosen.id === model.id;
    name.textContent = model.display_name;
    id.textContent = model.id;
    meta.textContent = `${formatTokens(model.context_window)} · ${formatPricing(model)}`;
    const source = context.keySource(model.provider);
    badge.textContent = source === "database" ? "key" : source === "environment"
      ? "env key" : "no key";
    badge.className = `key-badge key-${source || "none"}`;
    badge.title = source ? `A ${source} key reaches ${providerLabel(model.provider)}`
      : `No key for ${providerLabel(model.provider)}: add one under API keys`;
    if (selected && selected.model.id === model.id) {
      row.classList.add("is-default");
      name.append(el("span", { className: "default-tag" }, "default"));
    }
    return row;
  }

  /** Draw the first `limit` matches; with `from`, only append the rows from there on. */
  function renderList(from = 0) {
    performance.mark("configapp:render-models:start");
    const fragment = document.createDocumentFragment();
    const shown = Math.min(limit, filtered.length);
    for (let i = from; i < shown; i += 1) fragment.append(modelRow(filtered[i]));
    if (from) list.append(fragment);
    else list.replaceChildren(fragment);
    const total = usableIndex().length;
    count.textContent = filtered.length === total
      ? `${formatInteger(total)} ${total === 1 ? "model" : "models"}`
      : `${formatInteger(filtered.length)} of ${formatInteger(total)} models match`;
    if (shown < filtered.length) count.textContent += `, showing the first ${formatInteger(shown)}`;
    if (!filtered.length && total) {
      list.append(el("li", { className: "empty" }, "No model matches. Try fewer words, "
        + "another provider, or untick “Only models with a key”."));
    }
    const rest = filtered.length - shown;
    moreButton.hidden = rest <= 0;
    moreButton.textContent = `Show ${formatInteger(Math.min(rest, PAGE_SIZE))} more `
      + `(${formatInteger(rest)} not shown)`;
    performance.measure("configapp:render-models", "configapp:render-models:start");
    performance.clearMarks("configapp:render-models:start");
  }

  /** The index the filters work on: without the toggle, only the providers configapp can
   * chat with (the server's providers list). */
  function usableIndex() {
    return showAll.checked ? index
      : index.filter((entry) => context.isSupported(entry.model.provider));
  }

  function applyFilter() {
    performance.mark("configapp:filter-models:start");
    filtered = filterModels(usableIndex(), {
      provider: providerFilter.value,
      query: search.value,
      onlyWithKey: onlyWithKey.checked,
      hasKey: context.hasKey,
      defaultId: selected ? selected.model.id : null,
    });
    limit = PAGE_SIZE;
    renderList();
    performance.measure("configapp:filter-models", "configapp:filter-models:start");
    performance.clearMarks("configapp:filter-models:start");
  }

  const filterSoon = debounce(applyFilter, FILTER_DELAY_MS);
  search.addEventListener("input", filterSoon);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      filterSoon.cancel();
      applyFilter();
    }
  });
  providerFilter.addEventListener("change", applyFilter);
  onlyWithKey.addEventListener("change", applyFilter);
  showAll.addEventListener("change", () => {
    renderProviderFilter();
    applyFilter();
  });
  moreButton.addEventListener("click", () => {
    const firstNew = Math.min(limit, filtered.length);
    limit += PAGE_SIZE;
    renderList(firstNew);
    const next = list.querySelectorAll("input[type=radio]")[firstNew];
    if (next) next.focus();
  });
  list.addEventListener("change", (event) => {
    if (event.target.name === radioName) choose(byId.get(event.target.value));
  });

  // ---- parameters -------------------------------------------------------------------
  const chosenTitle = el("h3", { id: uniqueId("chosen") }, "No model chosen");
  const chosenDetail = el("p", { className: "chosen-detail" });
  const controls = new Map();
  const sliderFields = SLIDERS.map((spec) => {
    const rangeId = uniqueId(spec.name);
    const hintId = uniqueId("hint");
    const range = el("input", { type: "range", id: rangeId, name: spec.name, step: spec.step,
                                "aria-describedby": hintId, "data-write": "" });
    const number = el("input", { type: "number", className: "number",
                                 step: spec.name === "max_tokens" ? 1 : "any",
                                 "aria-label": `${spec.label} value`,
                                 "aria-describedby": hintId, "data-write": "" });
    const bounds = el("span", { className: "bounds" });
    range.addEventListener("input", () => {
      number.value = range.value;
      markDirty();
    });
    number.addEventListener("input", () => {
      if (number.value !== "") range.value = number.value;
      markDirty();
    });
    controls.set(spec.name, { range, number, bounds, spec });
    return el("div", { className: "slider-field" },
      el("div", { className: "slider-head" },
        el("label", { for: rangeId }, spec.label), bounds),
      el("div", { className: "slider-row" }, range, number),
      el("small", { className: "hint", id: hintId }, spec.hint));
  });
  const saveButton = el("button", { type: "submit", className: "primary", "data-write": "" },
    "Save");
  const dirtyNote = el("span", { className: "dirty-note" }, "Unsaved changes");
  dirtyNote.hidden = true;
  const saveStatus = statusLine("", SETTINGS);
  const paramsForm = el("form", { className: "params card-inner",
                                  "aria-labelledby": chosenTitle.id },
    chosenTitle, chosenDetail,
    el("fieldset", { className: "sliders" },
      el("legend", {}, "Parameters"), sliderFields),
    el("div", { className: "form-actions" }, saveButton, dirtyNote),
    saveStatus.node);
  paramsForm.hidden = true;
  const noChoice = el("p", { className: "hint" },
    "Pick a model in the list to set its parameters and make it the default.");

  function boundsFor(model) {
    if (selected && selected.model.id === model.id && selected.bounds) return selected.bounds;
    return previewBounds(model);
  }

  function currentValues() {
    const values = {};
    for (const [name, { number, range, spec }] of controls) {
      const raw = number.value === "" ? range.value : number.value;
      values[name] = spec.name === "max_tokens" ? Math.round(Number(raw)) : Number(raw);
    }
    return values;
  }

  function markDirty() {
    const values = currentValues();
    const isDefault = selected && chosen && selected.model.id === chosen.id;
    const changed = !isDefault || !saved
      || Object.keys(values).some((name) => values[name] !== saved[name]);
    dirtyNote.hidden = !changed;
  }

  function choose(model) {
    if (!model) return;
    // Picking another model keeps the values on the sliders (within its bounds).
    const previous = paramsForm.hidden ? null : currentValues();
    chosen = model;
    const bounds = boundsFor(model);
    const isDefault = selected && selected.model.id === model.id;
    for (const [name, { range, number, bounds: boundsNode }] of controls) {
      const bound = bounds[name];
      range.min = number.min = bound.low;
      range.max = number.max = bound.high;
      const stored = isDefault && selected.parameters[name] !== undefined
        ? selected.parameters[name] : undefined;
      const wanted = stored ?? (previous ? previous[name] : undefined) ?? DEFAULTS[name];
      range.value = number.value = clamp(wanted, bound);
      boundsNode.textContent = `${formatInteger(bound.low)} – ${formatInteger(bound.high)}`;
    }
    saved = isDefault ? currentValues() : null;
    chosenTitle.textContent = model.display_name;
    replaceChildren(chosenDetail,
      el("code", {}, model.id), " · ", providerLabel(model.provider), " · ",
      formatTokens(model.context_window), " · ", formatPricing(model),
      isDefault ? el("span", { className: "default-tag" }, "default") : null);
    saveButton.textContent = isDefault ? "Save parameters" : "Save as default model";
    paramsForm.hidden = false;
    noChoice.hidden = true;
    saveStatus.clear();
    markDirty();
    context.applyReadOnly();
  }

  // A model no key reaches can be the default, but Chat cannot use it: say so first.
  let keylessAccepted = null;
  function warnNoKey(model) {
    const anyway = el("button", { type: "button" }, "Make it the default anyway");
    anyway.addEventListener("click", () => {
      keylessAccepted = model.id;
      paramsForm.requestSubmit();
    });
    saveStatus.show("info", `No key reaches ${providerLabel(model.provider)} yet: Chat cannot `
      + `use ${model.display_name} until one is added. `,
      el("a", { href: "#settings-keys" }, "Add a key"), " ", anyway);
    anyway.focus();
  }

  paramsForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen || context.isReadOnly() || !paramsForm.reportValidity()) return;
    const model = chosen;
    const values = currentValues();
    const changingDefault = !selected || selected.model.id !== model.id;
    if (changingDefault && !context.keySource(model.provider) && keylessAccepted !== model.id) {
      warnNoKey(model);
      return;
    }
    const done = busyButton(saveButton, "Saving…");
    saveStatus.show("busy", changingDefault
      ? `Making ${model.display_name} the default model…` : "Saving the parameters…");
    let step = "select";
    try {
      if (changingDefault) {
        selected = await client.selectModel(model.id);
        context.changed("model");
      }
      step = "parameters";
      selected = await client.setParameters(model.id, values);
      const summary = Object.entries(selected.parameters)
        .map(([name, value]) => `${LABELS[name] || name} ${value}`).join(", ");
      done();
      choose(byId.get(model.id) || selected.model);
      renderList();
      saveStatus.show("ok", `Saved: ${model.display_name} is the default model`
        + (summary ? ` (${summary}).` : "."));
      saveButton.focus(); // disabled while saving, it lost the focus
      context.changed("parameters");
    } catch (error) {
      done();
      const prefix = step === "select" ? "Not saved" : changingDefault
        ? `${model.display_name} is now the default, but its parameters were not saved`
        : "Parameters not saved";
      saveStatus.show("error", `${prefix}: ${formatError(error)}`);
      saveButton.focus();
      if (step === "parameters" && changingDefault) renderList();
    }
  });

  // What the curation says of the default model (hidden, withdrawn, no key...).
  const warningList = el("ul", { className: "curation-warnings" });
  const warningBox = el("div", { className: "banner banner-warning default-warnings",
                                 role: "status" },
    el("strong", {}, "The default model needs attention"), warningList);
  warningBox.hidden = true;

  function showWarnings(warnings) {
    warningBox.hidden = !warnings.length;
    replaceChildren(warningList, warnings.map((warning) => el("li", {
      dataset: { kind: warning.kind } }, `${warning.message} `,
    el("span", { className: "warning-action" }, warning.action))));
  }

  const node = el("section", { className: "card", id: "settings-models",
                               "aria-labelledby": "settings-models-title" },
    el("h2", { id: "settings-models-title" }, "Default model"),
    el("p", { className: "lead" },
      "The Playground and the extension use this model and these parameters."),
    warningBox,
    filterBar,
    el("div", { className: "models-layout" },
      el("div", { className: "models-column" }, count, listStatus.node, listBox, moreButton),
      el("div", { className: "params-column" }, noChoice, paramsForm)));

  function renderProviderFilter() {
    const shown = usableIndex();
    const counts = countByProvider(shown.map((entry) => entry.model));
    const current = providerFilter.value;
    replaceChildren(providerFilter,
      el("option", { value: "" }, `All providers (${formatInteger(shown.length)})`),
      sortProviders([...counts.keys()]).map((name) =>
        el("option", { value: name }, `${providerLabel(name)} (${formatInteger(counts.get(name))})`)));
    providerFilter.value = counts.has(current) ? current : "";
  }

  /** Load the catalogue and the default model; draw them once `ready` (the providers). */
  async function load(ready = Promise.resolve()) {
    listStatus.show("busy", "Loading the model catalogue…");
    try {
      const [catalog, current] = await Promise.all([client.models(), client.selectedModel(),
                                                    ready]);
      index = indexModels(catalog.models);
      byId = new Map(catalog.models.map((model) => [model.id, model]));
      selected = current;
      listStatus.clear();
      if (catalog.note) {
        listStatus.show("info", catalog.note);
      } else if (catalog.source && catalog.source !== "litellm") {
        listStatus.show("info", "The full catalogue could not be read: showing a short "
          + "built-in list.");
      }
      renderProviderFilter();
      if (selected) {
        choose(byId.get(selected.model.id) || selected.model);
      }
      applyFilter();
    } catch (error) {
      listStatus.show("error", `Could not load the models: ${formatError(error)}`);
    }
  }

  function providersChanged() {
    if (!index.length) return;
    renderProviderFilter();
    if (onlyWithKey.checked) applyFilter();
    else renderList();
  }

  return { node, load, providersChanged, showWarnings };
}
