// The Playground's Settings page: mounts the shared Settings UI with the page's client.

import { playgroundClient } from "./playground-client.js";
import { mountSignOut } from "./session.js";
import { mountSettings } from "./settings-ui.js";

mountSignOut(document.getElementById("sign-out"));

const ui = mountSettings(document.getElementById("settings-root"), {
  client: playgroundClient(),
});

// A link such as /settings#settings-models: the section is drawn by the module, after the
// browser looked for it, so go there once it is loaded.
ui.ready.then(() => {
  const target = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (target) target.scrollIntoView({ block: "start" });
});
