"""What the emulator's browser tests share: Chromium through Playwright, and an axe-core run.

axe-core comes from the committed lockfile in ``tests/node/axe`` (``npm ci`` once per lockfile
change) and is injected into the page as a script: nothing is fetched by the page itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.node_install import npm_ci

ROOT = Path(__file__).resolve().parents[2]
AXE_DIR = ROOT / "tests" / "node" / "axe"
CHROMIUM = os.environ.get("FAKEDING_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium() -> Iterator[Any]:
    """The system Chromium; missing is a failure naming the command that fixes it."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing ({CHROMIUM}): run `apt-get install -y chromium`",
                    pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: run `pip install playwright` (a dev dependency)",
                    pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def axe_script() -> str:
    npm_ci(AXE_DIR)
    return (AXE_DIR / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


def serious_violations(page: Any, script: str) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each
    (rule, impact, the elements), so a failure says what to fix."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(content=script)
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary).slice(0, 5)}))")
    return [f"{v['id']} ({v['impact']}): {v['help']}: {v['nodes']}" for v in found
            if v["impact"] in ("serious", "critical")]
