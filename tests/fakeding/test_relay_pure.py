"""The recording's pure parts: what a cassette becomes as a scenario, and what is redacted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakeding.relay.edge import LEAK, RelayError, cassette_path, write_recording
from fakeding.relay.redact import SECRET, Redactor
from fakeding.relay.scenario import CARD_TOPIC, ROBOT_TOPIC, scenario_from_cassette


def push(
    t: float, topic: str, data: dict[str, Any], message_id: str, kind: str = "CALLBACK", **headers: str
) -> dict[str, Any]:
    return {
        "t": t,
        "kind": "push",
        "connection": 1,
        "frame": {
            "specVersion": "1.0",
            "type": kind,
            "headers": {"topic": topic, "messageId": message_id, **headers},
            "data": json.dumps(data),
        },
    }


def message(text: str, staff: str = "staff9", cid: str = "cidAA+/==", single: bool = False) -> dict[str, Any]:
    return {
        "senderStaffId": staff,
        "senderNick": "Wang Fang",
        "conversationId": cid,
        "conversationType": "1" if single else "2",
        "conversationTitle": "Ops Room",
        "msgtype": "text",
        "text": {"content": text if single else " " + text},
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=abc123456",
    }


def http(
    t: float,
    method: str,
    path: str,
    request: Any,
    status: int = 200,
    response: Any = None,
    target: str = "upstream",
) -> dict[str, Any]:
    return {
        "t": t,
        "kind": "http",
        "method": method,
        "path": path,
        "target": target,
        "request": request,
        "status": status,
        "response": response or {},
    }


CASSETTE = [
    push(10.0, ROBOT_TOPIC, message("hello"), "m1"),
    push(12.0, ROBOT_TOPIC, message("hello"), "m1"),  # a redelivery: not a second question
    http(12.5, "POST", "/v1.0/im/v1.0/robot/interactiveCards/send", {"cardBizId": "card-a"}),
    http(13.0, "PUT", "/v1.0/im/robots/interactiveCards", {"cardBizId": "card-a"}),
    http(13.5, "PUT", "/v1.0/im/robots/interactiveCards", {"cardBizId": "card-a"}),
    http(13.6, "PUT", "/v1.0/im/robots/interactiveCards", {"cardBizId": "card-a"}, status=400),
    push(
        15.25,
        CARD_TOPIC,
        {
            "outTrackId": "card-a",
            "userId": "staff9",
            "content": json.dumps({"cardPrivateData": {"actionIds": ["like"], "params": {"v": 1}}}),
        },
        "m2",
    ),
    push(16.0, "*", {"userId": ["staff9"]}, "m3", kind="EVENT", eventType="user_add_org"),
    push(17.0, "ping", {"opaque": "x"}, "m4", kind="SYSTEM"),
    push(18.0, ROBOT_TOPIC, message("bye", single=True, cid="cidDirect"), "m5"),
    http(
        18.5,
        "POST",
        "https://oapi.dingtalk.com/robot/sendBySession?session=abc123456",
        {"msgtype": "text"},
        response={"errcode": 0},
        target="webhook",
    ),
    http(
        18.6,
        "POST",
        "https://oapi.dingtalk.com/robot/sendBySession?session=abc123456",
        {"msgtype": "text"},
        response={"errcode": 130101},
        target="webhook",
    ),
]


def test_people_become_steps_at_their_times_and_the_robot_expectations() -> None:
    scenario = scenario_from_cassette(CASSETTE, name="x")
    assert scenario["steps"] == [
        {"at": 0.0, "say": {"user": "staff9", "in": "cidAA", "text": "hello"}},
        {"at": 5.25, "click": {"user": "staff9", "card": 1, "button": "like", "params": {"v": 1}}},
        {"at": 6.0, "event": {"type": "user_add_org", "data": {"userId": ["staff9"]}}},
        {"at": 8.0, "say": {"user": "staff9", "in": "cidDirect", "text": "bye"}},
    ]
    assert scenario["conversations"] == {
        "cidAA": {"type": "group", "title": "Ops Room"},
        "cidDirect": {"type": "single"},
    }
    # the refused update and the refused webhook reply are not what the robot did
    assert scenario["expect"] == {"cards": 1, "webhook_replies": 1, "answers": 2, "max_updates_per_card": 2}


def test_a_click_on_a_card_from_before_the_recording_is_left_out() -> None:
    entries = [push(1.0, CARD_TOPIC, {"outTrackId": "older", "userId": "u1", "content": "{}"}, "m1")]
    assert scenario_from_cassette(entries)["steps"] == [{"at": 0, "wait": True}]


def test_the_redactor_replaces_ids_names_tokens_and_secrets_consistently() -> None:
    redactor = Redactor()
    redactor.secret("s3cr3t/+=")
    redactor.walk(CASSETTE)
    redactor.walk(
        {
            "path": "/gettoken?appkey=dingk1&appsecret=other-secret",
            "headers": {"x-acs-dingtalk-access-token": "tok-123456"},
        }
    )
    text = redactor.apply(
        json.dumps(
            {
                "c": CASSETTE,
                "q": "s3cr3t%2F%2B%3D and tok-123456",
                "g": "/gettoken?appkey=dingk1&appsecret=other-secret",
            }
        )
    )
    for private in (
        "staff9",
        "Wang Fang",
        "Ops Room",
        "abc123456",
        "tok-123456",
        "other-secret",
        "s3cr3t",
        "dingk1",
        "cidAA+/==",
    ):
        assert private not in text, private
    assert text.count("user-1") >= 4 and "User 1" in text and "Group 1" in text
    assert f"{SECRET} and token-" in text
    assert redactor.leaks(text) == []


def test_keep_names_keeps_names_but_not_ids() -> None:
    redactor = Redactor(keep_names=True)
    redactor.walk(CASSETTE)
    text = redactor.apply(json.dumps(CASSETTE))
    assert "Wang Fang" in text and "staff9" not in text


def test_write_recording_puts_the_cassette_next_to_the_scenario(tmp_path: Path) -> None:
    out = tmp_path / "s.yaml"
    scenario, tape = write_recording(
        CASSETTE, out, upstream="https://api.dingtalk.com", client_id="dingk1", client_secret="s3cr3t"
    )
    assert tape == cassette_path(out) == tmp_path / "s.cassette.json"
    assert "user-1" in scenario.read_text() and "staff9" not in tape.read_text()


def test_a_secret_that_would_remain_stops_the_write(tmp_path: Path) -> None:
    redactor = Redactor()
    redactor.secret("abc")
    assert redactor.leaks("x abc y") == ["ab...(3 chars)"]
    # a client id equal to the secret (a user's mistake): the secret wins, nothing leaks
    out = tmp_path / "s.yaml"
    write_recording(CASSETTE, out, upstream="u", client_id="dingk1", client_secret="dingk1")
    assert "dingk1" not in out.read_text()
    assert RelayError("x", LEAK).exit_code == LEAK


@pytest.mark.parametrize("bad", ["", "not json", "[1, 2]"])
def test_a_frame_whose_data_is_not_an_object_is_skipped(bad: str) -> None:
    entry = push(1.0, ROBOT_TOPIC, {}, "m1")
    entry["frame"]["data"] = bad
    assert scenario_from_cassette([entry])["steps"] == [{"at": 0, "wait": True}]


def test_record_profile_goes_into_the_scenario_for_the_replay(tmp_path: Path) -> None:
    import yaml

    out = tmp_path / "s.yaml"
    write_recording(CASSETTE, out, upstream="u", client_id="dingk1", client_secret="x1", profile="observed")
    data = yaml.safe_load(out.read_text())
    assert list(data)[:3] == ["name", "description", "platform"]
    assert data["platform"] == {"profile": "observed"}
