"""The emulator on any screen (issue 24, item 2), in a real Chromium: below ~1,100 px the side
panes are drawers, on a phone the chat takes the screen and the composer stays on it, at
1024 px nothing is cut off, and 200 % zoom (half the CSS pixels) stays usable."""

from __future__ import annotations

from typing import Any

import pytest

from fakeding import ThreadedFakeDing
from tests.fakeding.emulator_page import PHONE


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.eval_on_selector(
        selector,
        "n => { const r = n.getBoundingClientRect(); return "
        "{x: r.x, y: r.y, right: r.right, bottom: r.bottom, width: r.width}; }",
    )
    assert isinstance(box, dict)
    return box


def _inside(box: dict[str, float], size: dict[str, int]) -> bool:
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["right"] <= size["width"]
        and (box["bottom"] <= size["height"])
    )


SIZES = {"phone": PHONE, "zoom-200": {"width": 720, "height": 450}, "tablet": {"width": 1024, "height": 768}}


@pytest.mark.parametrize("name", list(SIZES))
def test_the_chat_takes_the_screen_and_the_composer_stays_on_it(
    browser: Any, fakeding: ThreadedFakeDing, name: str
) -> None:
    size = SIZES[name]
    for n in range(40):  # enough to scroll: the composer must stay put
        fakeding.send_message(f"line {n} of a long chat", conversation_id="cidGroup001", at_bot=False)
    page = browser.new_page(viewport=size, device_scale_factor=2 if name == "zoom-200" else 1)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#messages >> text=line 39 of a long chat")
    assert _box(page, "#chat")["width"] > 300
    for part in ("#composer-text", "#send", "#send-picture", "#send-file"):
        assert _inside(_box(page, part), size), part
    assert _box(page, "#composer-text")["width"] > 200  # room to type, not one letter per line
    assert page.is_hidden("#sidebar") and page.is_hidden("#panes")  # drawers, closed

    page.click("#toggle-panes")
    page.wait_for_selector("#panes.open #tab-timeline")
    assert page.get_attribute("#toggle-panes", "aria-expanded") == "true"
    assert _inside(_box(page, "#panes"), size)
    page.click("#tab-faults")
    page.wait_for_selector("#pane-faults.active button[data-fault=disconnect]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#panes", state="hidden")

    page.click("#toggle-sidebar")
    page.wait_for_selector("#sidebar.open #conversations li[data-conversation=cidGroup001]")
    page.click("#conversations li[data-conversation=cidGroup001]")
    page.wait_for_selector("#sidebar", state="hidden")  # chosen: back to the chat
    page.fill("#composer-text", "typed on a small screen")
    page.press("#composer-text", "Enter")
    page.wait_for_selector("#messages .msg.mine >> text=typed on a small screen")
    page.close()


def test_a_wide_screen_has_no_drawers(browser: Any, fakeding: ThreadedFakeDing) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    assert page.is_visible("#sidebar") and page.is_visible("#panes")
    assert page.is_hidden("#toggle-panes") and page.is_hidden("#toggle-sidebar")
    assert _inside(_box(page, "#send-file"), {"width": 1440, "height": 900})
    page.close()
