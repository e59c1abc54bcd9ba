// The Settings page's "Clients" section: the tokens that let other tools (the openai SDK,
// Open WebUI, an IDE) call configapp's OpenAI-compatible /v1 with these keys, curation and
// budgets. Create one (a name, optionally the models it may use and its own monthly limit),
// copy its token (shown this once: the server keeps only its hash), see each client's
// spending this month, revoke one. It runs in the Playground's Settings page; it reads no
// location, sets no globals and stores nothing (the token lives only in this section's DOM
// until dismissed).

import { busyButton, el, replaceChildren, statusLine, uniqueId } from "./dom.js";
import { formatError } from "./format.js";
import { formatDollars } from "./usage-section.js";

/** Copy to the clipboard; false where the page may not. */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

function describe(client) {
  const models = client.models ? client.models.join(", ") : "every model";
  const limit = client.monthly_limit === null ? "no limit of its own"
    : `limit ${formatDollars(client.monthly_limit)} a month`;
  return `${models}; ${limit}; ${formatDollars(client.spent)} spent this month`;
}

/**
 * createClientsSection({ client }) -> { node, load() }
 * client: createApiClient's result (its json(method, path, options) is used).
 */
export function createClientsSection({ client }) {
  const status = statusLine();
  const list = el("ul", { className: "client-list" });

  const name = el("input", { id: uniqueId("client-name"), required: true, maxLength: 64,
                             autocomplete: "off", spellcheck: false, placeholder: "open-webui" });
  const models = el("input", { id: uniqueId("client-models"), autocomplete: "off",
                               spellcheck: false, placeholder: "openai/gpt-4o-mini, fast",
                               "aria-describedby": "client-models-hint" });
  const limit = el("input", { id: uniqueId("client-limit"), type: "number", min: "0.000001",
                              step: "any", placeholder: "10" });
  const formStatus = statusLine();
  const create = el("button", { type: "submit", className: "primary", "data-write": true },
    "Create client");
  const form = el("form", { className: "client-form", onsubmit: save },
    el("div", { className: "field" }, el("label", { for: name.id }, "Client name"), name),
    el("div", { className: "field" },
      el("label", { for: models.id }, "Models it may use (optional)"), models,
      el("p", { className: "hint", id: "client-models-hint" },
        "Model ids or aliases, separated by commas; empty: every model.")),
    el("div", { className: "field" },
      el("label", { for: limit.id }, "Its monthly limit in $ (optional)"), limit),
    el("div", { className: "form-actions" }, create),
    formStatus.node);

  const token = el("code", { className: "client-token" });
  const copyLabel = el("span", {}, "Copy token");
  const copy = el("button", { type: "button" }, copyLabel);
  const dismiss = el("button", { type: "button", className: "quiet" }, "Done, hide it");
  const reveal = el("div", { className: "banner client-token-panel", role: "region",
                             "aria-label": "The new client's token" },
    el("p", {}, el("strong", {}, "Copy this token now: it is shown only once. "),
      "configapp keeps only its hash. Use it as the API key of the tool, with the base URL "
      + "of this server followed by /v1."),
    token, el("div", { className: "form-actions" }, copy, dismiss));
  reveal.hidden = true;

  copy.addEventListener("click", async () => {
    copyLabel.textContent = await copyText(token.textContent) ? "Copied" : "Copy failed: "
      + "select the token and copy it";
  });
  dismiss.addEventListener("click", () => {
    reveal.hidden = true;
    token.textContent = "";
    name.focus();
  });

  const node = el("section", { className: "card", id: "settings-clients",
                               "aria-labelledby": "settings-clients-title" },
    el("h2", { id: "settings-clients-title" }, "Clients"),
    el("p", { className: "lead" }, "A client token lets another tool (the openai SDK, "
      + "Open WebUI, an IDE assistant) call this server's OpenAI-compatible /v1 with these "
      + "keys, hidden models, aliases and budgets."),
    reveal, status.node, list, el("h3", {}, "New client"), form);

  function draw(clients) {
    replaceChildren(list, clients.length ? clients.map((one) => {
      const revoke = el("button", { type: "button", className: "danger", "data-write": true },
        "Revoke");
      const actions = el("div", { className: "client-actions" }, revoke);
      const item = el("li", { className: "client" },
        el("strong", {}, one.name), " ", el("span", { className: "hint" }, describe(one)),
        actions);
      revoke.addEventListener("click", () => confirmRevoke(actions, one));
      return item;
    }) : el("li", { className: "hint" }, "No clients yet."));
  }

  function confirmRevoke(actions, one) {
    const yes = el("button", { type: "button", className: "danger", "data-write": true },
      "Revoke for good");
    const no = el("button", { type: "button" }, "Cancel");
    const question = el("div", { className: "confirm", role: "group",
                                 "aria-label": "Confirm revocation" },
      el("span", {}, `Revoke ${one.name}? Its token stops working at once. `), yes, no);
    actions.hidden = true;
    actions.after(question);
    no.focus();
    no.addEventListener("click", () => {
      question.remove();
      actions.hidden = false;
      actions.querySelector("button").focus();
    });
    yes.addEventListener("click", async () => {
      const done = busyButton(yes, "Revoking…");
      try {
        await client.json("DELETE", `/api/config/clients/${one.id}`);
        status.show("ok", `Revoked ${one.name}.`);
        await load();
      } catch (error) {
        done();
        status.show("error", `Not revoked: ${formatError(error)}`);
      }
    });
  }

  async function load() {
    try {
      draw(await client.json("GET", "/api/config/clients"));
    } catch (error) {
      status.show("error", `Could not load the clients: ${formatError(error)}`);
    }
  }

  async function save(event) {
    event.preventDefault();
    const body = { name: name.value.trim() };
    const named = models.value.split(",").map((part) => part.trim()).filter(Boolean);
    if (named.length) body.models = named;
    if (limit.value) body.monthly_limit = Number(limit.value);
    const done = busyButton(create, "Creating…");
    try {
      const made = await client.json("POST", "/api/config/clients", { body });
      token.textContent = made.token;
      copyLabel.textContent = "Copy token";
      reveal.hidden = false;
      formStatus.show("ok", `Created ${made.name}.`);
      name.value = "";
      models.value = "";
      limit.value = "";
      await load();
      copy.focus();
    } catch (error) {
      formStatus.show("error", formatError(error));
    } finally {
      done();
    }
  }

  return { node, load };
}
