"""The custom group robot's rules, as the platform judges a ``/robot/send`` call (pure)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from fakeding.core.custom_robots import CustomRobot, CustomRobots, message_text
from fakeding.core.exceptions import ControlError

NOW_MS = 1_767_225_600_000
SECRET = "SECexample0123456789"


def docs_sign(secret: str, timestamp: int) -> str:
    """The sender's recipe from DingTalk's docs: HmacSHA256 of "timestamp\\nsecret", base64."""
    mac = hmac.new(
        secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), digestmod=hashlib.sha256
    ).digest()
    return base64.b64encode(mac).decode()


def robots(**spec: Any) -> CustomRobots:
    found = CustomRobots(per_minute=20)
    found.add(CustomRobot.from_json({"accessToken": "tok-1", "conversationId": "cidOps", **spec}))
    return found


def text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def send(
    r: CustomRobots,
    body: Any,
    *,
    t: float = 0.0,
    wall_ms: int = NOW_MS,
    remote: str = "127.0.0.1",
    **query: str,
) -> tuple[int, str]:
    post = r.post(t, wall_ms, {"access_token": "tok-1", **query}, remote, body)
    return post.errcode, post.errmsg


def test_an_unknown_token_is_refused_as_dingtalk_does() -> None:
    r = robots()
    post = r.post(0.0, NOW_MS, {"access_token": "nope"}, "127.0.0.1", text("hi"))
    assert (post.errcode, post.errmsg) == (300001, "token is not exist")
    assert r.post(0.0, NOW_MS, {}, "127.0.0.1", text("hi")).errcode == 300001


def test_a_signed_robot_needs_a_fresh_timestamp_and_the_right_sign() -> None:
    r = robots(secret=SECRET)
    good = {"timestamp": str(NOW_MS), "sign": docs_sign(SECRET, NOW_MS)}
    assert send(r, text("hi"), **good) == (0, "ok")
    assert send(r, text("hi")) == (310000, "invalid timestamp")
    two_hours_ago = NOW_MS - 7_200_000
    assert send(r, text("hi"), timestamp=str(two_hours_ago), sign=docs_sign(SECRET, two_hours_ago)) == (
        310000,
        "invalid timestamp",
    )
    assert send(r, text("hi"), timestamp=str(NOW_MS), sign=docs_sign("SECwrong", NOW_MS)) == (
        310000,
        "sign not match",
    )
    assert send(r, text("hi"), timestamp="9" * 400, sign="x")[0] == 310000
    within_the_hour = NOW_MS - 3_500_000
    assert send(r, text("hi"), timestamp=str(within_the_hour), sign=docs_sign(SECRET, within_the_hour)) == (
        0,
        "ok",
    )


def test_keywords_must_appear_in_what_the_group_reads() -> None:
    r = robots(keywords=["alert", "告警"])
    assert send(r, text("deploy finished")) == (310000, "keywords not in content")
    assert send(r, text("CPU 告警 on host-1")) == (0, "ok")
    markdown = {"msgtype": "markdown", "markdown": {"title": "alert: disk", "text": "## full"}}
    assert send(r, markdown) == (0, "ok")


def test_the_ip_allowlist_names_the_refused_address() -> None:
    r = robots(ipAllowlist=["10.0.0.0/8"])
    code, message = send(r, text("hi"))
    assert code == 310000 and "127.0.0.1" in message and "白名单" in message
    assert send(robots(ipAllowlist=["127.0.0.1"]), text("hi")) == (0, "ok")


def test_twenty_a_minute_then_ten_minutes_blocked() -> None:
    r = robots()
    assert all(send(r, text(f"m{i}"), t=i)[0] == 0 for i in range(20))
    assert send(r, text("21st"), t=30) == (130101, "send too fast, exceed 20 times per minute")
    assert send(r, text("a minute on"), t=95)[0] == 130101  # still blocked: ten minutes
    assert send(r, text("after the block"), t=30 + 601) == (0, "ok")


@pytest.mark.parametrize(
    "body, expected",
    [
        (None, "缺少参数 json"),
        ({"msgtype": "voice", "voice": {}}, "不合法的参数 msgtype"),
        ({"msgtype": "text"}, "缺少参数 text"),
    ],
)
def test_bad_bodies_get_errcode_40035(body: Any, expected: str) -> None:
    code, message = send(robots(), body)
    assert code == 40035 and expected in message


def test_every_msgtype_shows_its_text_and_at_list() -> None:
    r = robots()
    bodies = {
        "text": text("hello @138"),
        "markdown": {"msgtype": "markdown", "markdown": {"title": "T", "text": "**b**"}},
        "link": {
            "msgtype": "link",
            "link": {"title": "L", "text": "t", "messageUrl": "https://example.invalid/"},
        },
        "actionCard": {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "A",
                "text": "pick",
                "btnOrientation": "0",
                "btns": [
                    {"title": "Yes", "actionURL": "https://example.invalid/y"},
                    {"title": "No", "actionURL": "https://example.invalid/n"},
                ],
            },
        },
        "feedCard": {
            "msgtype": "feedCard",
            "feedCard": {
                "links": [
                    {"title": "one", "messageURL": "https://example.invalid/1", "picURL": ""},
                    {"title": "two", "messageURL": "https://example.invalid/2", "picURL": ""},
                ]
            },
        },
    }
    for msgtype, body in bodies.items():
        body = {**body, "at": {"atMobiles": ["138"], "atUserIds": ["alice"], "isAtAll": False}}
        post = r.post(0.0, NOW_MS, {"access_token": "tok-1"}, "127.0.0.1", body)
        assert post.errcode == 0, (msgtype, post.errmsg)
        assert post.data["at"] == {"atMobiles": ["138"], "atUserIds": ["alice"], "isAtAll": False}
        assert post.data[msgtype] == body[msgtype]
    assert message_text("feedCard", bodies["feedCard"]["feedCard"]) == "one\ntwo"
    assert message_text("actionCard", bodies["actionCard"]["actionCard"]) == "A\npick\nYes\nNo"


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"conversationId": "c"}, "accessToken"),
        ({"accessToken": "t"}, "conversationId"),
        ({"accessToken": "t", "conversationId": "c", "ipAllowlist": ["not-an-ip"]}, "ipAllowlist"),
        ({"accessToken": "t", "conversationId": "c", "keywords": [f"k{i}" for i in range(11)]}, "keywords"),
        ({"accessToken": "t", "conversationId": "c", "secret": ""}, "secret"),
        ({"accessToken": "t", "conversationId": "c", "colour": "red"}, "colour"),
    ],
)
def test_bad_robot_specs_name_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ControlError) as caught:
        CustomRobot.from_json(spec)
    assert caught.value.field == field


def test_the_shown_robot_has_no_secret_and_no_whole_token() -> None:
    robot = CustomRobot.from_json(
        {"accessToken": "0123456789abcdef", "conversationId": "c", "secret": SECRET}
    )
    shown = str(robot.to_json())
    assert SECRET not in shown and "0123456789abcdef" not in shown and "012345" in shown
    found = CustomRobots()
    found.add(robot)
    assert found.secrets == {"0123456789abcdef", SECRET}
