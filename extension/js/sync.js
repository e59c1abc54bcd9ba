// The extension's cache of the backend's settings, and the one function that writes it.
//
// The cache is { backendUrl, etag, snapshot, syncedAt } in chrome.storage.local: the
// snapshot is GET /api/config/sync's answer (masked keys, the selected model and its
// parameters, a revision), so it never holds a plaintext key or an encrypted one. It is
// read-only: syncNow() below is the only code that writes it, and only with what the
// backend answered. The Settings page and the service worker's timer both call syncNow;
// a Web Lock runs one sync at a time across them, so an older answer never overwrites a
// newer one.

import { SIGN_IN_KEY, verifyBackend } from "./connection.js";

const CACHE_KEY = "configapp.cache";
const LOCK_NAME = "configapp-sync";

/** Freeze an object and everything in it: what readCache hands out cannot be changed. */
function deepFreeze(value) {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/** Forget the cache (on Disconnect): nothing of the backend stays in the extension. */
export async function forgetCache() {
  await chrome.storage.local.remove(CACHE_KEY);
}

/** The cache of `backendUrl` (of any backend when not given), frozen; or null. */
export async function readCache(backendUrl = null) {
  const { [CACHE_KEY]: cache = null } = await chrome.storage.local.get(CACHE_KEY);
  if (!cache || (backendUrl && cache.backendUrl !== backendUrl)) return null;
  return deepFreeze(cache);
}

function looksLikeSnapshot(body) {
  return Boolean(body) && typeof body.revision === "string"
    && typeof body.keys === "object" && body.keys !== null && "selected" in body;
}

async function messageOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body.message === "string") return body.message;
  } catch {
    // Not JSON: the status says enough.
  }
  return `HTTP ${response.status} ${response.statusText}`.trim();
}

/**
 * syncNow({ backendUrl, token }) -> { outcome, cache, status, message }
 *
 * GET /api/config/sync with If-None-Match (the cached ETag, when the cache is this
 * backend's). outcome:
 *   "updated"       200: the cache now holds the new snapshot;
 *   "unchanged"     304: the snapshot is kept, only syncedAt moves on;
 *   "offline"       the backend could not be reached: the cache is untouched;
 *   "unauthorized"  401: the server needs a (valid) API token;
 *   "unverified"    what answers is not the configapp this extension signed in to (a
 *                   program on its port?): the token was not sent, the cache is untouched;
 *   "failed"        any other answer (message says which): the cache is untouched.
 * cache is the cache of this backend after the sync (null when there is none).
 */
export async function syncNow({ backendUrl, token = null }) {
  return navigator.locks.request(LOCK_NAME, async () => {
    const previous = await readCache(backendUrl);
    const headers = { Accept: "application/json" };
    if (token) {
      const verified = await verifyBackend(backendUrl, token);
      if (verified === "offline") {
        return { outcome: "offline", cache: previous, status: 0,
                 message: `Cannot reach ${backendUrl}.` };
      }
      if (verified === "unverified") {
        return { outcome: "unverified", cache: previous, status: 0,
                 message: `${backendUrl} did not prove it is the configapp this extension `
                   + "signed in to: the token was not sent." };
      }
      headers.Authorization = `Bearer ${token}`;
    }
    if (previous && previous.etag) headers["If-None-Match"] = previous.etag;
    let response;
    try {
      response = await fetch(`${backendUrl}/api/config/sync`,
                             { headers, credentials: "omit", cache: "no-store" });
    } catch {
      return { outcome: "offline", cache: previous, status: 0,
               message: `Cannot reach ${backendUrl}.` };
    }
    const syncedAt = new Date().toISOString();
    // Any answer but a 401: the token (or no token) was taken.
    if (response.status !== 401) await chrome.storage.local.remove(SIGN_IN_KEY);
    if (response.status === 304 && previous) {
      const cache = { ...previous, syncedAt };
      await chrome.storage.local.set({ [CACHE_KEY]: cache });
      return { outcome: "unchanged", cache: deepFreeze(cache), status: 304,
               message: "Up to date: the backend answered 304 Not Modified." };
    }
    if (response.status === 401) {
      // Remembered, so that the page says "sign in again" even when the worker met it.
      await chrome.storage.local.set({ [SIGN_IN_KEY]: { at: syncedAt, hadToken: !!token } });
      return { outcome: "unauthorized", cache: previous, status: 401,
               message: await messageOf(response) };
    }
    let snapshot = null;
    if (response.status === 200) {
      try {
        snapshot = await response.json();
      } catch {
        // Not JSON: refused below.
      }
    }
    if (!looksLikeSnapshot(snapshot)) {
      const message = response.status === 200 || response.status === 404
        ? `${backendUrl} did not answer /api/config/sync as a configapp backend does.`
        : await messageOf(response);
      return { outcome: "failed", cache: previous, status: response.status, message };
    }
    const cache = { backendUrl, etag: response.headers.get("ETag"), snapshot, syncedAt };
    await chrome.storage.local.set({ [CACHE_KEY]: cache });
    return { outcome: "updated", cache: deepFreeze(cache), status: 200,
             message: "Synced: the cache holds the backend's current settings." };
  });
}
