// Markdown as the model wrote it, turned into safe DOM: runs in the page, touches nothing
// but the nodes it returns. renderMarkdown(text) -> DocumentFragment.
//
// Model output is untrusted (a prompt can make a model write anything), so:
// - raw HTML in the text is shown as text, never parsed (marked's `html` renderer escapes);
// - DOMPurify then cleans marked's output, keeping only http(s)/mailto links;
// - images become links (an image would load by itself: a way to leak the conversation);
// - links open in a new tab with rel="noopener noreferrer";
// - code blocks are highlighted by highlight.js (which escapes) and get a Copy button.
// Nothing here uses innerHTML on the page: DOMPurify hands back a detached fragment.

import { Marked } from "../vendor/marked.esm.js";
import DOMPurify from "../vendor/purify.es.mjs";
import hljs from "../vendor/highlight.min.js";
import { el } from "./dom.js";

const SAFE_URL = /^(?:https?:|mailto:)/i;

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const marked = new Marked({
  gfm: true,
  renderer: {
    html: ({ text }) => escapeHtml(text),
    image: ({ href, text }) => (SAFE_URL.test(href || "")
      ? `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`
      : escapeHtml(text || "")),
  },
});

const PURIFY = {
  RETURN_DOM_FRAGMENT: true,
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "img", "svg", "math",
                "iframe", "video", "audio", "picture", "source"],
  FORBID_ATTR: ["style", "class", "id", "name"],
};

/** Copy to the clipboard, with a fallback for pages where the async API is refused. */
async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

function copyButton(code) {
  const label = el("span", {}, "Copy");
  const button = el("button", { type: "button", className: "copy-code quiet",
                                "aria-label": "Copy code" }, label);
  button.addEventListener("click", async () => {
    const copied = await copyText(code.textContent);
    label.textContent = copied ? "Copied" : "Copy failed";
    button.setAttribute("aria-label", copied ? "Code copied" : "Copying failed");
    setTimeout(() => {
      label.textContent = "Copy";
      button.setAttribute("aria-label", "Copy code");
    }, 1500);
  });
  return button;
}

function decorateCode(pre) {
  const code = pre.querySelector("code") || pre;
  const language = [...code.classList].find((name) => name.startsWith("language-"));
  const name = language ? language.slice("language-".length) : "";
  if (name && hljs.getLanguage(name)) {
    const highlighted = hljs.highlight(code.textContent, { language: name, ignoreIllegals: true });
    // highlight.js escapes the code; the result is sanitized again like the rest.
    code.replaceChildren(DOMPurify.sanitize(highlighted.value,
      { RETURN_DOM_FRAGMENT: true, ALLOWED_TAGS: ["span"], ALLOWED_ATTR: ["class"] }));
    code.classList.add("hljs");
  }
  pre.tabIndex = 0; // a scrollable region must be reachable by keyboard
  const head = el("div", { className: "code-head" },
    el("span", { className: "code-lang" }, name || "text"), copyButton(code));
  const block = el("div", { className: "code-block" });
  pre.replaceWith(block);
  block.append(head, pre);
}

/** The model's markdown as a fragment of safe, decorated nodes. */
export function renderMarkdown(text) {
  // highlight.js' classes are added after sanitizing; marked's language class is kept.
  const fragment = DOMPurify.sanitize(marked.parse(text || ""),
    { ...PURIFY, FORBID_ATTR: PURIFY.FORBID_ATTR.filter((a) => a !== "class") });
  for (const node of fragment.querySelectorAll("[class]")) {
    const kept = [...node.classList].filter((name) => /^language-[\w+-]+$/.test(name));
    if (node.tagName === "CODE" && kept.length) node.className = kept.join(" ");
    else node.removeAttribute("class");
  }
  for (const link of fragment.querySelectorAll("a")) {
    const href = link.getAttribute("href") || "";
    if (!SAFE_URL.test(href)) {
      link.replaceWith(...link.childNodes);
      continue;
    }
    link.target = "_blank";
    link.rel = "noopener noreferrer";
  }
  for (const pre of fragment.querySelectorAll("pre")) decorateCode(pre);
  for (const table of fragment.querySelectorAll("table")) {
    const wrap = el("div", { className: "table-wrap", tabIndex: 0, role: "region",
                             "aria-label": "Table" });
    table.replaceWith(wrap);
    wrap.append(table);
  }
  return fragment;
}
