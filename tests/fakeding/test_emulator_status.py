"""The emulator says what is going on (issue 24, item 3), in a real Chromium: the robots
connected (app, SDK, since when) apart from the page's own link; a message nobody can receive
says it is queued and how to start a robot; the page opens on the most recent conversation."""

from __future__ import annotations

from typing import Any

import pytest

from fakeding import DEFAULT_CLIENT_ID, ThreadedFakeDing
from tests.fakeding.emulator_page import DESKTOP, PHONE, LiveRobot


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_robot_is_said_and_a_message_to_nobody_says_it_is_queued(
    browser: Any, fakeding: ThreadedFakeDing, size: dict[str, int]
) -> None:
    page = browser.new_page(viewport=size)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")  # the page is linked ...
    page.wait_for_selector("#robots[data-state=none] >> text=no robot connected")  # ... nobody else
    page.fill("#composer-text", "anyone there?")
    page.press("#composer-text", "Enter")
    page.wait_for_selector("#composer-note >> text=Queued")
    text = page.inner_text("#composer-note")
    assert f"DINGTALK_OPENAPI_ENDPOINT={fakeding.http_url}" in text
    assert f"DINGTALK_CLIENT_ID={DEFAULT_CLIENT_ID}" in text and "python -m bot run" in text
    assert page.get_attribute("#composer-note", "role") == "status"
    (queued,) = fakeding.timeline(["queued"])
    assert queued["client"] == DEFAULT_CLIENT_ID
    page.close()


def test_the_robots_connected_are_named_with_their_sdk_and_since_when(browser: Any) -> None:
    robot = LiveRobot().start()
    try:
        page = browser.new_page(viewport=DESKTOP)
        page.goto(robot.url + "/")
        page.wait_for_selector("#live-state[data-state=live]")
        pill = page.wait_for_selector("#robots[data-state=live]")
        text = pill.inner_text()
        assert DEFAULT_CLIENT_ID in text and "since +" in text
        assert robot.fake is not None
        (gateway,) = [
            r
            for r in robot.fake.recorder
            if r.kind == "api" and str(r.fields["route"]).endswith("/gateway/connections/open")
        ][-1:]
        ua = gateway.fields["request"].get("ua")
        assert ua, gateway.fields  # the SDK names itself; the header says which
        assert str(ua)[:60] in text
        page.fill("#composer-text", "How do I reset my password?")
        page.press("#composer-text", "Enter")
        page.wait_for_selector("#messages .card[data-final=true]", timeout=15_000)
        assert page.inner_text("#composer-note") == ""  # delivered: nothing to say
        page.close()
    finally:
        robot.stop()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_page_opens_on_the_most_recent_conversation(
    browser: Any, fakeding: ThreadedFakeDing, size: dict[str, int]
) -> None:
    fakeding.send_message("older", conversation_id="cidGroup001", at_bot=False)
    fakeding.send_message(
        "the latest words", conversation_id="cidGroupLatest", title="latest group", at_bot=False
    )
    page = browser.new_page(viewport=size)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#messages >> text=the latest words")
    assert page.inner_text("#chat-title") == "latest group"
    assert (
        page.get_attribute("#conversations li[data-conversation=cidGroupLatest] button", "aria-current")
        == "true"
    )
    page.close()
