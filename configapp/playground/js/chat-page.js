// The Playground's Chat page.

import { mountChat } from "./chat-ui.js";
import { playgroundClient } from "./playground-client.js";

mountChat(document.getElementById("chat-root"), {
  client: playgroundClient(),
  settingsUrl: "/settings",
});
