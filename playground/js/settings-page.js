// The Playground's Settings page: mounts the shared Settings UI with the page's client.

import { playgroundClient } from "./playground-client.js";
import { mountSettings } from "./settings-ui.js";

mountSettings(document.getElementById("settings-root"), { client: playgroundClient() });
