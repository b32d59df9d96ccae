"""Errors name what was wrong without echoing it whole, and a robotCode must be the caller's.

Issue 23: a 900 KB value came back whole in the error message; an app could send cards as
another app's robot. Both over real HTTP on loopback, in DingTalk's error shape.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.aio.openapi.robot_settings import CARD_CALLBACK_REGISTER_PATH
from fakeding.core.cards import STANDARD_CARD
from fakeding.core.jsonsafe import echo

HUGE = "v" * 900_000
CARD = json.dumps({"contents": [{"type": "markdown", "text": "hi"}]})


def _token(fake: ThreadedFakeDing, key: str = DEFAULT_CLIENT_ID, secret: str = DEFAULT_CLIENT_SECRET) -> str:
    r = requests.post(
        fake.http_url + "/v1.0/oauth2/accessToken", timeout=10, json={"appKey": key, "appSecret": secret}
    )
    return str(r.json()["accessToken"])


def _call(
    fake: ThreadedFakeDing, path: str, body: Any, token: str | None = None, method: str = "POST"
) -> requests.Response:
    headers = {"x-acs-dingtalk-access-token": token} if token else {}
    return requests.request(method, fake.http_url + path, json=body, headers=headers, timeout=10)


def test_echo_keeps_the_head_and_says_the_size() -> None:
    assert echo("short") == "'short'"
    shown = echo(HUGE)
    assert shown.startswith("'vvv") and shown.endswith("… (900000 bytes)") and len(shown) < 260
    assert echo("é" * 300).endswith("(600 bytes)")
    assert len(echo([HUGE])) < 260 and echo([HUGE]).endswith(" chars)")
    assert echo("\ud83d" * 300).encode("utf-8")  # safe to print and to encode, even cut


@pytest.mark.parametrize(
    "case",
    [
        "msgKey",
        "robotCode",
        "downloadCode",
        "callbackUrl",
        "subscription",
        "webhook msgtype",
        "off-duty template",
    ],
)
def test_a_900_kb_value_is_not_echoed_whole(fakeding: ThreadedFakeDing, case: str) -> None:
    token = _token(fakeding)
    msg = {
        "robotCode": DEFAULT_CLIENT_ID,
        "openConversationId": "cid",
        "msgKey": "sampleText",
        "msgParam": '{"content": "x"}',
    }
    if case == "msgKey":
        r = _call(fakeding, "/v1.0/robot/groupMessages/send", dict(msg, msgKey=HUGE), token)
    elif case == "robotCode":
        r = _call(fakeding, "/v1.0/robot/groupMessages/send", dict(msg, robotCode=HUGE), token)
    elif case == "downloadCode":
        r = _call(
            fakeding,
            "/v1.0/robot/messageFiles/download",
            {"downloadCode": HUGE, "robotCode": DEFAULT_CLIENT_ID},
            token,
        )
    elif case == "callbackUrl":
        r = _call(
            fakeding,
            CARD_CALLBACK_REGISTER_PATH,
            {"callbackRouteKey": "k", "callbackUrl": "http://10.0.0.1/" + HUGE},
            token,
        )
    elif case == "subscription":
        r = _call(
            fakeding,
            "/v1.0/gateway/connections/open",
            {
                "clientId": DEFAULT_CLIENT_ID,
                "clientSecret": DEFAULT_CLIENT_SECRET,
                "subscriptions": [{"type": "CALLBACK", "topic": 1, "x": HUGE}],
            },
        )
    elif case == "webhook msgtype":
        fakeding.send_message("hi")
        key = next(iter(fakeding.fake.platform.sessions))
        r = requests.post(
            f"{fakeding.http_url}/robot/sendBySession?session={key}", json={"msgtype": HUGE}, timeout=10
        )
    else:
        r = _call(
            fakeding,
            "/v1.0/innerApi/robot/stream/away/template/update",
            {"robotCode": DEFAULT_CLIENT_ID, "cardTemplateId": HUGE, "cardData": "{}"},
            token,
        )
    assert len(r.content) < 2000, (r.status_code, r.text[:300])
    assert "bytes)" in r.text or "chars)" in r.text, r.text
    assert r.status_code == (200 if case == "webhook msgtype" else 400), r.text[:300]
    fakeding.reset()  # a refused gateway call may be recorded as the robot's mistake


def test_another_apps_robot_code_is_refused_naming_both(fakeding: ThreadedFakeDing) -> None:
    fakeding.add_app("other-app", "other-secret", robot_code="other-robot")
    token = _token(fakeding)
    card = {
        "cardTemplateId": STANDARD_CARD,
        "robotCode": "other-robot",
        "cardBizId": "c1",
        "openConversationId": "cid",
        "cardData": CARD,
    }
    deliver = {
        "outTrackId": "c2",
        "cardTemplateId": "tpl.schema",
        "cardData": {"cardParamMap": {"x": "1"}},
        "openSpaceId": "dtv1.card//IM_GROUP.cid",
        "imGroupOpenDeliverModel": {"robotCode": "other-robot"},
    }
    cases = [
        ("/v1.0/im/v1.0/robot/interactiveCards/send", card, "robotCode"),
        ("/v1.0/card/instances/createAndDeliver", deliver, "imGroupOpenDeliverModel.robotCode"),
        (
            "/v1.0/robot/groupMessages/send",
            {
                "robotCode": "other-robot",
                "openConversationId": "cid",
                "msgKey": "sampleText",
                "msgParam": '{"content": "x"}',
            },
            "robotCode",
        ),
    ]
    for path, body, field in cases:
        r = _call(fakeding, path, body, token)
        assert r.status_code == 400, (path, r.text)
        answer = r.json()
        assert set(answer) == {"code", "message", "requestid"}
        assert answer["code"] == "invalidParameter.robotCode.auth", answer
        message = answer["message"]
        assert message.startswith(field + ":"), message
        assert DEFAULT_CLIENT_ID in message and "'other-app'" in message, message
        assert "other-robot" in message, message
    assert fakeding.cards() == []
    reasons = [str(v.fields["reason"]) for v in fakeding.violations]
    assert len(reasons) == 3 and all("which is app 'other-app'" in r for r in reasons), reasons
    fakeding.expect_violation("which is app 'other-app'")  # mixing identities is the robot's bug
    # the app's own robotCode still works, and the other app may use its own
    assert (
        _call(
            fakeding,
            "/v1.0/im/v1.0/robot/interactiveCards/send",
            dict(card, robotCode=DEFAULT_CLIENT_ID),
            token,
        ).status_code
        == 200
    )
    other = _token(fakeding, "other-app", "other-secret")
    assert (
        _call(
            fakeding, "/v1.0/im/v1.0/robot/interactiveCards/send", dict(card, cardBizId="c3"), other
        ).status_code
        == 200
    )
