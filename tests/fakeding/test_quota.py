"""DingTalk's monthly quota of metered calls and the paid AI-card streaming permission, from a
plain HTTP client: the first call over the quota is refused in DingTalk's shape, tokens, the
gateway and session-webhook replies are never metered."""

from __future__ import annotations

import json
from typing import Any

import requests

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing


def token(fake: ThreadedFakeDing) -> str:
    return str(
        requests.post(
            fake.http_url + "/v1.0/oauth2/accessToken",
            timeout=10,
            json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
        ).json()["accessToken"]
    )


def group_send(fake: ThreadedFakeDing, access: str, n: int) -> requests.Response:
    return requests.post(
        fake.http_url + "/v1.0/robot/groupMessages/send",
        timeout=10,
        headers={"x-acs-dingtalk-access-token": access},
        json={
            "robotCode": DEFAULT_CLIENT_ID,
            "openConversationId": "cidQ",
            "msgKey": "sampleText",
            "msgParam": json.dumps({"content": f"message {n}"}),
        },
    )


def test_the_first_call_over_the_monthly_quota_is_refused(make_fakeding: Any) -> None:
    fake = make_fakeding(monthly_quota=3, qps_limit=None)
    access = token(fake)
    for _ in range(3):
        token(fake)  # tokens are not metered
    fake.send_message("hi")  # a user's message, then a reply through its session webhook
    session = next(iter(fake.call(lambda: list(fake.fake.platform.sessions))))
    assert (
        requests.post(
            f"{fake.http_url}/robot/sendBySession?session={session}",
            timeout=10,
            json={"msgtype": "text", "text": {"content": "free"}},
        ).json()["errcode"]
        == 0
    )
    assert [group_send(fake, access, n).status_code for n in range(3)] == [200, 200, 200]
    refused = group_send(fake, access, 3)
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "Forbidden.AccessDenied.ApiCountLimitForOrg"
    assert "3 metered calls a month are used up" in body["message"]
    assert fake.call(lambda: fake.fake.platform.metered) == 3
    assert [e["text"] for e in fake.transcript("cidQ")] == [f"message {n}" for n in range(3)]


def test_without_the_streaming_permission_streaming_is_refused(make_fakeding: Any) -> None:
    fake = make_fakeding(ai_card_streaming=False)
    headers = {"x-acs-dingtalk-access-token": token(fake)}
    created = requests.post(
        fake.http_url + "/v1.0/card/instances",
        headers=headers,
        timeout=10,
        json={
            "cardTemplateId": "t.schema",
            "outTrackId": "q1",
            "cardData": {"cardParamMap": {"content": ""}},
        },
    )
    assert created.status_code == 200
    streamed = requests.put(
        fake.http_url + "/v1.0/card/streaming",
        headers=headers,
        timeout=10,
        json={"outTrackId": "q1", "guid": "g", "key": "content", "content": "x", "isFull": True},
    )
    assert streamed.status_code == 403 and "ai_card_streaming" in streamed.json()["message"]
    updated = requests.put(
        fake.http_url + "/v1.0/card/instances",
        headers=headers,
        timeout=10,
        json={"outTrackId": "q1", "cardData": {"cardParamMap": {"content": "whole answer"}}},
    )
    assert updated.status_code == 200  # the unpaid way still works
