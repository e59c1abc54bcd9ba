// Settings, API keys: add a key (tested first if asked: a failing key is saved inactive),
// list the stored ones (masked), edit one in place, (de)activate, test, delete, and where
// each provider's effective key comes from.

import { busyButton, el, replaceChildren, statusLine, uniqueId } from "./dom.js";
import { formatDateTime, formatError, formatRelative } from "./format.js";
import { POPULAR_PROVIDERS, keySourceText, providerLabel, sortProviders } from "./providers.js";

// The status lines of Settings show one action's outcome at a time (dom.js).
const SETTINGS = "settings";

const RESULT_LABELS = {
  valid: "Valid",
  invalid_key: "Invalid key",
  forbidden: "Forbidden",
  rate_limited: "Rate limited",
  unreachable: "Unreachable",
  bad_base_url: "Bad base URL",
  provider_error: "Provider error",
};

function field(labelText, control, hint) {
  const hintNode = hint ? el("small", { className: "hint", id: uniqueId("hint") }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return el("div", { className: "field" },
    el("label", { for: control.id }, labelText), control, hintNode);
}

/** A Show/Hide button after a password field, to check what was pasted. */
function withShowHide(fieldNode, input) {
  const toggle = el("button", { type: "button", className: "quiet show-hide",
                                "aria-controls": input.id }, "Show key");
  toggle.addEventListener("click", () => {
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    toggle.textContent = show ? "Hide key" : "Show key";
  });
  const wrapper = el("div", { className: "secret-input" });
  input.replaceWith(wrapper);
  wrapper.append(input, toggle);
  return fieldNode;
}

function timeNode(iso, fallback) {
  if (!iso) return el("span", {}, fallback);
  return el("time", { dateTime: iso, title: formatDateTime(iso) }, formatRelative(iso));
}

/**
 * The API keys section. context: { client, isReadOnly(), changed(what) }.
 * Returns { node, setProviders(providers), load(), applyReadOnly() }.
 */
export function createKeysSection(context) {
  const { client } = context;
  let providers = [];
  let keys = [];
  let loaded = false;

  const providerSelect = el("select", { id: uniqueId("provider"), name: "provider",
                                        required: true, "data-write": "" });
  const nameInput = el("input", { id: uniqueId("key-name"), name: "key_name", type: "text",
                                  maxLength: 100, autocomplete: "off",
                                  placeholder: "e.g. personal, team", "data-write": "" });
  const keyInput = el("input", { id: uniqueId("api-key"), name: "api_key", type: "password",
                                 required: true, minLength: 8, maxLength: 1000,
                                 autocomplete: "off", spellcheck: false,
                                 autocapitalize: "off", placeholder: "sk-…",
                                 "data-write": "" });
  const baseInput = el("input", { id: uniqueId("api-base"), name: "api_base", type: "url",
                                  maxLength: 2048, autocomplete: "off",
                                  placeholder: "https://my-server.example/v1",
                                  "data-write": "" });
  // Offered, and ticked by itself once a base URL is typed (the likeliest to be wrong).
  const testAfter = el("input", { type: "checkbox", id: uniqueId("test-after"),
                                  "data-write": "" });
  let testAfterTouched = false;
  testAfter.addEventListener("change", () => { testAfterTouched = true; });
  baseInput.addEventListener("input", () => {
    if (!testAfterTouched) testAfter.checked = Boolean(baseInput.value.trim());
  });
  const addButton = el("button", { type: "submit", className: "primary", "data-write": "" },
    "Add key");
  const formStatus = statusLine("", SETTINGS);
  const form = el("form", { className: "key-form", "aria-label": "Add an API key" },
    field("Provider", providerSelect),
    field("Key name (optional)", nameInput),
    withShowHide(field("API key", keyInput,
      "Stored encrypted; never shown again, only its last four characters."), keyInput),
    field("Base URL (optional)", baseInput,
      "Only for OpenAI-compatible servers (vLLM, LM Studio, a proxy)."),
    el("div", { className: "form-actions" }, addButton,
      el("span", { className: "field check" }, testAfter,
        el("label", { for: testAfter.id }, "Test the key as soon as it is added"))),
    formStatus.node);

  const sourcesList = el("ul", { className: "source-list" });
  const listStatus = statusLine("", SETTINGS); // what happened to the list (a key deleted)
  const loadStatus = statusLine("", SETTINGS); // loading it, or why it could not be loaded
  // Per key: the last outcome and test result, kept across re-renders of the list.
  const notes = new Map();
  const testResults = new Map();
  // Where the focus goes once the list is redrawn after an action: { keyId, control }.
  let focusAfterRender = null;
  const keyList = el("ul", { className: "key-list", "aria-label": "Stored API keys" });

  const node = el("section", { className: "card", id: "settings-keys",
                               "aria-labelledby": "settings-keys-title" },
    el("h2", { id: "settings-keys-title" }, "API keys"),
    el("p", { className: "lead" },
      "Keys are stored encrypted on the server. The active key of a provider is the one "
      + "used; without one, the provider's environment variable is used if set."),
    form,
    el("h3", {}, "Where each provider's key comes from"),
    sourcesList,
    el("h3", {}, "Stored keys"),
    loadStatus.node,
    listStatus.node,
    keyList);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (context.isReadOnly() || !form.reportValidity()) return;
    const provider = providerSelect.value;
    const body = { provider, api_key: keyInput.value.trim(), key_name: nameInput.value.trim(),
                   api_base: baseInput.value.trim() || null, test: testAfter.checked };
    const done = busyButton(addButton, "Adding…");
    formStatus.show("busy", `Adding the ${providerLabel(provider)} key…`);
    try {
      const added = await client.addKey(body);
      body.api_key = "";
      keyInput.value = ""; // stored: the plaintext leaves the page for good
      keyInput.type = "password";
      nameInput.value = "";
      baseInput.value = "";
      notes.clear(); // a redrawn card's old note would replace this news
      showAdded(added);
      await context.changed("keys");
    } catch (error) {
      body.api_key = "";
      // The key stays in its field, to correct it rather than paste it again.
      formStatus.show("error", `Not added: ${formatError(error)}`);
      keyInput.focus();
    } finally {
      done();
      context.applyReadOnly();
    }
  });

  /** What became of an added key. Tested on adding (the server tests it before it may
   * replace the provider's active key), a failure is said at once, with what to do. */
  function showAdded(added) {
    const what = `Added ${added.masked_key} for ${providerLabel(added.provider)}`;
    const test = added.test;
    if (test) testResults.set(added.id, test);
    if (!test || test.ok) {
      formStatus.show("ok", `${what}${added.is_active ? ": it is now the active key." : "."}`
        + (test ? " The test passed." : ""));
      return;
    }
    const anyway = el("button", { type: "button", className: "quiet", "data-write": "" },
      "Make it active anyway");
    anyway.addEventListener("click", async () => {
      const done = busyButton(anyway, "Activating…");
      try {
        await client.updateKey(added.id, { is_active: true });
        notes.clear();
        formStatus.show("ok", `${added.masked_key} is now the active `
          + `${providerLabel(added.provider)} key, although its test failed.`);
        await context.changed("keys");
      } catch (error) {
        done();
        formStatus.show("error", `Not activated: ${formatError(error)}`);
      }
    });
    formStatus.show("error", `${what}, but the test failed: ${test.message || test.result}`
      + " It was saved inactive, so the provider's active key (if any) stays in use."
      + " Edit it below to correct it, or ", anyway, ".");
  }

  function renderProviderOptions() {
    const previous = providerSelect.value || "openai";
    const names = sortProviders(providers.map((provider) => provider.name));
    const popular = names.filter((name) => POPULAR_PROVIDERS.includes(name));
    const others = names.filter((name) => !POPULAR_PROVIDERS.includes(name));
    const option = (name) => el("option", { value: name }, providerLabel(name));
    replaceChildren(providerSelect,
      el("optgroup", { label: "Popular" }, popular.map(option)),
      el("optgroup", { label: "Other providers" }, others.map(option)));
    providerSelect.value = names.includes(previous) ? previous : names[0] || "";
  }

  function renderSources() {
    const shown = providers.filter((provider) =>
      POPULAR_PROVIDERS.includes(provider.name) || provider.key_source);
    const items = sortProviders(shown.map((p) => p.name)).map((name) => {
      const provider = shown.find((p) => p.name === name);
      const hint = provider.key_source === "environment"
        ? el("small", { className: "hint" },
          ` Add the key above to keep it encrypted here and manage it in one place; the `
          + `environment variable is the old way.`)
        : null;
      return el("li", { className: `source source-${provider.key_source || "none"}`,
                        dataset: { provider: name } },
        el("span", { className: "source-provider" }, providerLabel(name)),
        el("span", { className: "source-value" }, keySourceText(provider)),
        hint);
    });
    replaceChildren(sourcesList, items);
  }

  function renderKeys() {
    if (!keys.length) {
      replaceChildren(keyList, el("li", { className: "empty" },
        "No keys stored yet. Add one above."));
      restoreFocus();
      return;
    }
    replaceChildren(keyList, keys.map(keyCard));
    context.applyReadOnly();
    restoreFocus();
  }

  /** After a redraw, put the focus back on the control the action started from. */
  function restoreFocus() {
    const wanted = focusAfterRender;
    focusAfterRender = null;
    if (!wanted) return;
    const card = keyList.querySelector(`[data-key-id="${wanted.keyId}"]`)
      || keyList.querySelector(".key-card");
    const target = card && card.querySelector(wanted.control);
    (target || keyInput).focus();
  }

  function keyCard(key) {
    const resultArea = el("div", { className: "test-result", "aria-live": "polite" });
    resultArea.hidden = true;
    const status = statusLine("row-status", SETTINGS);
    const rowStatus = {
      show(kind, text) {
        notes.clear(); // one outcome at a time: the latest action's
        notes.set(key.id, { kind, text });
        status.show(kind, text);
      },
      clear() {
        notes.delete(key.id);
        status.clear();
      },
    };
    if (notes.has(key.id)) status.show(notes.get(key.id).kind, notes.get(key.id).text);
    if (testResults.has(key.id)) showTestResult(resultArea, testResults.get(key.id));
    const activeId = uniqueId("active");
    const activeToggle = el("input", { type: "checkbox", id: activeId, role: "switch",
                                       className: "switch", checked: key.is_active,
                                       "data-write": "" });
    const testButton = el("button", { type: "button", "data-write": "" }, "Test connection");
    const editButton = el("button", { type: "button", className: "edit-key", "data-write": "",
                                      "aria-expanded": "false" }, "Edit");
    const deleteButton = el("button", { type: "button", className: "danger", "data-write": "" },
      "Delete");
    const actions = el("div", { className: "key-actions" },
      el("span", { className: "toggle" }, activeToggle,
        el("label", { for: activeId }, "Active")),
      editButton, testButton, deleteButton);
    const name = key.key_name || "(no name)";
    const card = el("li", { className: `key-card${key.is_active ? "" : " inactive"}`,
                            dataset: { keyId: key.id, provider: key.provider } },
      el("div", { className: "key-head" },
        el("span", { className: "provider-tag" }, providerLabel(key.provider)),
        el("span", { className: "key-name" }, name),
        el("code", { className: "masked-key", "aria-label": "masked key" }, key.masked_key)),
      el("dl", { className: "key-meta" },
        el("dt", {}, "Created"), el("dd", {}, timeNode(key.created_at, "unknown")),
        // A client that does not know (an offline cache) leaves last_used_at out.
        el("dt", {}, "Last used"), el("dd", {}, timeNode(key.last_used_at,
          key.last_used_at === undefined ? "unknown" : "never")),
        key.api_base ? [el("dt", {}, "Base URL"), el("dd", {}, el("code", {}, key.api_base))]
          : null),
      actions, status.node, resultArea);

    activeToggle.addEventListener("change", async () => {
      const wanted = activeToggle.checked;
      activeToggle.disabled = true;
      rowStatus.show("busy", wanted ? "Activating…" : "Deactivating…");
      try {
        await client.updateKey(key.id, { is_active: wanted });
        notes.clear();
        notes.set(key.id, { kind: "ok", text: wanted ? "Active." : "Inactive." });
        focusAfterRender = { keyId: key.id, control: "input.switch" };
        await context.changed("keys"); // the redrawn card shows the note
      } catch (error) {
        activeToggle.checked = !wanted;
        activeToggle.disabled = false;
        rowStatus.show("error", `Not changed: ${formatError(error)}`);
        activeToggle.focus();
      }
    });

    testButton.addEventListener("click", async () => {
      const done = busyButton(testButton, "Testing…");
      resultArea.hidden = true;
      testResults.delete(key.id);
      rowStatus.show("busy", `Asking ${providerLabel(key.provider)} whether the key works…`);
      try {
        const result = await client.testKey(key.id);
        rowStatus.clear();
        testResults.set(key.id, result);
        showTestResult(resultArea, result);
      } catch (error) {
        rowStatus.show("error", `The test could not run: ${formatError(error)}`);
      } finally {
        done();
        // The busy button was disabled, which drops the focus: give it back.
        if (!document.activeElement || document.activeElement === document.body) {
          testButton.focus();
        }
      }
    });

    deleteButton.addEventListener("click", () => confirmDelete(actions, key, rowStatus));
    editButton.addEventListener("click", () => openEditor(card, actions, editButton, key));
    return card;
  }

  /** Edit in place: the name, the base URL, and a new secret (left empty, it stays; a new
   * base URL needs it). The server checks them as on adding; the id, budgets and ledger
   * stay. */
  function openEditor(card, actions, editButton, key) {
    const name = el("input", { id: uniqueId("edit-name"), type: "text", maxLength: 100,
                               autocomplete: "off", value: key.key_name || "" });
    const base = el("input", { id: uniqueId("edit-base"), type: "url", maxLength: 2048,
                               autocomplete: "off", value: key.api_base || "",
                               placeholder: "https://my-server.example/v1" });
    const secret = el("input", { id: uniqueId("edit-secret"), type: "password",
                                 minLength: 8, maxLength: 1000, autocomplete: "off",
                                 spellcheck: false, autocapitalize: "off",
                                 placeholder: "leave empty to keep the current key" });
    const save = el("button", { type: "submit", className: "primary", "data-write": "" },
      "Save changes");
    const cancel = el("button", { type: "button" }, "Cancel");
    const status = statusLine("", SETTINGS);
    const editor = el("form", { className: "key-form key-editor",
                                "aria-label": `Edit ${key.masked_key}` },
      field("Key name", name),
      field("Base URL (optional)", base),
      withShowHide(field("Replace the secret (optional)", secret,
        `Now ${key.masked_key}. A new one is stored encrypted in its place; a new base URL `
        + "needs it entered again."), secret),
      el("div", { className: "form-actions" }, save, cancel),
      status.node);
    actions.hidden = true;
    editButton.setAttribute("aria-expanded", "true");
    actions.after(editor);
    name.focus();
    const close = () => {
      editor.remove();
      actions.hidden = false;
      editButton.setAttribute("aria-expanded", "false");
      editButton.focus();
    };
    cancel.addEventListener("click", close);
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
    editor.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (context.isReadOnly() || !editor.reportValidity()) return;
      const changes = {};
      if (name.value.trim() !== (key.key_name || "")) changes.key_name = name.value.trim();
      if (base.value.trim() !== (key.api_base || "")) changes.api_base = base.value.trim() || null;
      if (secret.value.trim()) changes.api_key = secret.value.trim();
      if (changes.api_base !== undefined && changes.api_key === undefined) {
        status.show("error", "Enter the key again to change its base URL: a saved key is "
          + "never sent to a new address without it.");
        secret.focus();
        return;
      }
      if (!Object.keys(changes).length) {
        close();
        return;
      }
      const done = busyButton(save, "Saving…");
      status.show("busy", "Saving…");
      try {
        const saved = await client.updateKey(key.id, changes);
        changes.api_key = "";
        secret.value = ""; // stored: the plaintext leaves the page for good
        notes.clear();
        notes.set(key.id, { kind: "ok", text: `Saved: ${saved.masked_key}`
          + (saved.api_base ? ` at ${saved.api_base}.` : ".")
          + (changes.api_key !== undefined || changes.api_base !== undefined
            ? " Test it to check it works." : "") });
        testResults.delete(key.id);
        focusAfterRender = { keyId: key.id, control: "button.edit-key" };
        await context.changed("keys");
      } catch (error) {
        changes.api_key = "";
        done();
        status.show("error", `Not saved: ${formatError(error)}`);
      }
    });
  }

  function confirmDelete(actions, key, rowStatus) {
    const yes = el("button", { type: "button", className: "danger", "data-write": "" },
      "Delete for good");
    const no = el("button", { type: "button" }, "Cancel");
    const question = el("div", { className: "confirm", role: "group",
                                 "aria-label": "Confirm deletion" },
      el("span", {}, `Delete ${key.masked_key} (${providerLabel(key.provider)})? `
        + "This cannot be undone."),
      yes, no);
    actions.hidden = true;
    actions.after(question);
    no.focus();
    const cancel = () => {
      question.remove();
      actions.hidden = false;
      actions.querySelector("button.danger").focus();
    };
    no.addEventListener("click", cancel);
    question.addEventListener("keydown", (event) => {
      if (event.key === "Escape") cancel();
    });
    yes.addEventListener("click", async () => {
      const done = busyButton(yes, "Deleting…");
      no.disabled = true;
      rowStatus.show("busy", "Deleting…");
      try {
        await client.deleteKey(key.id);
        notes.clear();
        testResults.delete(key.id);
        listStatus.show("ok", `Deleted ${key.masked_key} (${providerLabel(key.provider)}).`);
        // The next key's Delete, or the key field when none is left.
        focusAfterRender = { keyId: null, control: "button.danger" };
        await context.changed("keys");
      } catch (error) {
        done();
        no.disabled = false;
        rowStatus.show("error", `Not deleted: ${formatError(error)}`);
      }
    });
  }

  function showTestResult(area, result) {
    const kind = result.result || (result.ok ? "valid" : "provider_error");
    const facts = [
      typeof result.status_code === "number" ? `HTTP ${result.status_code}` : null,
      typeof result.latency_ms === "number" ? `${Math.round(result.latency_ms)} ms` : null,
      typeof result.model_count === "number" ? `${result.model_count} models` : null,
    ].filter(Boolean).join(" · ");
    area.className = `test-result ${result.ok ? "test-ok" : "test-failed"}`;
    area.dataset.result = kind;
    replaceChildren(area,
      el("strong", { className: "result-class" }, RESULT_LABELS[kind] || kind),
      result.message ? el("span", { className: "result-message" }, ` ${result.message}`) : null,
      facts ? el("span", { className: "result-facts" }, ` (${facts})`) : null);
    area.hidden = false;
  }

  async function load() {
    if (!loaded) loadStatus.show("busy", "Loading keys…");
    try {
      keys = await client.listKeys();
      loadStatus.clear();
      loaded = true;
    } catch (error) {
      loadStatus.show("error", `Could not load the keys: ${formatError(error)}`);
      keys = [];
    }
    renderKeys();
  }

  function setProviders(list) {
    providers = list;
    renderProviderOptions();
    renderSources();
  }

  return { node, load, setProviders };
}
