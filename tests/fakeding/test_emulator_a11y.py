"""The emulator page is accessible and comfortable (issue 24, item 6), in a real Chromium.

axe-core finds no serious or critical violation at desktop and phone sizes, in light and dark
mode, after a message, a card and a switch of tab; tabs are a tablist worked by arrow keys;
conversations and users are reached and chosen by keyboard with a visible focus; a live region
says what arrived; the shortcuts work and are listed in a help overlay.
"""

from __future__ import annotations

from typing import Any

import pytest

from fakeding import ThreadedFakeDing
from tests.fakeding.emulator_page import DESKTOP, PHONE, LiveRobot, axe_script, serious_violations


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_script()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_nothing_serious_before_and_after_a_message_a_card_and_a_tab(
    browser: Any, live_robot: LiveRobot, axe: str, size: dict[str, int], scheme: str
) -> None:
    page = browser.new_page(viewport=size)
    page.emulate_media(color_scheme=scheme)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_robot.url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    page.wait_for_selector("#robots[data-state=live]")
    assert serious_violations(page, axe) == []

    question = f"How do I reset my password? ({size['width']} {scheme})"
    page.fill("#composer-text", question)
    page.press("#composer-text", "Enter")
    page.wait_for_selector(f"#messages .msg.mine >> text={question}")
    page.wait_for_function("document.querySelectorAll('#messages .card[data-final=true]').length >= 1")
    page.wait_for_selector("#timeline .ev[data-kind=ack]", state="attached")
    assert serious_violations(page, axe) == []

    if size is PHONE:
        page.click("#toggle-panes")
        page.wait_for_selector("#panes.open #tab-settings")
    page.click("#tab-settings")
    page.wait_for_selector("#pane-settings.active")
    assert serious_violations(page, axe) == []
    if scheme == "dark":  # the system's choice is followed
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert sum(int(c) for c in background[4:-1].split(",")[:3]) < 150, background
    assert errors == []
    page.close()


def test_tabs_are_a_tablist_worked_by_arrow_keys_and_alt_digits(
    browser: Any, fakeding: ThreadedFakeDing
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    tabs = page.eval_on_selector_all(
        "#tabs [role=tab]", "ts => ts.map(t => [t.dataset.tab, t.getAttribute('aria-selected'), t.tabIndex])"
    )
    assert tabs == [
        ["timeline", "true", 0],
        ["faults", "false", -1],
        ["settings", "false", -1],
        ["connections", "false", -1],
        ["replay", "false", -1],
    ]
    assert page.get_attribute("#pane-timeline", "role") == "tabpanel"

    def selected() -> list[str]:
        return [
            page.evaluate("document.activeElement.dataset.tab"),
            page.get_attribute("#tabs [aria-selected=true]", "data-tab") or "",
            page.eval_on_selector(".pane.active", "p => p.id"),
        ]

    page.focus("#tab-timeline")
    page.keyboard.press("ArrowRight")
    assert selected() == ["faults", "faults", "pane-faults"]
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # wraps to the last: Replay (Alt+5)
    assert selected() == ["replay", "replay", "pane-replay"]
    page.keyboard.press("ArrowLeft")
    assert selected() == ["connections", "connections", "pane-connections"]
    page.keyboard.press("Home")
    assert selected() == ["timeline", "timeline", "pane-timeline"]
    page.focus("#composer-text")
    page.keyboard.press("Alt+3")
    assert selected() == ["settings", "settings", "pane-settings"]
    page.close()


def test_conversations_and_users_are_chosen_by_keyboard_with_a_visible_focus(
    browser: Any, fakeding: ThreadedFakeDing
) -> None:
    fakeding.send_message(
        "in the second group",
        conversation_id="cidGroup002",
        title="second group",
        staff_id="bob",
        at_bot=False,
    )
    page = browser.new_page(viewport=DESKTOP)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    page.focus("#conversations li[data-conversation=cidGroup001] button")
    page.keyboard.press("Tab")  # from one conversation to the next, by keyboard alone
    assert page.evaluate("document.activeElement.closest('li').dataset.conversation") == ("cidGroup002")
    page.keyboard.press("Shift+Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")  # the focus can be seen
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#chat-title').textContent === 'fakeding group'")
    assert (
        page.get_attribute("#conversations li[data-conversation=cidGroup001] button", "aria-current")
        == "true"
    )
    # A message elsewhere redraws the list: the keyboard user keeps their place.
    page.focus("#conversations li[data-conversation=cidGroup001] button")
    fakeding.send_message("news elsewhere", conversation_id="cidGroup002", at_bot=False)
    page.wait_for_selector("#conversations li[data-conversation=cidGroup002] .badge >> text=2")
    assert page.evaluate("document.activeElement.closest('li').dataset.conversation") == ("cidGroup001")
    page.focus("#users li[data-user=bob] button")
    page.keyboard.press("Space")
    page.wait_for_selector("#users li[data-user=bob] button[aria-pressed=true]")
    assert "bob" in page.inner_text("#as-user")
    page.close()


def test_shortcuts_work_and_are_listed_and_new_messages_are_announced(
    browser: Any, fakeding: ThreadedFakeDing
) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    page.click("#chat-head")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "composer-text"
    page.keyboard.type("first words")
    page.keyboard.press("Enter")
    page.wait_for_selector("#messages .msg.mine >> text=first words")
    assert page.input_value("#composer-text") == ""
    page.keyboard.press("ArrowUp")
    assert page.input_value("#composer-text") == "first words"
    page.fill("#composer-text", "")

    fakeding.send_message(
        "said from elsewhere", conversation_id="cidGroup001", staff_id="carol", at_bot=False
    )
    page.wait_for_selector("#announcer >> text=carol said: said from elsewhere")
    assert page.get_attribute("#announcer", "aria-live") == "polite"

    page.click("#chat-head")
    page.keyboard.press("?")
    page.wait_for_selector("#help-dialog[open]")
    keys = page.inner_text("#help-keys")
    for key in ("/", "↑", "Alt", "?"):
        assert key in keys
    page.keyboard.press("Escape")
    page.wait_for_selector("#help-dialog:not([open])", state="attached")
    page.close()
