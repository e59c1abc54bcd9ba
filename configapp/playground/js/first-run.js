// The first-run checklist of an empty Chat page: add a key, choose a model, chat. Runs in
// the page; builds nodes only. checklist({ hasKey, hasModel, keysUrl, modelsUrl }) -> node.

import { el } from "./dom.js";

function step(done, current, title, detail, link) {
  const state = done ? "done" : current ? "current" : "todo";
  const label = { done: "Done", current: "Next", todo: "To do" }[state];
  return el("li", { className: `checklist-step step-${state}` },
    el("span", { className: "step-state" }, label),
    el("span", { className: "step-text" }, el("strong", {}, title), " ",
      link && !done ? el("a", { href: link.href }, link.text) : detail));
}

/** The steps a new user has left; null when a key and a model are ready (plain chat). */
export function checklist({ hasKey, hasModel, keysUrl, modelsUrl }) {
  if (hasKey && hasModel) return null;
  return el("div", { className: "first-run" },
    el("h2", {}, "Three steps to your first answer"),
    el("ol", { className: "checklist" },
      step(hasKey, !hasKey, "Add an API key.", "A key is stored.",
        { href: keysUrl, text: "Add one in Settings" }),
      step(hasModel, hasKey && !hasModel, "Choose a model.", "A default model is chosen.",
        { href: modelsUrl, text: hasKey ? "Choose one in Settings"
          : "After the key, choose one in Settings" }),
      step(false, false, "Chat.", "Write your message below.", null)));
}

/** What to do when chat cannot start: the first missing step, as a sentence with a link. */
export function missingStep({ hasKey, hasModel, keysUrl, modelsUrl }) {
  if (!hasKey) {
    return ["No API key is stored yet. ", el("a", { href: keysUrl }, "Add one in Settings"),
      ", then choose a model."];
  }
  if (!hasModel) {
    return ["No default model is chosen yet. ",
      el("a", { href: modelsUrl }, "Choose one in Settings"), "."];
  }
  return null;
}
