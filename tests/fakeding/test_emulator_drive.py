"""Driving the fake from the emulator page (issue 24, item 5), in a real Chromium: every
setting typed, with its help and default, from the table the control API checks against, and
faults with their options, the list of those still to come, and disarming one; a real picture
uploaded (the robot downloads the very bytes); member events pushed."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.core.control_settings import FIXED, knobs
from tests.fakeding.emulator_page import DESKTOP, PHONE


def _open(page: Any, size: dict[str, int], tab: str) -> None:
    if size is PHONE:
        page.click("#toggle-panes")
    page.click(f"#tab-{tab}")


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_setting_is_typed_with_help_and_default_and_applies(
    browser: Any, fakeding: ThreadedFakeDing, size: dict[str, int]
) -> None:
    page = browser.new_page(viewport=size)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    _open(page, size, "settings")
    page.wait_for_selector("#settings-form .knob[data-setting=extra]")
    table = knobs()
    shown = page.eval_on_selector_all("#settings-form .knob", "ks => ks.map(k => k.dataset.setting)")
    assert shown == [name for name in table if name not in FIXED]
    kinds = {
        name: page.get_attribute(f"#set-{name}", "type")
        for name in ("enforce_scopes", "qps_limit", "max_redeliveries", "corp_id")
    }
    assert kinds == {
        "enforce_scopes": "checkbox",
        "qps_limit": "number",
        "max_redeliveries": "number",
        "corp_id": "text",
    }
    assert page.get_attribute("#set-max_redeliveries", "step") == "1"
    help_id = page.get_attribute("#set-qps_limit", "aria-describedby")
    assert page.inner_text(f"#{help_id}") == (f"{table['qps_limit'].help} · default: 20")

    page.fill("#set-qps_limit", "")  # empty: the rule is off (null)
    page.fill("#set-max_redeliveries", "3")
    page.uncheck("#set-enforce_scopes")
    page.click("#settings-apply")
    page.wait_for_selector(
        "#settings-result >> text=applied: max_redeliveries, qps_limit, enforce_scopes"
    )  # only what changed, in the form's order
    s = fakeding.fake.settings
    assert (s.qps_limit, s.max_redeliveries, s.enforce_scopes) == (None, 3, False)

    page.fill("#set-extra", "{not json")  # the user's mistake, said plainly
    page.click("#settings-apply")
    page.wait_for_selector("#settings-result >> text=extra: expected JSON, found {not json")
    page.fill("#set-extra", "{}")
    page.fill("#set-max_redeliveries", "1.5")
    page.click("#settings-apply")
    page.wait_for_selector("#settings-result >> text=max_redeliveries")
    assert "expected a whole number" in page.inner_text("#settings-result")
    assert fakeding.fake.settings.max_redeliveries == 3
    page.close()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_faults_with_their_options_are_listed_and_disarmed(
    browser: Any, fakeding: ThreadedFakeDing, size: dict[str, int]
) -> None:
    page = browser.new_page(viewport=size)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    _open(page, size, "faults")
    page.wait_for_selector("#faults-armed li >> text=none")

    page.select_option("#fault-route", "PUT /v1.0/card/streaming")
    page.fill("#fault-status", "200")
    page.fill("#fault-delay", "1.5")
    page.fill("#fault-count", "2")
    page.click("#fault-api")
    armed = page.wait_for_selector("#faults-armed li[data-state=armed]")
    text = armed.inner_text()
    assert "route=PUT /v1.0/card/streaming" in text and "delay=1.5" in text and "count=2" in text
    (fault,) = fakeding.fake.platform.faults.armed
    assert (fault.status, fault.delay, fault.count) == (200, 1.5, 2)

    page.fill("#fault-at", "600")  # later: waiting for its time
    page.click("button[data-fault=frame][data-action=drop]")
    page.wait_for_selector("#faults-armed li[data-state=waiting] >> text=action=drop")
    assert len(fakeding.fake.platform.faults.later) == 1

    for state in ("waiting", "armed"):
        page.click(f"#faults-armed li[data-state={state}] button.disarm")
        page.wait_for_selector(f"#faults-armed li[data-state={state}]", state="detached")
    page.wait_for_selector("#faults-armed li >> text=none")
    assert fakeding.fake.platform.faults.listing() == []
    page.close()


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_a_real_picture_is_sent_drawn_and_downloadable_by_the_robot(
    browser: Any, fakeding: ThreadedFakeDing, tmp_path: Any
) -> None:
    picture = tmp_path / "dot.png"
    picture.write_bytes(PNG)
    page = browser.new_page(viewport=PHONE)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    page.set_input_files("#attach-input", str(picture))
    sent = page.wait_for_selector("#messages .msg.mine[data-kind=picture] img.sent-pic")
    assert sent.evaluate("i => i.complete && i.naturalWidth") == 1  # drawn from the real bytes
    code = page.get_attribute("#messages .msg.mine[data-kind=picture]", "data-download")
    (waiting,) = fakeding.fake.stream.engine.waiting  # no robot yet: queued, with the code
    assert waiting.data["msgtype"] == "picture"
    assert waiting.data["content"]["downloadCode"] == code

    token = requests.post(
        fakeding.http_url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    url = requests.post(
        fakeding.http_url + "/v1.0/robot/messageFiles/download",
        timeout=10,
        json={"downloadCode": code, "robotCode": DEFAULT_CLIENT_ID},
        headers={"x-acs-dingtalk-access-token": token},
    ).json()["downloadUrl"]
    assert requests.get(url, timeout=10).content == PNG  # the robot gets exactly what was picked

    bad = requests.post(
        fakeding.http_url + "/_fakeding/files", timeout=10, json={"name": "x.bin", "base64": "not base64!"}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "base64"
    assert errors == []
    page.close()


def test_member_events_are_pushed_from_the_page(browser: Any, fakeding: ThreadedFakeDing) -> None:
    page = browser.new_page(viewport=DESKTOP)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    _open(page, DESKTOP, "connections")
    page.select_option("#event-type", "chat_remove_member")
    page.fill("#event-data", '{"ChatId": "cidGroup001", "UserId": ["bob"]}')
    page.click("#event-send")
    page.wait_for_selector("#event-result >> text=pushed")
    (event,) = fakeding.fake.stream.engine.waiting  # no robot yet: queued for it
    assert event.type == "EVENT" and event.headers["eventType"] == "chat_remove_member"
    assert event.data == {"ChatId": "cidGroup001", "UserId": ["bob"]}
    page.fill("#event-data", "{oops")
    page.click("#event-send")
    page.wait_for_selector("#event-result >> text=data: expected JSON, found {oops")
    page.close()


def test_the_robots_link_and_image_messages_are_drawn_and_a_conversation_restarts(
    browser: Any, fakeding: ThreadedFakeDing
) -> None:
    fakeding.send_message("hello", conversation_id="cidGroup001", title="fakeding group")
    (waiting,) = fakeding.fake.stream.engine.waiting
    hook = waiting.data["sessionWebhook"]
    link = {
        "msgtype": "link",
        "link": {
            "title": "Release notes",
            "text": "what changed",
            "messageUrl": "https://docs.example.invalid/notes",
            "picUrl": "",
        },
    }
    assert requests.post(hook, json=link, timeout=10).json()["errcode"] == 0
    token = requests.post(
        fakeding.http_url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    picture = f"{fakeding.http_url}/_files/none.png"  # loopback: nothing leaves the machine
    sent = requests.post(
        fakeding.http_url + "/v1.0/robot/groupMessages/send",
        timeout=10,
        headers={"x-acs-dingtalk-access-token": token},
        json={
            "robotCode": DEFAULT_CLIENT_ID,
            "openConversationId": "cidGroup001",
            "msgKey": "sampleImageMsg",
            "msgParam": json.dumps({"photoURL": picture}),
        },
    )
    assert sent.status_code == 200, sent.text
    page = browser.new_page(viewport=DESKTOP)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    drawn = page.wait_for_selector("#messages .msg.custom[data-kind='webhook:link'] a.custom-title")
    assert drawn.inner_text() == "Release notes"
    assert drawn.get_attribute("href") == "https://docs.example.invalid/notes"
    image = page.wait_for_selector("#messages .msg.custom[data-kind='robot:sampleImageMsg'] img.custom-pic")
    assert image.get_attribute("src") == picture

    page.click("#restart-conv")
    page.wait_for_selector("#conversations li[data-conversation=cidGroup001R2] button[aria-current=true]")
    assert page.inner_text("#chat-title") == "fakeding group"
    assert page.query_selector_all("#messages .msg") == []  # a fresh start
    page.fill("#composer-text", "from the top")
    page.press("#composer-text", "Enter")
    page.wait_for_selector("#messages .msg.mine >> text=from the top")
    assert fakeding.transcript("cidGroup001R2")[0]["text"] == "from the top"
    page.close()


def test_a_user_is_mentioned_with_at_and_the_robot_gets_at_users(
    browser: Any, fakeding: ThreadedFakeDing
) -> None:
    fakeding.send_message("hi all", conversation_id="cidGroup001", staff_id="bob", nick="Bob", at_bot=False)
    page = browser.new_page(viewport=PHONE)
    page.goto(fakeding.http_url + "/")
    page.wait_for_selector("#live-state[data-state=live]")
    page.wait_for_selector("#at-user option[value=bob]", state="attached")
    page.select_option("#at-user", "bob")
    assert page.input_value("#composer-text") == "@bob "
    page.keyboard.type("please look")
    page.keyboard.press("Enter")
    page.wait_for_selector("#messages .msg.mine >> text=@bob please look")
    data = fakeding.fake.stream.engine.waiting[-1].data
    assert data["text"]["content"] == " @bob please look"
    assert data["isInAtList"] is True
    assert data["atUsers"][1:] == [{"dingtalkId": "$:LWCP_v1:$bob", "staffId": "bob"}]
    page.close()
    bad = requests.post(
        fakeding.http_url + "/_fakeding/messages",
        timeout=10,
        json={
            "conversation": {"id": "cidGroup001", "type": "group"},
            "sender": {"staffId": "a"},
            "text": "x",
            "atUsers": "bob",
        },
    )
    assert bad.status_code == 400
    assert bad.json() == {"error": "atUsers: expected a list of staff ids, found 'bob'", "field": "atUsers"}
