// Signing in and out of this Playground: the API token is traded once for a session, never
// kept by the page. The session is a cookie (HttpOnly, set by the server) and a secret the
// answer gives this page, kept in localStorage: cookies reach every port of the host,
// localStorage only this origin, so the cookie alone opens nothing (ADR 0006). Runs on the
// Playground's pages only (this module is at <prefix>/assets/js/); touches only the one
// localStorage item SECRET_ITEM.

import { SESSION_HEADER } from "./api-client.js";

const SECRET_ITEM = "configapp.sessionSecret";

/** Where the sign-in routes are: under the pages' mount ("http://host/prefix/login"). */
export const signInUrl = (path) => new URL(`../../${path}`, import.meta.url).href;

/** The secret of this browser's session on this origin, or null. */
export function sessionSecret() {
  try {
    return window.localStorage.getItem(SECRET_ITEM);
  } catch {
    return null; // storage refused (a locked-down profile): the API asks to sign in
  }
}

function keepSecret(secret) {
  try {
    if (secret) window.localStorage.setItem(SECRET_ITEM, secret);
    else window.localStorage.removeItem(SECRET_ITEM);
  } catch {
    // storage refused: every API call will ask to sign in again
  }
}

/** POST /login: true when signed in; throws an Error with the server's message if not. */
export async function signIn(token) {
  const response = await fetch(signInUrl("login"), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ token }),
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.ok) {
    const body = await response.json();
    keepSecret(body.session_secret);
    return true;
  }
  let message = `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    if (body && typeof body.message === "string") message = body.message;
  } catch {
    // not JSON: the status has to do
  }
  const error = new Error(message);
  error.status = response.status;
  throw error;
}

/** End this browser's session, then show the sign-in page. */
export async function signOut() {
  keepSecret(null);
  try {
    await fetch(signInUrl("logout"), { method: "POST", credentials: "same-origin",
                                       cache: "no-store" });
  } finally {
    window.location.assign(`${signInUrl("login")}?signed_out=1`);
  }
}

/** GET /session: { auth: "on"|"off", signed_in, method }. */
export async function sessionState() {
  const headers = { Accept: "application/json" };
  const secret = sessionSecret();
  if (secret) headers[SESSION_HEADER] = secret;
  const response = await fetch(signInUrl("session"), { credentials: "same-origin",
                                                       cache: "no-store", headers });
  return response.json();
}

/** The header's Sign out button, shown when this browser is signed in by a session. */
export async function mountSignOut(button) {
  if (!button) return;
  button.addEventListener("click", () => signOut());
  try {
    const state = await sessionState();
    button.hidden = !(state.auth === "on" && state.method === "session");
  } catch {
    button.hidden = true;
  }
}
