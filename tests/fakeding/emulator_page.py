"""What the emulator's browser tests share: Chromium through Playwright, and an axe-core run.

axe-core comes from the committed lockfile in ``tests/node/axe`` (``npm ci`` once per lockfile
change) and is injected into the page as a script: nothing is fetched by the page itself.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.node_install import npm_ci

ROOT = Path(__file__).resolve().parents[2]
AXE_DIR = ROOT / "tests" / "node" / "axe"
CHROMIUM = os.environ.get("FAKEDING_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium() -> Iterator[Any]:
    """The system Chromium; missing is a failure naming the command that fixes it."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing ({CHROMIUM}): run `apt-get install -y chromium`", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: run `pip install playwright` (a dev dependency)", pytrace=False)
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
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary).slice(0, 5)}))"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: {v['nodes']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


class LiveRobot:
    """The fake and our robot (FAQ agent by default) on a loop of their own, in real time, as
    the demo runs them; ``robot``: the robot's options, ``templates``: (id, export path) pairs
    the fake draws its cards from."""

    def __init__(
        self, robot: dict[str, Any] | None = None, templates: tuple[tuple[str, Path], ...] = ()
    ) -> None:
        self.robot = robot or {"agent": {"name": "faq", "delay": 0.12}, "locale": "en"}
        self.templates = templates
        self.ready = threading.Event()
        self.fake: Any = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from bot.scenario_adapter import open_harness

        async def main() -> None:
            async with open_harness(robot=self.robot, epoch=None) as h:
                for template_id, path in self.templates:
                    h.fake.add_template(template_id, path, keep=True)
                self.fake, self._loop, self._stop = h.fake, asyncio.get_running_loop(), asyncio.Event()
                self.ready.set()
                await self._stop.wait()

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by start()
            self.error = exc
            self.ready.set()

    def start(self) -> LiveRobot:
        self.thread.start()
        assert self.ready.wait(30) and self.error is None, self.error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)

    def __enter__(self) -> LiveRobot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self.fake is not None
        return str(self.fake.http_url)
