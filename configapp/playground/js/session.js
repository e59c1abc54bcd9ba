// Signing in and out of this Playground: the API token is traded once for a session
// cookie (HttpOnly, set by the server) and never kept by the page. Runs on the Playground's
// pages only (this module is at <prefix>/assets/js/); touches no storage.

/** Where the sign-in routes are: under the pages' mount ("http://host/prefix/login"). */
export const signInUrl = (path) => new URL(`../../${path}`, import.meta.url).href;

/** POST /login: true when signed in; throws an Error with the server's message if not. */
export async function signIn(token) {
  const response = await fetch(signInUrl("login"), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ token }),
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.ok) return true;
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
  try {
    await fetch(signInUrl("logout"), { method: "POST", credentials: "same-origin",
                                       cache: "no-store" });
  } finally {
    window.location.assign(signInUrl("login"));
  }
}

/** GET /session: { auth: "on"|"off", signed_in, method }. */
export async function sessionState() {
  const response = await fetch(signInUrl("session"), { credentials: "same-origin", cache: "no-store",
                                             headers: { Accept: "application/json" } });
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
