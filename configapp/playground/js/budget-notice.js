// A notice of the budgets at 80% or more, for any page: it fills the element it is given
// from GET /api/config/budgets (through the client it is given) and hides it when all is
// well. It reads no location, sets no globals and stores nothing.

import { el, replaceChildren } from "./dom.js";

/**
 * showBudgetNotice(node, client, usageUrl) -> Promise: fills `node`, never throws.
 * usageUrl: where Settings shows the usage and budgets (a link in each warning).
 */
export async function showBudgetNotice(node, client, usageUrl) {
  let budgets = [];
  try {
    budgets = await client.json("GET", "/api/config/budgets");
  } catch {
    budgets = []; // the page's own requests say what is wrong with the server
  }
  const alarming = budgets.filter((budget) => budget.level !== "ok");
  node.hidden = alarming.length === 0;
  replaceChildren(node, alarming.map((budget) => el("p", {
    className: `banner budget-${budget.level}`, role: "status" },
  el("strong", {}, budget.level === "exceeded"
    ? "Budget reached: chats through it are refused. " : "Budget at 80%. "),
  budget.message, " ", el("a", { href: usageUrl }, "Usage and budgets"))));
}
