"""The official Python SDK, unmodified, against the fake: every step a robot takes."""

from __future__ import annotations

import json
from typing import Any

import dingtalk_stream
from dingtalk_stream import ChatbotHandler, ChatbotMessage
from dingtalk_stream.card_replier import AICardReplier

from fakeding import ThreadedFakeDing
from tests.fakeding.sdk import RecordingHandler, SdkRobot


def test_sdk_receives_a_group_message_with_every_platform_field(fakeding: ThreadedFakeDing) -> None:
    handler = RecordingHandler()
    with SdkRobot().on_messages(handler):
        fakeding.wait_for("connect")
        sent = fakeding.send_message(
            "hello", conversation_id="cidG1", title="Support", staff_id="alice", nick="Alice"
        )
        fakeding.wait_for("ack")
    data = handler.raw[0]
    assert data["msgId"] == sent.msg_id
    assert data["conversationType"] == "2" and data["conversationTitle"] == "Support"
    assert data["isInAtList"] is True and isinstance(data["atUsers"], list)
    assert data["text"] == {"content": " hello"}
    assert isinstance(data["createAt"], int)
    assert isinstance(data["sessionWebhookExpiredTime"], int)
    assert data["sessionWebhookExpiredTime"] - data["createAt"] == 5_400_000
    assert data["senderStaffId"] == "alice" and data["senderNick"] == "Alice"
    assert data["robotCode"] == "fakeding-client"
    assert data["sessionWebhook"].startswith(fakeding.http_url)
    msg = handler.messages[0]
    assert msg.text.content.strip() == "hello"
    ack = fakeding.timeline(["ack"])[0]
    assert ack["messageId"] == sent.message_id and ack["code"] == 200


def test_sdk_gateway_call_is_recorded_with_subscriptions_and_no_secret(fakeding: ThreadedFakeDing) -> None:
    with SdkRobot().on_messages(RecordingHandler()):
        connect = fakeding.wait_for("connect")[0]
    assert connect["subscriptions"] == ["CALLBACK /v1.0/im/bot/messages/get"]
    gateway = [r for r in fakeding.timeline(["api"]) if r["route"] == "POST /v1.0/gateway/connections/open"][
        0
    ]
    assert gateway["status"] == 200
    assert "fakeding-secret" not in json.dumps(fakeding.timeline())


def test_sdk_single_chat_message_has_no_group_fields(fakeding: ThreadedFakeDing) -> None:
    handler = RecordingHandler()
    with SdkRobot().on_messages(handler):
        fakeding.send_message("hi", conversation_id="cidS1", conversation_type="single", staff_id="bob")
        fakeding.wait_for("ack")
    data = handler.raw[0]
    assert data["conversationType"] == "1"
    assert "isInAtList" not in data and "conversationTitle" not in data
    assert data["text"] == {"content": "hi"}


def _reply_text(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
    handler.reply_text("pong: " + msg.text.content.strip(), msg)


def test_sdk_replies_through_the_session_webhook(fakeding: ThreadedFakeDing) -> None:
    with SdkRobot().on_messages(RecordingHandler(_reply_text)):
        fakeding.send_message("ping", conversation_id="cidG2")
        fakeding.wait_for("webhook")
    hook = fakeding.timeline(["webhook"])[0]
    assert hook["errcode"] == 0 and hook["msgtype"] == "text"
    transcript = fakeding.transcript("cidG2")
    assert [(e["who"], e["text"]) for e in transcript] == [("user:user001", "ping"), ("bot", "pong: ping")]


CARD = {
    "config": {"autoLayout": True},
    "header": {"title": {"type": "text", "text": "Q"}},
    "contents": [{"type": "markdown", "text": "thinking", "id": "m1"}],
}


def _card_flow(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
    biz_id = handler.reply_card(CARD, msg, at_sender=True)
    updated = json.loads(json.dumps(CARD))
    updated["contents"][0]["text"] = "the answer"
    handler.update_card(biz_id, updated)


def test_sdk_sends_and_updates_an_interactive_card(fakeding: ThreadedFakeDing) -> None:
    with SdkRobot().on_messages(RecordingHandler(_card_flow)):
        fakeding.send_message("question", conversation_id="cidG3", staff_id="carol")
        fakeding.wait_for("card.update")
    (card,) = fakeding.cards()
    assert card["conversationId"] == "cidG3"
    texts = [v["cardData"]["contents"][0]["text"] for v in card["versions"]]
    assert texts == ["thinking", "the answer"]
    kinds = [r["kind"] for r in fakeding.timeline(["card.send", "card.update"])]
    assert kinds == ["card.send", "card.update"]
    token_calls = [r for r in fakeding.timeline(["api"]) if r["route"].endswith("accessToken")]
    assert token_calls and token_calls[0]["status"] == 200


def _ai_card_flow(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
    replier = AICardReplier(handler.dingtalk_client, msg)
    card_id = replier.start("ai-template.schema", {"content": ""})
    replier.streaming(card_id, "content", "Hel", append=False, finished=False, failed=False)
    replier.streaming(card_id, "content", "Hello world", append=False, finished=False, failed=False)
    replier.finish(card_id, {"content": "Hello world"})


def test_sdk_creates_and_streams_an_ai_card(fakeding: ThreadedFakeDing) -> None:
    with SdkRobot().on_messages(RecordingHandler(_ai_card_flow)):
        fakeding.wait_for("connect")
        fakeding.send_message("stream please", conversation_id="cidG4")
        fakeding.wait_for("card.update", count=3)
    (card,) = fakeding.cards()
    changes = [v for v in card["versions"] if v["via"] != "deliver"]
    assert [v["via"] for v in changes] == ["create", "stream", "stream", "update"]
    contents = [v["cardData"].get("content") for v in changes]
    assert contents == ["", "Hel", "Hello world", "Hello world"]
    statuses = [v["cardData"].get("flowStatus") for v in changes]
    assert statuses[0] == "1" and statuses[-1] == "3"
    assert fakeding.card(card["cardBizId"]).finalized


def test_sdk_ack_is_correlated_and_the_message_is_not_redelivered(make_fakeding: Any) -> None:
    fake = make_fakeding(redelivery_delay=0.3)
    handler = RecordingHandler()
    with SdkRobot().on_messages(handler):
        fake.send_message("once")
        fake.wait_for("ack")
        # No sleep to prove the absence: once acked, no redelivery timer is left (the window
        # itself, run out on the virtual clock: tests/fakeding/test_rules_virtual.py).
        assert fake.call(fake.fake.stream.in_flight) is False
    assert len(handler.messages) == 1
    assert fake.timeline(["redeliver"]) == []
    assert dingtalk_stream is not None
