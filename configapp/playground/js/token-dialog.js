// Asking the user for the server's API token, in a modal dialog (no window.prompt: it
// cannot mask the input, and it blocks the page). A pasted login link is taken too.

import { el, uniqueId } from "./dom.js";

const REASONS = {
  needed: "Sign in: paste the login link the server printed (or its API token). "
    + "`flask --app wsgi config token` on the server makes a new one.",
  ended: "Your session has ended (signed out, expired, or the token was changed). "
    + "Sign in again with the login link or the API token.",
  refused: "The server refused that token (it may have been rotated). Check it and enter "
    + "it again, or run `flask --app wsgi config token` on the server for a new one.",
  limited: "Too many wrong tokens were tried: check this one, wait a minute, then try again.",
};
const DEFAULT_HINT = "It is kept for this browser session only.";

/** "http://host/login#token=abc" or "abc" -> "abc": what a user pastes. */
export function tokenFrom(text) {
  const value = (text || "").trim();
  const match = /[#&]token=([^&\s]+)/.exec(value);
  return match ? decodeURIComponent(match[1]) : value;
}

let dialog = null;

function build() {
  const inputId = uniqueId("token");
  const input = el("input", { id: inputId, type: "password", name: "token", required: true,
                              autocomplete: "off", spellcheck: false, autocapitalize: "off" });
  const reason = el("p", { className: "dialog-reason", id: uniqueId("reason") });
  const form = el("form", { className: "dialog-form" },
    el("h2", {}, "API token"),
    reason,
    el("div", { className: "field" }, el("label", { for: inputId }, "Token"), input),
    el("p", { className: "hint" }),
    el("div", { className: "form-actions" },
      el("button", { type: "button", className: "quiet", value: "cancel" }, "Cancel"),
      el("button", { type: "submit", className: "primary" }, "Use token")));
  const node = el("dialog", { className: "token-dialog", "aria-label": "API token",
                              "aria-describedby": reason.id }, form);
  document.body.append(node);
  return { node, form, input, reason, hint: form.querySelector(".hint"),
           cancel: form.querySelector("button[value=cancel]") };
}

/** Ask for the token; resolves to it (taken out of a pasted login link), or to null when
 * the user cancels. `hint`: where the token will be kept, in words. */
export function askForToken(why = "needed", { hint = DEFAULT_HINT } = {}) {
  if (!dialog) dialog = build();
  const { node, form, input, reason, cancel } = dialog;
  reason.textContent = REASONS[why] || REASONS.needed;
  dialog.hint.textContent = hint;
  input.value = "";
  return new Promise((resolve) => {
    const finish = (value) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      node.removeEventListener("cancel", onCancel);
      input.value = "";
      if (node.open) node.close();
      resolve(value);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const token = tokenFrom(input.value);
      if (token) finish(token);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish(null);
    };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    node.addEventListener("cancel", onCancel);
    node.showModal();
    input.focus();
  });
}
