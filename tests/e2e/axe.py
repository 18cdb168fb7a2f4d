"""Accessibility checks with axe-core (npm `axe-core`, from node_modules) in the real browser.

The console and widget pages forbid inline script (CSP), so axe is evaluated
through the DevTools protocol (Playwright's ``evaluate``), which the page's
policy does not govern, instead of being added as a script tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from dev.devstack import ROOT

AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# What a release must not have: axe's two highest impact levels.
BLOCKING = ("serious", "critical")


def axe_violations(page: Page, include: str | None = None) -> list[dict[str, Any]]:
    """axe-core's violations (WCAG 2.x A/AA and best practice) on the page, or
    only inside the elements matching the CSS selector ``include``."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(Path(AXE_SOURCE).read_text(encoding="utf-8"))
    context: Any = {"include": [[include]]} if include else None
    result = page.evaluate(
        """async (context) => {
            const options = {resultTypes: ["violations"]};
            const found = context ? await axe.run(context, options) : await axe.run(options);
            return found.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
            }));
        }""",
        context,
    )
    return list(result)


def assert_accessible(page: Page, include: str | None = None) -> None:
    """No serious or critical axe violation (on the page, or inside ``include``)."""
    blocking = [v for v in axe_violations(page, include) if v["impact"] in BLOCKING]
    assert blocking == [], "axe-core: " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}) at {v['nodes']}" for v in blocking
    )
