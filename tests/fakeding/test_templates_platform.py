"""Registered card templates in the running fake: unknown ids refused, blank cards caught by
name, documented limits as warnings, and what each user sees (real server, the real SDK)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from dingtalk_stream import AICardReplier

from fakeding import ThreadedFakeDing
from tests.fakeding.card_helpers import (
    assert_all_accepted,
    incoming,
    sdk_client,
)

HERE = Path(__file__).parent / "templates"
AI = "ai-answer.schema"
FORM = "question-form.schema"


def token(fake: ThreadedFakeDing) -> str:
    return sdk_client().get_access_token()  # type: ignore[no-any-return]


def call(fake: ThreadedFakeDing, method: str, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.request(
        method,
        fake.http_url + path,
        json=body,
        timeout=5,
        headers={"x-acs-dingtalk-access-token": token(fake)},
    )


def create(
    fake: ThreadedFakeDing, template: str, params: dict[str, str], out_track_id: str, **extra: Any
) -> requests.Response:
    return call(
        fake,
        "POST",
        "/v1.0/card/instances/createAndDeliver",
        {
            "cardTemplateId": template,
            "outTrackId": out_track_id,
            "cardData": {"cardParamMap": params},
            "openSpaceId": "dtv1.card//IM_ROBOT.staff001",
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"},
            "callbackType": "STREAM",
            **extra,
        },
    )


def reasons(fake: ThreadedFakeDing, kind: str = "violation") -> list[str]:
    return [r["reason"] for r in fake.timeline([kind])]


# -- no registry: today's behaviour ------------------------------------------------------------
def test_without_templates_any_template_id_is_accepted(fakeding: ThreadedFakeDing) -> None:
    assert create(fakeding, "anything.schema", {"whatever": "x"}, "t1").status_code == 200
    assert fakeding.templates() == [] and fakeding.card_view("t1") is None
    assert reasons(fakeding) == []


# -- registry ---------------------------------------------------------------------------------
def test_unknown_template_is_refused_as_dingtalk_does(fakeding: ThreadedFakeDing) -> None:
    fakeding.add_template(AI, HERE / "ai_answer.json")
    fakeding.expect_violation("param.templateNotExist|expected a template registered")
    answer = create(fakeding, "typo.schema", {"content": "x"}, "t1")
    assert answer.status_code == 400
    assert answer.json()["code"] == "param.templateNotExist"
    assert AI in answer.json()["message"] and "typo.schema" in answer.json()["message"]


def test_sdk_streaming_into_an_undeclared_key_is_a_violation_naming_it(fakeding: ThreadedFakeDing) -> None:
    fakeding.add_template(AI, HERE / "ai_answer.json")
    fakeding.expect_violation("streaming key 'msgContent'")
    fakeding.expect_violation("finished with nothing visible")
    replier = AICardReplier(sdk_client(), incoming("2"))
    card_id = replier.start(AI, {})
    replier.streaming(card_id, "msgContent", "Hi", append=False, finished=True, failed=False)
    assert_all_accepted(fakeding)  # DingTalk says 200 too: the user gets a blank card
    [stream] = [r for r in reasons(fakeding) if "streaming key" in r]
    assert "card stays blank" in stream and "markdown variables: content" in stream
    assert any("finished with nothing visible" in r for r in reasons(fakeding))


def test_sdk_streaming_into_the_declared_key_passes_and_draws(fakeding: ThreadedFakeDing) -> None:
    fakeding.add_template(AI, HERE / "ai_answer.json")
    replier = AICardReplier(sdk_client(), incoming("2"))
    card_id = replier.start(AI, {})
    replier.streaming(card_id, "content", "Hello ", append=True, finished=False, failed=False)
    view = fakeding.card_view(card_id)
    assert view is not None and [n["text"] for n in view["nodes"]] == ["Hello "]
    replier.streaming(card_id, "content", "**world**", append=True, finished=True, failed=False)
    assert_all_accepted(fakeding)
    assert reasons(fakeding) == []
    view = fakeding.card_view(card_id)
    assert view is not None and [n["text"] for n in view["nodes"]] == ["Hello **world**"]


def test_failing_a_card_whose_template_has_no_failed_state(
    fakeding: ThreadedFakeDing, tmp_path: Path
) -> None:
    doc = json.loads((HERE / "ai_answer.json").read_text(encoding="utf-8"))
    editor = json.loads(doc["editorData"])
    editor["extension"]["aiStatusList"] = [1, 2, 3]
    doc["editorData"] = json.dumps(editor)
    (tmp_path / "no-fail.json").write_text(json.dumps(doc), encoding="utf-8")
    fakeding.add_template("no-fail", tmp_path / "no-fail.json")
    fakeding.expect_violation("no failed state")
    replier = AICardReplier(sdk_client(), incoming("2"))
    card_id = replier.start("no-fail", {})
    replier.streaming(card_id, "content", "", append=False, finished=False, failed=True)
    [reason] = reasons(fakeding)
    assert "template no-fail" in reason and "enable the failed state" in reason


def test_undeclared_card_and_private_keys(fakeding: ThreadedFakeDing) -> None:
    fakeding.add_template(FORM, HERE / "question_form.json")
    fakeding.expect_violation("key 'headline'")
    fakeding.expect_violation("key 'submited'")
    answer = create(
        fakeding,
        FORM,
        {"title": "Q", "headline": "oops"},
        "f1",
        privateData={"alice": {"cardParamMap": {"submited": "true"}}},
    )
    assert answer.status_code == 200
    found = reasons(fakeding)
    assert any(
        "cardParamMap key 'headline'" in r
        and "declared: private_answer, question, submitted, tag, title" in r
        for r in found
    )
    assert any("privateData key 'submited' (user alice)" in r for r in found)
    assert len(found) == 2
    update = call(
        fakeding,
        "PUT",
        "/v1.0/card/instances",
        {
            "outTrackId": "f1",
            "cardData": {"cardParamMap": {"headline": "again"}},
            "cardUpdateOptions": {"updateCardDataByKey": True},
        },
    )
    assert update.status_code == 200 and len(reasons(fakeding)) == 2  # once per card


def test_each_user_sees_their_private_data(fakeding: ThreadedFakeDing) -> None:
    fakeding.add_template(FORM, HERE / "question_form.json")
    create(
        fakeding,
        FORM,
        {"title": "Q", "question": "Which?", "submitted": "false"},
        "f1",
        privateData={"alice": {"cardParamMap": {"submitted": "true", "private_answer": "Cards"}}},
    )
    alice = fakeding.card_view("f1", user="alice")
    bob = fakeding.card_view("f1", user="bob", local={"local_answer": "Docs"})
    assert alice is not None and bob is not None
    assert alice["nodes"][-1]["text"] == "Submitted: Cards"
    [button] = [n for n in bob["nodes"] if n["kind"] == "button"]
    assert button["payload"]["actionData"]["cardPrivateData"] == {
        "params": {"local_answer": "Docs"},
        "actionIds": ["submit"],
    }


# -- documented limits DingTalk's own examples break: warnings unless strict ----------------------
def test_a_value_over_1kb_is_a_warning(fakeding: ThreadedFakeDing) -> None:
    assert create(fakeding, "any.schema", {"chart": "x" * 1500}, "w1").status_code == 200
    [warning] = reasons(fakeding, "warning")
    assert "'chart' is 1500 bytes" in warning and "strict_limits" in warning
    assert reasons(fakeding) == []


@pytest.mark.fakeding(strict_limits=True)
def test_strict_limits_refuse_a_value_over_1kb(fakeding: ThreadedFakeDing) -> None:
    answer = create(fakeding, "any.schema", {"chart": "x" * 1500}, "w1")
    assert answer.status_code == 400 and answer.json()["code"] == "param.invalid"


def test_an_empty_streaming_update_is_accepted_with_a_warning(fakeding: ThreadedFakeDing) -> None:
    create(fakeding, "any.schema", {"flowStatus": "1"}, "w2")
    answer = call(
        fakeding,
        "PUT",
        "/v1.0/card/streaming",
        {"outTrackId": "w2", "guid": "g1", "key": "content", "content": "", "isFull": True},
    )
    assert answer.status_code == 200
    assert any("empty streaming update" in r for r in reasons(fakeding, "warning"))
    assert "content" not in fakeding.card("w2").current


def test_a_long_stream_is_a_warning(fakeding: ThreadedFakeDing) -> None:
    create(fakeding, "any.schema", {"flowStatus": "1"}, "w3")
    for i in range(2):
        assert (
            call(
                fakeding,
                "PUT",
                "/v1.0/card/streaming",
                {
                    "outTrackId": "w3",
                    "guid": f"g{i}",
                    "key": "content",
                    "content": "y" * 2000,
                    "isFull": False,
                },
            ).status_code
            == 200
        )
    [warning] = reasons(fakeding, "warning")
    assert "4000 bytes" in warning and "3072-byte" in warning


# -- the control API --------------------------------------------------------------------------
def test_put_a_template_over_the_control_api(fakeding: ThreadedFakeDing) -> None:
    url = f"{fakeding.http_url}/_fakeding/templates/{FORM}"
    body = json.loads((HERE / "question_form.json").read_text(encoding="utf-8"))
    answer = requests.put(url, json=body, timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json()["templateId"] == FORM
    assert {"name": "submitted", "type": "boolean", "private": True} in answer.json()["variables"]
    listed = requests.get(f"{fakeding.http_url}/_fakeding/templates", timeout=5).json()
    assert [t["templateId"] for t in listed] == [FORM]
    bad = requests.put(url, json={"editorData": "{}", "widgetInfo": 5}, timeout=5)
    assert bad.status_code == 400
    assert bad.json() == {  # checked against the route's documented schema
        "error": "widgetInfo: expected the layout as a string (<LinearLayout ...>), found 5",
        "field": "widgetInfo",
    }
    fakeding.reset()
    assert fakeding.templates() == []  # added while running: forgotten by a reset


def test_add_template_names_a_missing_file(fakeding: ThreadedFakeDing, tmp_path: Path) -> None:
    from fakeding.core.templates import TemplateError

    with pytest.raises(TemplateError, match=r"missing\.json.*no readable file"):
        fakeding.add_template("x", tmp_path / "missing.json")


def test_serve_v_console_shows_warnings_and_counts_them() -> None:
    import io

    from fakeding.aio.live import Console

    out = io.StringIO()
    console = Console(out, color=False)
    console(
        [
            {
                "type": "record",
                "kind": "warning",
                "t": 1.0,
                "fields": {},
                "line": "WARNING card c: cardParamMap value 'chart' is 1500 bytes",
            }
        ]
    )
    assert out.getvalue() == "~ +1.000s WARNING card c: cardParamMap value 'chart' is 1500 bytes\n"
    assert console.summary().endswith("0 violations, 1 warnings")


def test_a_click_sends_what_the_template_button_sends(fakeding: ThreadedFakeDing) -> None:
    from fakeding.core.exceptions import ControlError

    fakeding.add_template(FORM, HERE / "question_form.json")
    create(fakeding, FORM, {"title": "Q", "question": "Which?", "submitted": "false"}, "f1")
    with pytest.raises(ControlError, match=r"shows user alice the buttons \['submit'\]"):
        fakeding.click("f1", staff_id="alice", button_id="feedback")
    fakeding.click("f1", staff_id="alice", button_id="submit", params={"local_answer": "Docs", "stray": "x"})
    [click] = fakeding.timeline(["click"])
    assert click["button"] == "submit"
    [line] = [e for e in fakeding.transcript() if e["kind"] == "click"]
    assert line["text"] == "Submit"  # the button's label, as drawn


def test_markdown_quirks_of_a_finished_card_are_warnings(fakeding: ThreadedFakeDing) -> None:
    fakeding.add_template(AI, HERE / "ai_answer.json")
    create(fakeding, AI, {"flowStatus": "1"}, "m1")
    call(
        fakeding,
        "PUT",
        "/v1.0/card/streaming",
        {
            "outTrackId": "m1",
            "guid": "g1",
            "key": "content",
            "isFull": True,
            "isFinalize": True,
            "content": "Steps:\nfirst\n| a | b |",
        },
    )
    found = reasons(fakeding, "warning")
    assert any("markdown 'content': a single newline is ignored in AI-card content" in r for r in found)
    assert any("table without a blank line" in r for r in found)
    assert reasons(fakeding) == []


def test_robot_markdown_quirks_are_warnings(fakeding: ThreadedFakeDing) -> None:
    text = "Report\n| a | b |\n|---|---|\n<div>hi</div>"
    answer = call(
        fakeding,
        "POST",
        "/v1.0/robot/oToMessages/batchSend",
        {
            "robotCode": "fakeding-client",
            "userIds": ["alice"],
            "msgKey": "sampleMarkdown",
            "msgParam": json.dumps({"title": "r", "text": text}),
        },
    )
    assert answer.status_code == 200, answer.text
    found = reasons(fakeding, "warning")
    assert any(
        r.startswith("sampleMarkdown: markdown: line 2: a table without a blank line") for r in found
    ), found
    assert any("<div>" in r for r in found)
