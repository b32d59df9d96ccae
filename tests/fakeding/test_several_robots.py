"""Several apps and robots in one fake, kept apart: two real SDK robots each hear only their own
groups; a robot posts only to groups it is in (DingTalk's error, and a violation, otherwise);
a group delivery must say which robot speaks."""

from __future__ import annotations

import json
from typing import Any

import requests
from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage

from fakeding import ThreadedFakeDing
from fakeding.testing.sdk import SdkRobot

APPS = {"robot-a": "secret-a-123", "robot-b": "secret-b-456"}


class Named(ChatbotHandler):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    async def process(self, callback: Any) -> tuple[int, str]:
        msg = ChatbotMessage.from_dict(callback.data)
        self.reply_text(f"{self.name} heard {msg.text.content.strip()}", msg)
        return AckMessage.STATUS_OK, "OK"


def token(fake: ThreadedFakeDing, app: str) -> str:
    return str(
        requests.post(
            fake.http_url + "/v1.0/oauth2/accessToken",
            timeout=10,
            json={"appKey": app, "appSecret": APPS[app]},
        ).json()["accessToken"]
    )


def group_send(fake: ThreadedFakeDing, app: str, group: str) -> requests.Response:
    return requests.post(
        fake.http_url + "/v1.0/robot/groupMessages/send",
        timeout=10,
        headers={"x-acs-dingtalk-access-token": token(fake, app)},
        json={
            "robotCode": app,
            "openConversationId": group,
            "msgKey": "sampleText",
            "msgParam": json.dumps({"content": "hi"}),
        },
    )


def test_two_robots_hear_their_own_groups_and_post_only_where_they_are(fakeding: ThreadedFakeDing) -> None:
    for app, secret in APPS.items():
        fakeding.add_app(app, secret)
    with (
        SdkRobot("robot-a", APPS["robot-a"]).on_messages(Named("A")),
        SdkRobot("robot-b", APPS["robot-b"]).on_messages(Named("B")),
    ):
        fakeding.wait_for("connect", count=2)
        fakeding.send_message("for a", conversation_id="cidSales", client_id="robot-a")
        fakeding.send_message("for b", conversation_id="cidOps", client_id="robot-b")
        fakeding.wait_for("webhook", count=2)
    said = {
        c: [e["text"] for e in fakeding.transcript(c) if e["who"] == "bot"] for c in ("cidSales", "cidOps")
    }
    assert said == {"cidSales": ["A heard for a"], "cidOps": ["B heard for b"]}

    assert group_send(fakeding, "robot-a", "cidSales").status_code == 200
    refused = group_send(fakeding, "robot-b", "cidSales")
    assert refused.status_code == 400
    answer = refused.json()
    assert answer["code"] == "invalidParameter.robotCode.notExsit"
    assert "['robot-a']" in answer["message"] and "'robot-b'" in answer["message"]
    (violation,) = fakeding.violations
    assert "cidSales" in str(violation.fields["reason"])
    fakeding.expect_violation("not app 'robot-b'")

    added = requests.post(
        fakeding.http_url + "/_fakeding/groups",
        timeout=10,
        json={"conversationId": "cidSales", "clientId": "robot-b"},
    )
    assert added.json() == {"conversationId": "cidSales", "robots": ["robot-a", "robot-b"]}
    assert group_send(fakeding, "robot-b", "cidSales").status_code == 200
    assert group_send(fakeding, "robot-b", "cidNobodyKnows").status_code == 200  # unknown group


def test_a_card_for_a_group_of_another_robot_and_a_deliver_model_without_robot(
    fakeding: ThreadedFakeDing,
) -> None:
    for app, secret in APPS.items():
        fakeding.add_app(app, secret)
    fakeding.send_message("hello a", conversation_id="cidSales", client_id="robot-a")
    headers = {"x-acs-dingtalk-access-token": token(fakeding, "robot-b")}
    card = {
        "cardTemplateId": "t.schema",
        "outTrackId": "b-card",
        "cardData": {"cardParamMap": {"content": "x"}},
        "openSpaceId": "dtv1.card//IM_GROUP.cidSales",
        "imGroupOpenSpaceModel": {"supportForward": True},
        "imGroupOpenDeliverModel": {"robotCode": "robot-b"},
    }
    answer = requests.post(
        fakeding.http_url + "/v1.0/card/instances/createAndDeliver", json=card, headers=headers, timeout=10
    )
    assert answer.json()["code"] == "invalidParameter.robotCode.notExsit"
    unnamed = dict(card, openSpaceId="dtv1.card//IM_GROUP.cidOther", imGroupOpenDeliverModel={})
    answer = requests.post(
        fakeding.http_url + "/v1.0/card/instances/createAndDeliver", json=unnamed, headers=headers, timeout=10
    )
    assert answer.json()["code"] == "param.openDeliverModelEmpty"
    reasons = [str(v.fields["reason"]) for v in fakeding.violations]
    assert len(reasons) == 2 and "which robot speaks" in reasons[1], reasons
    fakeding.expect_violation("not app 'robot-b'")
    fakeding.expect_violation("which robot speaks")
