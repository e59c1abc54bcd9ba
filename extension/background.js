// The service worker: a background sync on a timer (chrome.alarms), so that the cache is
// fresh when the backend goes away, even if the Settings page was not opened. The toolbar
// button opens the Settings page.

import { loadConnection } from "./js/connection.js";
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

async function backgroundSync() {
  const connection = await loadConnection();
  if (!connection.backendUrl) return; // not set up yet
  // Offline or refused: syncNow leaves the cache as it was; the page says why when opened.
  await syncNow(connection);
}

// Listeners are registered at the top level, so that a woken worker gets the event.
chrome.alarms.onAlarm.addListener(async (alarm) => {
  if (alarm.name !== ALARM) return;
  await ensureAlarm();
  await backgroundSync();
});
chrome.runtime.onInstalled.addListener(ensureAlarm);
chrome.runtime.onStartup.addListener(ensureAlarm);
chrome.action.onClicked.addListener(() => chrome.runtime.openOptionsPage());
