// The sign-in page: trades the login link's #token=... (or a pasted token) for a session
// cookie, then goes back to the page that sent the browser here. The token leaves the
// address bar at once and is kept nowhere.

import { signIn, signInUrl } from "./session.js";
import { tokenFrom } from "./token-dialog.js";

// The pages a sign-in may return to (?next=), relative to the mount: nothing else.
const RETURN_PAGES = { "/": "", "/settings": "settings" };
const form = document.getElementById("login-form");
const input = document.getElementById("login-token");
const status = document.getElementById("login-status");

function show(kind, text) {
  status.className = `status status-${kind}`;
  status.textContent = text;
  status.hidden = false;
}

function destination() {
  const next = new URLSearchParams(window.location.search).get("next");
  return signInUrl(Object.hasOwn(RETURN_PAGES, next) ? RETURN_PAGES[next] : "");
}

async function trade(token) {
  show("busy", "Signing in…");
  try {
    await signIn(token);
    show("ok", "Signed in.");
    window.location.replace(destination());
  } catch (error) {
    show("error", error.message);
    input.focus();
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = tokenFrom(input.value);
  input.value = "";
  if (token) trade(token);
});

// The login link's shape, on this page's own origin and mount (never a fixed port).
document.getElementById("login-example").textContent = `${signInUrl("login")}#token=…`;

// Sent here by Sign out, or by a page whose session ended (?next=): say so.
const query = new URLSearchParams(window.location.search);
const signedOut = document.getElementById("signed-out");
if (query.has("signed_out") || query.has("next")) {
  signedOut.textContent = query.has("signed_out") ? "You are signed out."
    : "You are signed out: sign in to go on.";
  signedOut.hidden = false;
}

const linked = /^#(?:.*&)?token=([^&]+)/.exec(window.location.hash);
const fromLink = linked ? decodeURIComponent(linked[1]) : "";
if (window.location.hash) {
  // Out of the address bar and the history before anything else.
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
}
if (fromLink) trade(fromLink);
