"""HTTP callback mode: an app registered with a callback URL gets its robot messages POSTed,
signed as the platform signs them; the reply comes in the answer or through the webhook."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
import requests
from dingtalk_stream import ChatbotHandler, ChatbotMessage

from fakeding import ThreadedFakeDing
from tests.fakeding.http_target import HttpTarget, Seen

SECRET = "http-mode-secret"
APP = "http-robot"  # registered through the control API by each test


def _expected_sign(timestamp: str) -> str:
    digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _register(fake: ThreadedFakeDing, client_id: str, url: str) -> dict[str, Any]:
    answer = requests.post(
        fake.http_url + "/_fakeding/apps",
        json={"clientId": client_id, "clientSecret": SECRET, "callbackUrl": url},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    shown: dict[str, Any] = answer.json()
    return shown


def test_message_is_posted_signed_and_the_answer_is_the_reply(fakeding: ThreadedFakeDing) -> None:
    def robot(seen: Seen) -> tuple[int, Any, float]:
        msg = ChatbotMessage.from_dict(seen.body)  # the SDK's own model reads the body
        return 200, {"msgtype": "text", "text": {"content": "echo " + msg.text.content.strip()}}, 0

    with HttpTarget(robot) as target:
        shown = _register(fakeding, APP, target.url)
        assert shown["callbackUrl"] == target.url and "clientSecret" not in shown
        sent = fakeding.send_message("hello", conversation_id="cidHttp", client_id=APP)
        fakeding.wait_for("webhook")
    assert sent.delivered and sent.message_id is None
    (seen,) = target.seen
    assert seen.headers["sign"] == _expected_sign(seen.headers["timestamp"])
    assert seen.body["msgId"] == sent.msg_id and seen.body["robotCode"] == APP
    assert fakeding.transcript("cidHttp")[-1]["text"] == "echo hello"
    (webhook,) = fakeding.timeline(["webhook"])
    assert webhook["errcode"] == 0 and webhook["via"] == "http-response"
    assert fakeding.timeline(["push"]) == []


def test_reply_through_the_session_webhook_with_the_sdk_helper(fakeding: ThreadedFakeDing) -> None:
    def robot(seen: Seen) -> tuple[int, Any, float]:
        ChatbotHandler().reply_text("later reply", ChatbotMessage.from_dict(seen.body))
        return 200, b"", 0

    with HttpTarget(robot) as target:
        _register(fakeding, APP, target.url)
        fakeding.send_message("hi", conversation_id="cidHttp2", client_id=APP)
        fakeding.wait_for("callback")
    assert fakeding.transcript("cidHttp2")[-1]["text"] == "later reply"
    assert [r["errcode"] for r in fakeding.timeline(["webhook"])] == [0]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ((500, {"oops": 1}, 0), "HTTP 500"),
        ((200, b"<html>", 0), "not JSON"),
        ((200, {"msgtype": "sms", "sms": {}}, 0), "refused"),
        ((200, {}, 2.5), "no answer within 1 s"),
    ],
)
def test_wrong_answers_and_timeouts_are_violations(
    make_fakeding: Any, answer: tuple[int, Any, float], problem: str
) -> None:
    fake = make_fakeding(http_callback_timeout=1.0)  # the quick answers have a second, not 0.2 s
    with HttpTarget(lambda seen: answer) as target:
        _register(fake, APP, target.url)
        fake.send_message("hi", client_id=APP)
        (violation,) = fake.wait_for("violation")
    assert problem in violation["reason"], violation
    fake.reset()  # the violation was the point


def test_callback_url_must_be_loopback(fakeding: ThreadedFakeDing) -> None:
    answer = requests.post(
        fakeding.http_url + "/_fakeding/apps",
        json={"clientId": "far-robot", "clientSecret": "s", "callbackUrl": "http://10.1.2.3/robot"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "callbackUrl" and "10.1.2.3" in answer.json()["error"]
