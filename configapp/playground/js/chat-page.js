// The Playground's Chat page.

import { mountChat } from "./chat-ui.js";
import { mountUrl, playgroundClient } from "./playground-client.js";
import { mountSignOut } from "./session.js";

mountSignOut(document.getElementById("sign-out"));

mountChat(document.getElementById("chat-root"), {
  client: playgroundClient(),
  settingsUrl: new URL("settings", mountUrl).href,
});
