"""axe-core (vendored from npm, see vendor.json) run in a page: the serious and critical
accessibility violations, as short lines a person can act on."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = frozenset({"serious", "critical"})


def violations(page: Page) -> list[str]:
    """Each serious or critical violation: "rule (impact): target, target..."."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # Evaluated by the test driver, not by the page: the page's CSP does not apply.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, { resultTypes: ["violations"] });
        return result.violations.map((v) => ({ id: v.id, impact: v.impact,
            targets: v.nodes.map((n) => n.target.join(" ") + " " + (n.failureSummary || "")
                .split("\\n").slice(1, 2).join(""))}));
    }""")
    return [f"{v['id']} ({v['impact']}): {'; '.join(v['targets'][:4])}"
            for v in found if v["impact"] in BLOCKING]
