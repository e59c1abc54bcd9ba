// The Playground's Chat page.

import { showBudgetNotice } from "./budget-notice.js";
import { mountChat } from "./chat-ui.js";
import { mountUrl, playgroundClient } from "./playground-client.js";
import { mountSignOut } from "./session.js";

mountSignOut(document.getElementById("sign-out"));

const client = playgroundClient();
mountChat(document.getElementById("chat-root"), {
  client,
  settingsUrl: new URL("settings", mountUrl).href,
});
showBudgetNotice(document.getElementById("budget-notice"), client,
  new URL("settings#settings-usage", mountUrl).href);
