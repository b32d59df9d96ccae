"""The emulator's inspector (issue 24, item 1), in a real Chromium with our robot: clicking a
message, its card or a timeline row shows, in order, the frame pushed (headers and data), the
delivery attempts and acks, the OpenAPI calls the robot made for it (request and response,
secrets masked), the card versions, violations, and the message as a scenario step."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fakeding import DEFAULT_CLIENT_SECRET
from tests.fakeding.emulator_page import DESKTOP, PHONE, LiveRobot


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_inspector_shows_a_messages_frame_its_api_calls_and_its_card(
    browser: Any, live_robot: LiveRobot, size: dict[str, int]
) -> None:
    page = browser.new_page(viewport=size)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_robot.url + "/")
    page.wait_for_selector("#robots[data-state=live]")
    question = f"How do I reset my password? (inspector {size['width']})"
    page.wait_for_selector("#chat-title")
    before = len(page.query_selector_all("#messages .card[data-final=true]"))
    page.fill("#composer-text", question)
    page.press("#composer-text", "Enter")
    page.wait_for_function(
        f"document.querySelectorAll('#messages .card[data-final=true]').length > {before}", timeout=15_000
    )
    card = page.query_selector_all("#messages .card[data-final=true]")[-1]
    assert live_robot.fake is not None
    records = list(live_robot.fake.recorder)
    message = [r for r in records if r.kind == "message"][-1]
    msg_id = message.fields["msgId"]
    push = next(r for r in records if r.kind == "push" and r.fields.get("key") == msg_id)
    card_id = card.get_attribute("data-card-id")

    page.click(f"#messages .msg.mine >> text={question}")
    page.wait_for_selector("#inspector[open] .frame-headers")
    headers = json.loads(page.inner_text("#inspector .frame-headers"))
    assert headers["messageId"] == push.fields["messageId"]
    assert headers["topic"] == "/v1.0/im/bot/messages/get"
    data = json.loads(page.inner_text("#inspector .frame-data"))
    assert data["msgId"] == msg_id and question in data["text"]["content"]
    delivery = page.inner_text("#inspector .inspector-part:nth-of-type(3)")
    assert "push msg#" in delivery and "ack msg#" in delivery
    routes = page.eval_on_selector_all("#inspector .api-call", "cs => cs.map(c => c.dataset.route)")
    assert "POST /v1.0/im/v1.0/robot/interactiveCards/send" in routes
    assert "PUT /v1.0/im/robots/interactiveCards" in routes
    first = json.loads(page.eval_on_selector("#inspector .api-call .api-request", "p => p.textContent"))
    assert first["cardBizId"] == card_id
    versions = page.query_selector_all(f"#inspector .card-version[data-card-id='{card_id}']")
    assert len(versions) == int(card.get_attribute("data-version") or 0) >= 3
    step = page.inner_text("#inspector-step")
    assert step.startswith("- say:") and json.dumps(question) in step
    assert DEFAULT_CLIENT_SECRET not in page.inner_text("#inspector")
    page.click("#inspector-close")
    page.wait_for_selector("#inspector", state="hidden")

    # The card itself, and its row on the timeline, lead to the same message.
    page.click(f"#messages .card[data-card-id='{card_id}'] .version-label")
    page.wait_for_function(f"document.querySelector('#inspector').dataset.msg === {json.dumps(msg_id)}")
    page.click("#inspector-close")
    if size is PHONE:
        page.click("#toggle-panes")
    row = page.locator("#timeline details.ev[data-kind='card.update']").last
    row.locator("summary").click()
    row.locator("pre.fields").wait_for()
    assert str(card_id) in row.inner_text()  # opened: every field, whole
    page.evaluate("document.querySelector('#inspector').dataset.msg = ''")
    row.locator("button.inspect").click()
    page.wait_for_function(f"document.querySelector('#inspector').dataset.msg === {json.dumps(msg_id)}")
    page.wait_for_selector("#inspector[open] .frame-headers")
    assert errors == []
    page.close()
