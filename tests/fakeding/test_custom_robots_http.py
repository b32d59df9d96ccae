"""The custom group robot over real HTTP: a tool posts to ``/robot/send`` as alerting tools
do (urllib, the signing code written as DingTalk's docs describe it), and the group sees it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from fakeding import ThreadedFakeDing

SECRET = "SECa1b2c3d4e5f6a7b8c9d0"
TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture(scope="module")
def fake() -> Iterator[ThreadedFakeDing]:
    with ThreadedFakeDing() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(fake: ThreadedFakeDing) -> None:
    fake.reset()


def post_json(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 (loopback)
        return resp.status, json.loads(resp.read())


def signed_url(base: str, token: str, secret: str, timestamp_ms: int | None = None) -> str:
    """What a tool builds: timestamp in ms, sign = urlencode(base64(HmacSHA256))."""
    stamp = str(timestamp_ms if timestamp_ms is not None else round(time.time() * 1000))
    mac = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(mac))
    return f"{base}/robot/send?access_token={token}&timestamp={stamp}&sign={sign}"


def test_a_signed_tool_posts_every_msgtype_into_the_group(fake: ThreadedFakeDing) -> None:
    fake.add_custom_robot(
        {"accessToken": TOKEN, "conversationId": "cidAlerts", "secret": SECRET, "name": "Prometheus"}
    )
    bodies = [
        {
            "msgtype": "text",
            "text": {"content": "disk full on db-1 @13800000000"},
            "at": {"atMobiles": ["13800000000"], "isAtAll": False},
        },
        {"msgtype": "markdown", "markdown": {"title": "Deploy", "text": "#### done\n> ok"}},
        {
            "msgtype": "link",
            "link": {"title": "Build 42", "text": "green", "messageUrl": "https://ci.example.invalid/42"},
        },
        {
            "msgtype": "actionCard",
            "actionCard": {
                "title": "Approve?",
                "text": "release 1.2",
                "singleTitle": "Open",
                "singleURL": "https://ci.example.invalid/r",
            },
        },
        {
            "msgtype": "feedCard",
            "feedCard": {
                "links": [
                    {
                        "title": "news 1",
                        "messageURL": "https://example.invalid/1",
                        "picURL": "https://example.invalid/1.png",
                    }
                ]
            },
        },
    ]
    for body in bodies:
        status, answer = post_json(signed_url(fake.http_url, TOKEN, SECRET), body)
        assert (status, answer) == (200, {"errcode": 0, "errmsg": "ok"}), body["msgtype"]
    lines = fake.transcript("cidAlerts")
    assert [line["kind"] for line in lines] == [
        "custom:text",
        "custom:markdown",
        "custom:link",
        "custom:actionCard",
        "custom:feedCard",
    ]
    assert lines[0]["text"] == "disk full on db-1 @13800000000"
    assert lines[0]["data"]["at"]["atMobiles"] == ["13800000000"]
    assert lines[0]["data"]["robot"] == "Prometheus"
    assert lines[3]["data"]["actionCard"]["singleTitle"] == "Open"
    fake.check()  # nothing refused, nothing wrong


def test_a_wrong_signature_is_errcode_310000_and_a_violation(fake: ThreadedFakeDing) -> None:
    fake.add_custom_robot({"accessToken": TOKEN, "conversationId": "cidAlerts", "secret": SECRET})
    url = signed_url(fake.http_url, TOKEN, "SECsomeoneelse")
    status, answer = post_json(url, {"msgtype": "text", "text": {"content": "hi"}})
    assert (status, answer) == (200, {"errcode": 310000, "errmsg": "sign not match"})
    stale = signed_url(fake.http_url, TOKEN, SECRET, round(time.time() * 1000) - 7_300_000)
    assert post_json(stale, {"msgtype": "text", "text": {"content": "hi"}})[1]["errmsg"] == (
        "invalid timestamp"
    )
    assert fake.transcript("cidAlerts") == []
    reasons = [str(v.fields["reason"]) for v in fake.violations]
    assert any("310000 sign not match" in r for r in reasons), reasons
    fake.expect_violation("POST /robot/send refused")
    fake.check()


def test_neither_token_nor_secret_reaches_the_timeline(fake: ThreadedFakeDing) -> None:
    fake.add_custom_robot({"accessToken": TOKEN, "conversationId": "cidAlerts", "secret": SECRET})
    post_json(signed_url(fake.http_url, TOKEN, SECRET), {"msgtype": "text", "text": {"content": "disk full"}})
    dumped = json.dumps(fake.timeline()) + json.dumps(fake.custom_robots())
    assert TOKEN not in dumped and SECRET not in dumped
    (record,) = [r for r in fake.timeline() if r["kind"] == "custom_robot"]
    assert record["errcode"] == 0 and record["conversation"] == "cidAlerts"


def test_the_control_api_adds_and_lists_robots(fake: ThreadedFakeDing) -> None:
    url = fake.http_url + "/_fakeding/custom-robots"
    spec = {"accessToken": "ctl-token-123", "conversationId": "cidCI", "keywords": ["build"]}
    status, shown = post_json(url, spec)
    assert status == 200 and shown["keywords"] == ["build"] and shown["signed"] is False
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (loopback)
        listed = json.loads(resp.read())
    (mine,) = [r for r in listed if r["conversationId"] == "cidCI"]
    assert mine == shown
    request = urllib.request.Request(
        url, data=json.dumps({"accessToken": "x"}).encode(), headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 (loopback)
    error = json.loads(caught.value.read())
    assert caught.value.code == 400 and error["field"] == "conversationId"
    # a keyword robot refuses what lacks its keyword, and robots outlive a reset
    fake.reset()
    answer = post_json(
        f"{fake.http_url}/robot/send?access_token=ctl-token-123",
        {"msgtype": "text", "text": {"content": "deploy"}},
    )[1]
    assert answer == {"errcode": 310000, "errmsg": "keywords not in content"}
    fake.expect_violation("keywords not in content")
    fake.check()
