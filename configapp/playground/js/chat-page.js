// The Playground's Chat page.

import { mountChat } from "./chat-ui.js";
import { mountUrl, playgroundClient } from "./playground-client.js";

mountChat(document.getElementById("chat-root"), {
  client: playgroundClient(),
  settingsUrl: new URL("settings", mountUrl).href,
});
