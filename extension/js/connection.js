// Where the backend is and how to talk to it: its URL and the API token (both in
// chrome.storage.local, so that the background sync goes on after a browser restart: see
// docs/adr/0006-api-token-locked-by-default.md), the host permission for
// a backend that is not on this machine, and the checks that the address really is a
// configapp backend, and the one it signed in to before the token is sent (a program can
// listen on the port while configapp is down). No DOM: the service worker uses it too.

export const DEFAULT_BACKEND_URL = "http://127.0.0.1:8000";

const BACKEND_KEY = "configapp.backendUrl"; // chrome.storage.local
const TOKEN_KEY = "configapp.apiToken"; // chrome.storage.local (ADR 0006)
export const SIGN_IN_KEY = "configapp.signInNeeded"; // chrome.storage.local: { at, hadToken }
// chrome.storage.local: { backendUrl, key }, the backend's identity key (ADR 0006)
const IDENTITY_KEY = "configapp.serverIdentity";

/** { backendUrl, token }: each null until the user gave one. */
export async function loadConnection() {
  const { [BACKEND_KEY]: backendUrl = null, [TOKEN_KEY]: token = null } =
    await chrome.storage.local.get([BACKEND_KEY, TOKEN_KEY]);
  return { backendUrl, token };
}

export async function saveBackendUrl(backendUrl) {
  await chrome.storage.local.set({ [BACKEND_KEY]: backendUrl });
}

/** Keep the token (across browser restarts, ADR 0006); null forgets it. */
export async function saveToken(token) {
  if (token) await chrome.storage.local.set({ [TOKEN_KEY]: token });
  else await chrome.storage.local.remove(TOKEN_KEY);
}

/** Disconnect: forget the backend's address, the token, the identity and the sign-in
 * note; the sync's cache goes with forgetCache() (sync.js). */
export async function forgetConnection() {
  await chrome.storage.local.remove([BACKEND_KEY, TOKEN_KEY, IDENTITY_KEY, SIGN_IN_KEY]);
}

/**
 * "127.0.0.1:8000/" -> "http://127.0.0.1:8000"; a path (a reverse proxy's prefix) is kept
 * without its trailing slash. Throws TypeError with a sentence for anything else.
 */
export function normaliseBackendUrl(text) {
  const trimmed = String(text || "").trim();
  if (!trimmed) throw new TypeError("Enter the backend's address, for example "
    + `${DEFAULT_BACKEND_URL}.`);
  let url;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`);
  } catch {
    throw new TypeError(`“${trimmed}” is not a web address.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError("The backend's address starts with http:// or https://.");
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new TypeError("Give the backend's address only: no user name, query or #part.");
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}

/** The host permission pattern for a backend: every port of its host. */
export function hostPattern(backendUrl) {
  const url = new URL(backendUrl);
  return `${url.protocol}//${url.hostname}/*`;
}

/**
 * Ask Chromium for access to the backend's host (a prompt for a host that is not granted
 * yet; none for 127.0.0.1 and localhost). Call it from a click: it needs a user gesture.
 */
export async function requestHostAccess(backendUrl) {
  return chrome.permissions.request({ origins: [hostPattern(backendUrl)] });
}

async function fetchQuietly(url, options = {}) {
  try {
    return await fetch(url, { credentials: "omit", cache: "no-store", ...options });
  } catch {
    return null;
  }
}

/**
 * Does a configapp backend answer at `backendUrl`? GET /healthz (open, no token) must say
 * {"status": "ok"}. -> { ok, message }.
 */
export async function checkBackend(backendUrl) {
  const response = await fetchQuietly(`${backendUrl}/healthz`,
                                       { headers: { Accept: "application/json" } });
  if (!response) {
    return { ok: false, message: `Cannot reach ${backendUrl}. Is configapp running there?` };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: not configapp.
  }
  if (!response.ok || !body || body.status !== "ok") {
    return { ok: false, message: `${backendUrl} answers (HTTP ${response.status}), but not `
      + "as a configapp backend: check the address and port." };
  }
  return { ok: true, message: `A configapp backend answers at ${backendUrl}.` };
}

/**
 * Will the backend take writes from this extension? The extension's writes carry
 * `Origin: chrome-extension://<id>`, which the backend accepts only when that origin is
 * listed in CONFIGAPP_EXTENSION_ORIGINS; it then answers a CORS preflight for it. So ask
 * the question a preflight asks. -> true, false, or null when it cannot tell.
 */
export async function writesAllowed(backendUrl) {
  const response = await fetchQuietly(`${backendUrl}/api/config/sync`, { method: "OPTIONS" });
  if (!response) return null;
  return response.headers.get("Access-Control-Allow-Origin") === extensionOrigin();
}

/** chrome-extension://<this extension's id> */
export function extensionOrigin() {
  return new URL(chrome.runtime.getURL("/")).origin;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(plain, (c) => c.charCodeAt(0));
}

/** Forget the backend's identity key: the next sync learns it again with the token. */
export async function forgetIdentity() {
  await chrome.storage.local.remove(IDENTITY_KEY);
}

/**
 * Before the token goes to `backendUrl`: is that the configapp this extension signed in
 * to? With its identity key known, the backend must answer a random challenge with the
 * key's HMAC (GET /identity), which a program squatting the port cannot. Not known yet
 * (first sync with this token, or a backend of before issue 25): learnt now, with the
 * token (GET /identity/key), trusted on first use. -> "ok" | "offline" | "unauthorized"
 * | "unverified" (the token was not sent).
 */
export async function verifyBackend(backendUrl, token) {
  const { [IDENTITY_KEY]: known = null } = await chrome.storage.local.get(IDENTITY_KEY);
  if (!known || known.backendUrl !== backendUrl) {
    const response = await fetchQuietly(`${backendUrl}/identity/key`, {
      headers: { Accept: "application/json", Authorization: `Bearer ${token}` } });
    if (!response) return "offline";
    if (response.status === 401) return "unauthorized";
    if (response.status === 404) return "ok"; // a configapp without identities: nothing to check
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: not configapp
    }
    if (!response.ok || !body || typeof body.key !== "string") return "unverified";
    await chrome.storage.local.set({ [IDENTITY_KEY]: { backendUrl, key: body.key } });
    return "ok";
  }
  const challenge = base64url(crypto.getRandomValues(new Uint8Array(24)));
  const response = await fetchQuietly(`${backendUrl}/identity?challenge=${challenge}`,
                                      { headers: { Accept: "application/json" } });
  if (!response) return "offline";
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: not configapp
  }
  if (!response.ok || !body || typeof body.proof !== "string") return "unverified";
  const key = await crypto.subtle.importKey("raw", fromBase64url(known.key),
                                            { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  let proof;
  try {
    proof = fromBase64url(body.proof);
  } catch {
    return "unverified";
  }
  const genuine = await crypto.subtle.verify("HMAC", key, proof,
                                             new TextEncoder().encode(challenge));
  return genuine ? "ok" : "unverified";
}
