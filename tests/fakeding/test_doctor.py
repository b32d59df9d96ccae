"""The doctor explains misconfigurations in DingTalk's words: real SDK robots and plain HTTP
clients make each mistake, ``GET /_fakeding/doctor`` names it, and a healthy run has none."""

from __future__ import annotations

import time
from typing import Any

import dingtalk_stream
import requests
from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.testing.sdk import SdkRobot


class Events(dingtalk_stream.EventHandler):  # type: ignore[misc]
    async def process(self, event: Any) -> tuple[int, str]:
        return AckMessage.STATUS_OK, "OK"


class Echo(ChatbotHandler):  # type: ignore[misc]
    async def process(self, callback: Any) -> tuple[int, str]:
        msg = ChatbotMessage.from_dict(callback.data)
        self.reply_text("echo " + msg.text.content.strip(), msg)
        return AckMessage.STATUS_OK, "OK"


def findings(fake: ThreadedFakeDing) -> dict[str, dict[str, Any]]:
    answer = requests.get(fake.http_url + "/_fakeding/doctor", timeout=10)
    assert answer.status_code == 200
    return {f["code"]: f for f in answer.json()["findings"]}


def test_a_robot_subscribed_only_to_events_is_told_about_the_robot_topic(fakeding: ThreadedFakeDing) -> None:
    robot = SdkRobot()
    robot.client.register_all_event_handler(Events())  # the mistake: no ChatbotMessage handler
    with robot:
        fakeding.wait_for("connect")
        fakeding.send_message("hello?")
        fakeding.wait_for("queued")
        found = findings(fakeding)
    problem = found["no-robot-topic"]
    assert problem["severity"] == "error"
    assert "/v1.0/im/bot/messages/get" in problem["detail"] and "EVENT *" in problem["detail"]
    assert "1 message(s) wait" in problem["detail"]
    assert "register_callback_handler(ChatbotMessage.TOPIC" in problem["fix"]


def test_a_healthy_robot_gets_a_clean_bill(fakeding: ThreadedFakeDing) -> None:
    with SdkRobot().on_messages(Echo()):
        fakeding.wait_for("connect")
        fakeding.send_message("hi")
        fakeding.wait_for("webhook")
        assert findings(fakeding) == {}


def test_group_messages_without_at_and_no_robot_at_all(fakeding: ThreadedFakeDing) -> None:
    fakeding.send_message("anyone?", at_bot=False)
    fakeding.send_message("@robot help")
    found = findings(fakeding)
    assert "@-mentioned" in found["group-without-at"]["detail"]
    assert found["no-connection"]["title"].startswith("1 message(s) for app fakeding-client")


def test_an_expired_session_webhook_and_a_stale_token(fakeding: ThreadedFakeDing) -> None:
    fake = fakeding
    with SdkRobot().on_messages(Echo()):
        fake.wait_for("connect")
        fake.send_message("hi")
        fake.wait_for("webhook")
    token = requests.post(
        fake.http_url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    fake.fault({"kind": "clock_jump", "seconds": 7300})  # past both lifetimes, no waiting
    session = next(s for s in fake.call(lambda: list(fake.fake.platform.sessions)))
    late = requests.post(
        f"{fake.http_url}/robot/sendBySession?session={session}",
        timeout=10,
        json={"msgtype": "text", "text": {"content": "late answer"}},
    )
    assert late.json()["errcode"] == 300001
    requests.post(
        fake.http_url + "/v1.0/robot/groupMessages/send",
        timeout=10,
        headers={"x-acs-dingtalk-access-token": token},
        json={
            "robotCode": DEFAULT_CLIENT_ID,
            "openConversationId": "cid",
            "msgKey": "sampleText",
            "msgParam": '{"content": "x"}',
        },
    )
    found = findings(fake)
    assert "sessionWebhookExpiredTime" in found["webhook-expired"]["detail"]
    assert "groupMessages/send" in found["webhook-expired"]["fix"]
    assert found["token-refused"]["evidence"] == ["POST /v1.0/robot/groupMessages/send: 1"]


def test_an_ack_slower_than_the_redelivery_delay(make_fakeding: Any) -> None:
    # the ack must come after the first redelivery (0.3 s) and before the platform gives up
    # (0.3 s per push): five pushes leave it until 1.8 s, not 0.6, so a slow machine fits
    fake = make_fakeding(redelivery_delay=0.3, max_redeliveries=5)

    class Slow(ChatbotHandler):  # type: ignore[misc]
        async def process(self, callback: Any) -> tuple[int, str]:
            time.sleep(0.5)  # works first, acks after: the platform has already redelivered
            return AckMessage.STATUS_OK, "OK"

    with SdkRobot().on_messages(Slow()):
        fake.wait_for("connect")
        fake.send_message("slow")
        fake.wait_for("ack", count=2, timeout=10)
    slow = findings(fake)["slow-ack"]
    assert slow["severity"] == "warning" and "0.3 s" in slow["detail"]
    assert "ack as soon as the message arrives" in slow["fix"]


def test_a_card_left_on_thinking_and_calls_over_the_qps_limit(make_fakeding: Any) -> None:
    fake = make_fakeding(qps_limit=1)
    token = requests.post(
        fake.http_url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    headers = {"x-acs-dingtalk-access-token": token}
    created = requests.post(
        fake.http_url + "/v1.0/card/instances/createAndDeliver",
        timeout=10,
        headers=headers,
        json={
            "cardTemplateId": "ai-card.schema",
            "outTrackId": "stuck-1",
            "cardData": {"cardParamMap": {"content": ""}},
            "openSpaceId": "dtv1.card//IM_GROUP.cidG",
            "imGroupOpenSpaceModel": {"supportForward": True},
            "imGroupOpenDeliverModel": {"robotCode": DEFAULT_CLIENT_ID},
        },
    )
    assert created.status_code == 200, created.text
    for _ in range(3):  # the same second: two of them over a limit of 1 per second
        requests.put(
            fake.http_url + "/v1.0/card/streaming",
            timeout=10,
            headers=headers,
            json={
                "outTrackId": "stuck-1",
                "guid": "g",
                "key": "content",
                "content": "thinking…",
                "isFull": True,
                "isFinalize": False,
            },
        )
    fake.fault({"kind": "clock_jump", "seconds": 120})
    found = findings(fake)
    assert found["card-unfinished"]["evidence"][0].startswith("stuck-1 ")
    assert "isFinalize" in found["card-unfinished"]["fix"]
    assert found["qps-refused"]["evidence"] == ["PUT /v1.0/card/streaming: 2"]


def test_cards_from_templates_the_fake_has_no_export_of(fakeding: ThreadedFakeDing) -> None:
    headers = {
        "x-acs-dingtalk-access-token": requests.post(
            fakeding.http_url + "/v1.0/oauth2/accessToken",
            timeout=10,
            json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
        ).json()["accessToken"]
    }
    created = requests.post(
        fakeding.http_url + "/v1.0/card/instances",
        headers=headers,
        timeout=10,
        json={
            "cardTemplateId": "my-answer.schema",
            "outTrackId": "t-1",
            "cardData": {"cardParamMap": {"content": ""}},
        },
    )
    assert created.status_code == 200
    found = findings(fakeding)["template-unregistered"]
    assert found["evidence"] == ["my-answer.schema"] and "--templates" in found["fix"]
