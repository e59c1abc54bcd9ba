// The Playground's Chat page.

import { showBudgetNotice } from "./budget-notice.js";
import { mountChat } from "./chat-ui.js";
import { playgroundClient } from "./playground-client.js";

const client = playgroundClient();
mountChat(document.getElementById("chat-root"), {
  client,
  settingsUrl: "/settings",
});
showBudgetNotice(document.getElementById("budget-notice"), client);
