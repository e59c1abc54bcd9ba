// The service worker: a background sync on a timer (chrome.alarms), so that the cache is
// fresh when the backend goes away, even if the Settings page was not opened. The toolbar
// button opens the Settings page.

import { loadConnection, SIGN_IN_KEY } from "./js/connection.js";
import { syncNow } from "./js/sync.js";

const ALARM = "configapp-sync";
const PERIOD_MINUTES = 5;

/** The periodic alarm, created when missing (or when it was replaced by a one-off). */
async function ensureAlarm() {
  const alarm = await chrome.alarms.get(ALARM);
  if (!alarm || alarm.periodInMinutes !== PERIOD_MINUTES) {
    await chrome.alarms.create(ALARM, { delayInMinutes: PERIOD_MINUTES,
                                        periodInMinutes: PERIOD_MINUTES });
  }
}

/** A refused token is never silent: the toolbar button says "sign in again" (and the page,
 * which reads the same flag that syncNow keeps, says it when opened). */
async function showSignIn(needed) {
  await chrome.action.setBadgeText({ text: needed ? "!" : "" });
  await chrome.action.setTitle({ title: needed
    ? "configapp: sign in again (the backend refused the API token)"
    : "configapp Settings" });
}

async function backgroundSync() {
  const connection = await loadConnection();
  if (!connection.backendUrl) return; // not set up yet
  // Offline or refused: syncNow leaves the cache as it was; the page says why when opened.
  const result = await syncNow(connection);
  // Offline, or not the configapp it signed in to: the token was not sent, nothing to say.
  if (!["offline", "unverified"].includes(result.outcome)) {
    await showSignIn(result.outcome === "unauthorized");
  }
}

// Listeners are registered at the top level, so that a woken worker gets the event.
chrome.alarms.onAlarm.addListener(async (alarm) => {
  if (alarm.name !== ALARM) return;
  await ensureAlarm();
  await backgroundSync();
});
chrome.runtime.onInstalled.addListener(ensureAlarm);
chrome.runtime.onStartup.addListener(async () => {
  await ensureAlarm();
  await backgroundSync(); // after a browser restart, at once: the token is still there
});
// The page's syncs keep the same flag: the badge follows it whoever synced.
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && SIGN_IN_KEY in changes) showSignIn(!!changes[SIGN_IN_KEY].newValue);
});
chrome.action.onClicked.addListener(() => chrome.runtime.openOptionsPage());
