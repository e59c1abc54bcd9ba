// The Playground's Settings page: mounts the shared Settings UI with the page's client.

import { playgroundClient } from "./playground-client.js";
import { mountSignOut } from "./session.js";
import { mountSettings } from "./settings-ui.js";
import { createClientsSection } from "./clients-section.js";
import { createUsageSection } from "./usage-section.js";

mountSignOut(document.getElementById("sign-out"));

const client = playgroundClient();
const section = (name) => document.getElementById(`section-${name}`);

// Usage and budgets: the Playground's own section (the extension's Settings shows none).
const usage = createUsageSection({ client });
section("usage").append(usage.node);

const ui = mountSettings(document.getElementById("settings-root"), {
  client,
  sections: { keys: section("keys"), models: section("models"), curation: section("curation") },
  // The budgets are chosen among the keys: a key added, renamed or deleted changes them.
  onChange: (what) => { if (what === "keys") usage.load(); },
});
usage.load();

// Client tokens for /v1: the Playground's own section too.
const clients = createClientsSection({ client });
section("clients").append(clients.node);
clients.load();

// A link such as /settings#settings-models: the section is drawn by the module, after the
// browser looked for it, so go there once it is loaded.
ui.ready.then(() => {
  const target = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (target) target.scrollIntoView({ block: "start" });
});
