// Asking the user for the server's API token, in a modal dialog (no window.prompt: it
// cannot mask the input, and it blocks the page).

import { el, uniqueId } from "./dom.js";

const REASONS = {
  needed: "This server needs its API token (the value of CONFIGAPP_API_TOKEN).",
  refused: "The server refused that token. Check it and enter it again.",
};

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
    el("p", { className: "hint" }, "It is kept for this browser session only."),
    el("div", { className: "form-actions" },
      el("button", { type: "button", className: "quiet", value: "cancel" }, "Cancel"),
      el("button", { type: "submit", className: "primary" }, "Use token")));
  const node = el("dialog", { className: "token-dialog", "aria-label": "API token",
                              "aria-describedby": reason.id }, form);
  document.body.append(node);
  return { node, form, input, reason, cancel: form.querySelector("button[value=cancel]") };
}

/** Ask for the token; resolves to it, or to null when the user cancels. */
export function askForToken(why = "needed") {
  if (!dialog) dialog = build();
  const { node, form, input, reason, cancel } = dialog;
  reason.textContent = REASONS[why] || REASONS.needed;
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
      const token = input.value.trim();
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
