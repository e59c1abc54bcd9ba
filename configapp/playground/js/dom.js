// Building DOM nodes from data: text goes in with textContent, never as HTML.

/**
 * el("button", { type: "button", className: "x", onclick: fn, dataset: {id: 1} }, "Text", node)
 * Properties are set as DOM properties (className, hidden, disabled, value...); keys with a
 * dash (aria-*, data-*, for) are set as attributes. Children are nodes or strings (text).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key.includes("-") || key === "for" || key === "role") {
      node.setAttribute(key, value === true ? "" : String(value));
    } else node[key] = value;
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace a node's children. */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

let uniqueCounter = 0;

/** A fresh id for label/for and aria-describedby pairs. */
export function uniqueId(prefix) {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/**
 * A status line that says what is happening and what happened: kind is "busy", "ok",
 * "error" or "info". It is a polite live region, so screen readers hear it too. Lines of
 * one `group` (a page's sections) show one action's outcome at a time: an ok or an error
 * clears the outcomes its group's other lines still show (a fixed error, old news).
 */
export function statusLine(className = "", group = null) {
  const node = el("p", { className: `status ${className}`.trim(), role: "status",
                         "aria-live": "polite" });
  node.hidden = true;
  const line = {
    node,
    group,
    show(kind, ...content) {
      // An action's outcome replaces the outcomes of earlier ones shown elsewhere on the
      // page (an error fixed since, a success that is old news).
      const outcome = Boolean(group) && (kind === "ok" || kind === "error");
      if (outcome) {
        for (const other of shownOutcomes) {
          if (other !== line && other.group === group) other.clear();
        }
        shownOutcomes.add(line);
      } else shownOutcomes.delete(line);
      node.className = `status status-${kind} ${className}`.trim();
      node.hidden = false;
      replaceChildren(node, ...content);
    },
    clear() {
      shownOutcomes.delete(line);
      node.hidden = true;
      node.replaceChildren();
    },
  };
  return line;
}

// The status lines showing an outcome (ok or error): one action's news at a time.
const shownOutcomes = new Set();

/** Mark a button as working: disabled, with a spinner and another label, until done(). */
export function busyButton(button, label) {
  const original = [...button.childNodes];
  const wasDisabled = button.disabled;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  replaceChildren(button, el("span", { className: "spinner", "aria-hidden": "true" }), label);
  return function done() {
    button.removeAttribute("aria-busy");
    button.replaceChildren(...original);
    button.disabled = wasDisabled;
  };
}

/** Call fn at most once per `wait` ms, after the calls stop. */
export function debounce(fn, wait) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}
