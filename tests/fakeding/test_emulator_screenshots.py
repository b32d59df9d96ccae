"""The emulator's pictures in the README and the docs (``docs/emulator.png``, ``docs/emulator-phone.png``),
taken with our robot at work, a question in Chinese and the emoji of its feedback buttons:
retaken with ``FAKEDING_UPDATE_SCREENSHOT=1``. The fonts are Debian's ``fonts-noto-cjk`` and
``fonts-noto-color-emoji`` (``dev.py test`` installs them with Chromium); without them Chinese
and emoji are boxes, so the test refuses to run without them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.fakeding.emulator_page import DESKTOP, PHONE, ROOT, LiveRobot

FONTS = {
    "fonts-noto-cjk": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    "fonts-noto-color-emoji": Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"),
}


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_screenshots_show_chinese_and_emoji(
    browser: Any, live_robot: LiveRobot, size: dict[str, int], tmp_path: Path
) -> None:
    page = browser.new_page(viewport=size)
    page.goto(live_robot.url + "/")
    page.wait_for_selector("#robots[data-state=live]")
    before = len(page.query_selector_all("#messages .card[data-final=true]"))
    page.fill("#composer-text", "你好 👋 How do I reset my password?")
    page.press("#composer-text", "Enter")
    page.wait_for_function(
        f"document.querySelectorAll('#messages .card[data-final=true]').length > {before}", timeout=15_000
    )
    page.wait_for_selector("#timeline .ev[data-kind=ack]", state="attached")
    page.wait_for_selector("#messages .msg.mine >> text=你好 👋")
    name = "emulator.png" if size is DESKTOP else "emulator-phone.png"
    shot = tmp_path / name
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("FAKEDING_UPDATE_SCREENSHOT"):
        shutil.copy(shot, ROOT / "docs" / name)
    page.close()
