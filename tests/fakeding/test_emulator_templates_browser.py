"""Template cards in the emulator page, in a real headless Chromium (Playwright + Debian's
``chromium``): a card drawn from its card-platform export, typed into and submitted, showing
the robot's private answer to the clicking user only; and our robot's AI card in AI-card mode
(its shipped template) voted on from the page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dingtalk_stream
import pytest
import requests
from dingtalk_stream import AckMessage

from fakeding import DEFAULT_CLIENT_ID, ThreadedFakeDing
from fakeding.testing.sdk import SdkRobot
from tests.fakeding.card_helpers import sdk_client
from tests.fakeding.emulator_page import LiveRobot

ROOT = Path(__file__).resolve().parents[2]
FORM = "question-form.schema"
AI_TEMPLATE = "fakeding.ai-answer.v1.schema"


class FormRobot(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    """Answers a submit with the clicking user's private submitted state."""

    def __init__(self) -> None:
        super().__init__()
        self.callbacks: list[dict[str, Any]] = []

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, Any]:
        msg = dingtalk_stream.CardCallbackMessage.from_dict(callback.data)
        private = msg.content.get("cardPrivateData", {})
        self.callbacks.append(private)
        answer = str(private.get("params", {}).get("local_answer", ""))
        return AckMessage.STATUS_OK, {
            "userPrivateData": {"cardParamMap": {"submitted": "true", "private_answer": answer}},
            "cardUpdateOptions": {"updatePrivateDataByKey": True},
        }


def test_a_template_card_is_typed_into_submitted_and_answered_privately(
    browser: Any, fakeding: ThreadedFakeDing
) -> None:
    fakeding.add_template(FORM, ROOT / "tests" / "fakeding" / "templates" / "question_form.json")
    fakeding.join_group("cidGroup001", DEFAULT_CLIENT_ID)
    robot = FormRobot()
    with SdkRobot().on_card_callbacks(robot):
        fakeding.wait_for("connect")
        token = sdk_client().get_access_token()
        answer = requests.post(
            fakeding.http_url + "/v1.0/card/instances/createAndDeliver",
            headers={"x-acs-dingtalk-access-token": token},
            timeout=5,
            json={
                "cardTemplateId": FORM,
                "outTrackId": "form-1",
                "callbackType": "STREAM",
                "cardData": {
                    "cardParamMap": {
                        "title": "Quick question",
                        "question": "**Which** feature next?",
                        "submitted": "false",
                    }
                },
                "openSpaceId": "dtv1.card//IM_GROUP.cidGroup001",
                "imGroupOpenDeliverModel": {"robotCode": DEFAULT_CLIENT_ID},
            },
        )
        assert answer.status_code == 200, answer.text
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(fakeding.http_url + "/")
        page.wait_for_selector("#live-state[data-state=live]")
        card = page.wait_for_selector("#messages .card[data-card-id=form-1] .card-template")
        assert card is not None
        page.wait_for_selector("#messages .card .card-md b >> text=Which")  # markdown drawn
        page.fill("#messages .card input.tpl-input[data-local=local_answer]", "Dark mode")
        page.click("#messages .card .card-btn[data-button-id=submit]")
        page.wait_for_selector("#messages .card >> text=Submitted: Dark mode", timeout=10_000)
        assert page.query_selector("#messages .card .card-btn[data-button-id=submit]") is None
        assert robot.callbacks == [{"actionIds": ["submit"], "params": {"local_answer": "Dark mode"}}]
        # another user still sees the question, not Alice's answer
        page.evaluate("() => { document.querySelector('#new-user').value = 'bob'; }")
        page.click("#add-user")
        page.wait_for_selector("#messages .card .card-btn[data-button-id=submit]")
        assert "Dark mode" not in page.inner_text("#messages .card")
        assert errors == []
        page.close()


@pytest.fixture
def ai_robot() -> Iterator[LiveRobot]:
    """Our robot in AI-card mode, its cards drawn from the template it ships."""
    robot = {"agent": {"name": "faq", "delay": 0.05}, "locale": "en", "cardMode": "ai"}
    template = ROOT / "bot" / "templates" / f"{AI_TEMPLATE}.json"
    with LiveRobot(robot, templates=((AI_TEMPLATE, template),)) as live:
        yield live


def test_our_ai_card_is_drawn_from_its_template_and_voted_on(browser: Any, ai_robot: LiveRobot) -> None:
    assert ai_robot.fake is not None
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(ai_robot.fake.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    page.wait_for_selector("#connections li[data-connection]", state="attached")
    page.fill("#composer-text", "How do I reset my password?")
    page.press("#composer-text", "Enter")
    page.wait_for_selector("#messages .card .card-flow[data-flow='3']", timeout=15_000)
    card = page.wait_for_selector("#messages .card .card-template")
    assert card is not None
    assert card.eval_on_selector_all(".card-btn", "bs => bs.map(b => b.textContent)") == [
        "😄 Very Helpful",
        "😊 Helpful",
        "🙂 Somewhat Helpful",
        "😅 Not Helpful",
    ]
    assert "flowStatus" not in card.inner_text()  # drawn, not a dump of variables
    page.click("#messages .card .card-btn[data-button-id=feedback_helpful]")
    page.wait_for_selector("#messages .card >> text=You rated: 😊 Helpful", timeout=10_000)
    page.wait_for_selector("#messages .card >> text=Feedback so far: 😊 Helpful 1")
    # The history draws every version from the template, with the user's private data of
    # then: before the vote there is no "You rated" (before: earlier versions were data dumps).
    latest = int(page.get_attribute("#messages .card", "data-version") or 0)
    seen: list[tuple[int, str, bool]] = []
    for version in range(latest - 1, 0, -1):
        page.click("#messages .card .prev")
        drawn = f"#messages .card[data-version='{version}'] .card-template .card-body > *"
        page.wait_for_selector(drawn)  # filled in one go when the view comes: all of it
        label = page.inner_text("#messages .card .version-label")
        text = page.inner_text("#messages .card .card-template")
        assert "flowStatus" not in text
        seen.append((version, label.rsplit("· ", 1)[-1], "You rated" in text))
        if "You rated" not in text:
            break
    # versions from the vote (its callback) on show the rating; the one before it does not
    assert seen[-1][2] is False and all(rated for _, _, rated in seen[:-1]), seen
    assert len(seen) >= 2 and seen[-2][1] == "callback", seen
    assert page.query_selector("#messages .card .card-btn[data-button-id=feedback_helpful]")
    page.click("#messages .card .latest")
    page.wait_for_selector("#messages .card >> text=You rated: 😊 Helpful")
    assert errors == []
    page.close()


def test_progress_bars_tags_and_charts_are_drawn_as_elements(
    browser: Any, fakeding: ThreadedFakeDing, tmp_path: Path
) -> None:
    from tests.fakeding.test_templates_drawn import DATA, _components_export

    export = tmp_path / "components.json"
    export.write_text(json.dumps(_components_export()), encoding="utf-8")
    fakeding.add_template("components.schema", export)
    fakeding.join_group("cidGroup001", DEFAULT_CLIENT_ID)
    answer = requests.post(
        fakeding.http_url + "/v1.0/card/instances/createAndDeliver",
        headers={"x-acs-dingtalk-access-token": sdk_client().get_access_token()},
        timeout=5,
        json={
            "cardTemplateId": "components.schema",
            "outTrackId": "parts-1",
            "cardData": {"cardParamMap": DATA},
            "openSpaceId": "dtv1.card//IM_GROUP.cidGroup001",
            "imGroupOpenDeliverModel": {"robotCode": DEFAULT_CLIENT_ID},
        },
    )
    assert answer.status_code == 200, answer.text
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    card = page.wait_for_selector("#messages .card[data-card-id=parts-1] .tpl-progress")
    assert card is not None
    bars = page.eval_on_selector_all(
        "#messages .card .tpl-progress",
        "bs => bs.map(b => [b.getAttribute('aria-valuenow'),"
        " b.querySelector('.tpl-progress-fill').style.width])",
    )
    assert bars == [["100", "100%"], ["60", "60%"]]
    tags = page.eval_on_selector_all("#messages .card .tpl-tag", "ts => ts.map(t => t.textContent)")
    assert tags == ["Finance", "Too long", "Wrong"]
    assert page.get_attribute("#messages .card svg.tpl-chart", "aria-label") == "barChart, 2 points"
    assert len(page.query_selector_all("#messages .card svg.tpl-chart rect")) == 2
    assert "[" not in page.inner_text("#messages .card .card-template")  # nothing dumped
    page.close()


def test_robot_markdown_is_drawn_as_dingtalk_draws_it(browser: Any, fakeding: ThreadedFakeDing) -> None:
    fakeding.add_custom_robot(
        {"accessToken": "md-token", "conversationId": "cidGroup001", "name": "Reporter"}
    )
    text = (
        '# Weekly\n> quoted\n<font color="#FF0000">red</font> and **bold**\n\n'
        "| a | b |\n![chart](https://example.invalid/c.png) ![m](@lAmedia)"
    )
    assert (
        requests.post(
            f"{fakeding.http_url}/robot/send?access_token=md-token",
            timeout=10,
            json={"msgtype": "markdown", "markdown": {"title": "w", "text": text}},
        ).json()["errcode"]
        == 0
    )
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    page.click("#conversations li[data-conversation=cidGroup001]")
    md = page.wait_for_selector("#messages .msg.custom[data-kind='custom:markdown'] .card-md")
    assert md is not None
    assert md.inner_html() == (
        "<h1>Weekly</h1><blockquote>quoted</blockquote>"
        '<p><span style="color:#FF0000">red</span> and <b>bold</b></p>'
        '<p class="literal">| a | b |</p>'
        '<p><img alt="chart" src="https://example.invalid/c.png"> [image @lAmedia]</p>'
    )
    page.close()


def test_the_page_and_the_python_module_draw_markdown_alike(browser: Any, fakeding: ThreadedFakeDing) -> None:
    from fakeding.core.templates.markdown import to_html

    samples = [
        "# T\n> q\n- a\n1. b",
        "**b** *i* [l](https://x.invalid/a)",
        "x\ny\n\nz",
        "```\ncode\n```",
        "<font color='#00F'>blue</font><br>next",
        "![i](@m) <div>",
    ]
    page = browser.new_page()
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    for surface in ("ai", "card", "robot"):
        for sample in samples:
            drawn = page.evaluate("([t, s]) => markdown(t, s).innerHTML", [sample, surface])
            probe = page.evaluate(
                "(h) => { const d = document.createElement('div'); d.innerHTML = h; return d.innerHTML; }",
                to_html(sample, surface),
            )
            assert drawn == probe, (surface, sample)
    page.close()
