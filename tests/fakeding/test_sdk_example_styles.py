"""The official Python SDK's own example styles, unmodified, against the fake with zero
violations (the ``fakeding`` fixture fails a test at teardown on any violation):

- ``cardbot``: an ``AsyncChatbotHandler`` that sets the off-duty prompt at start-up, replies a
  markdown card and updates it;
- ``helloworld``: an ``EventHandler`` registered with ``register_all_event_handler`` (and one
  that answers "retry later" with a non-200 code, the only way the Python SDK has);
- ``agent/hello``: a ``GraphHandler`` answering with ``reply_markdown`` (an ``ai_card`` webhook
  reply) and ``get_success_response``;
- ``cardcallback``: a card-callback handler whose reply carries ``privateData`` per user.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import dingtalk_stream
import pytest
from dingtalk_stream import AckMessage, ChatbotMessage
from dingtalk_stream.card_replier import CardReplier

from fakeding import ThreadedFakeDing
from fakeding.testing.sdk import SdkRobot

TEMPLATE = "589420e2-c1e2-46ef-a5ed-b8728e654da9.schema"


def test_cardbot_style_sets_the_off_duty_prompt_then_replies_and_updates_a_card(
    fakeding: ThreadedFakeDing,
) -> None:
    done = threading.Event()

    class CardBot(dingtalk_stream.AsyncChatbotHandler):
        def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, str]:
            incoming = ChatbotMessage.from_dict(callback.data)
            card = self.reply_markdown_card(
                "**first answer**", incoming, title="AI card", logo="@lALPDfJ6V_FPDmvNAfTNAfQ"
            )
            card.update("**updated answer**")
            done.set()
            return AckMessage.STATUS_OK, "OK"

    robot = SdkRobot()
    bot = CardBot(max_workers=2)
    robot.client.register_callback_handler(ChatbotMessage.TOPIC, bot)
    assert bot.set_off_duty_prompt("Sorry, I am off duty; back at 9:00.") == {"success": True, "result": True}
    with robot:
        fakeding.wait_for("connect")
        fakeding.send_message("hello", conversation_id="cidCardBot", staff_id="alice")
        fakeding.wait_for("card.update")
        assert done.wait(10)
    (app,) = [a for a in fakeding.apps() if a["clientId"] == robot.client.credential.client_id]
    assert "Sorry, I am off duty; back at 9:00." in json.dumps(app["offDutyPrompt"], ensure_ascii=False)
    (card,) = fakeding.cards()
    texts = [json.dumps(v["cardData"], ensure_ascii=False) for v in card["versions"]]
    assert "first answer" in texts[0] and "updated answer" in texts[-1], texts
    assert [r["code"] for r in fakeding.timeline(["ack"])] == [200]
    failed = [(r["route"], r["status"]) for r in fakeding.timeline(["api"]) if r["status"] != 200]
    assert failed == [] and fakeding.violations == []


class OrgEvents(dingtalk_stream.EventHandler):
    """The helloworld example's event handler, keeping what it saw."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dingtalk_stream.EventMessage] = []

    async def process(self, event: dingtalk_stream.EventMessage) -> tuple[int, str]:
        self.events.append(event)
        return AckMessage.STATUS_OK, "OK"


class Chat(dingtalk_stream.CallbackHandler):
    async def process(self, message: dingtalk_stream.CallbackMessage) -> tuple[int, str]:
        return AckMessage.STATUS_OK, "OK"


def test_helloworld_style_event_handler_sees_the_event_headers(fakeding: ThreadedFakeDing) -> None:
    events = OrgEvents()
    robot = SdkRobot()
    robot.client.register_all_event_handler(events)
    robot.client.register_callback_handler(ChatbotMessage.TOPIC, Chat())
    with robot:
        (connect,) = fakeding.wait_for("connect")
        assert "EVENT *" in connect["subscriptions"], connect
        message_id = fakeding.push_event("user_add_org", {"userId": ["dave"], "corpId": "c1"})
        (ack,) = fakeding.wait_for("ack")
    assert ack["code"] == 200 and ack["messageId"] == message_id and "later" not in ack
    (event,) = events.events
    (app,) = [a for a in fakeding.apps() if a["clientId"] == robot.client.credential.client_id]
    assert event.headers.event_type == "user_add_org"
    assert event.headers.event_corp_id == "dingfakecorp0001"
    assert event.headers.event_unified_app_id == app["appId"]
    assert event.headers.event_id and int(event.headers.event_born_time) > 0
    assert event.headers.message_id == message_id
    assert event.data == {"userId": ["dave"], "corpId": "c1"}
    assert fakeding.timeline(["redeliver"]) == [] and fakeding.violations == []


class BusyOnce(OrgEvents):
    """Answers the first delivery with a non-200 code: the platform's "retry later"."""

    async def process(self, event: dingtalk_stream.EventMessage) -> tuple[int, str]:
        self.events.append(event)
        if len(self.events) == 1:
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "busy, later"
        return AckMessage.STATUS_OK, "OK"


@pytest.mark.fakeding(redelivery_delay=1.0)  # the second ack has 1 s before the platform gives up
def test_an_event_answered_later_is_redelivered_without_a_violation(fakeding: ThreadedFakeDing) -> None:
    events = BusyOnce()
    robot = SdkRobot()
    robot.client.register_all_event_handler(events)
    with robot:
        fakeding.wait_for("connect")
        fakeding.push_event("user_leave_org", {"userId": ["erin"]})
        acks = fakeding.wait_for("ack", count=2)
    assert [(a["code"], a.get("later", False)) for a in acks] == [(500, True), (200, False)]
    assert len(fakeding.timeline(["redeliver"])) == 1
    first, second = events.events
    assert first.headers.event_id == second.headers.event_id
    assert second.headers.event_type == "user_leave_org"
    assert fakeding.violations == []


def test_graph_handler_style_answers_with_an_ai_card_webhook_reply(fakeding: ThreadedFakeDing) -> None:
    replies: list[tuple[int, str]] = []

    class Hello(dingtalk_stream.GraphHandler):
        async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, Any]:
            request = dingtalk_stream.GraphRequest.from_dict(callback.data)
            body = json.loads(request.body)
            replies.append(
                await self.reply_markdown(body["sessionWebhook"], "- weather: sunny\n- temperature: 22")
            )
            return AckMessage.STATUS_OK, self.get_success_response({"success": True}).to_dict()

    robot = SdkRobot()
    robot.client.register_callback_handler(dingtalk_stream.GraphMessage.TOPIC, Hello())
    with robot:
        (connect,) = fakeding.wait_for("connect")
        assert "CALLBACK /v1.0/graph/api/invoke" in connect["subscriptions"], connect
        message_id = fakeding.graph_request(
            "what is the weather?", conversation_id="cidAgent", staff_id="alice"
        )
        (ack,) = fakeding.wait_for("ack")
    assert ack["code"] == 200 and ack["messageId"] == message_id
    ((status, answer),) = replies
    assert status == 200 and json.loads(answer) == {"errcode": 0, "errmsg": "ok"}
    said = [(e["who"], e["text"]) for e in fakeding.transcript("cidAgent")]
    assert said == [("user:alice", "what is the weather?"), ("bot", "- weather: sunny\n- temperature: 22")]
    assert fakeding.violations == []


class VoteCards(dingtalk_stream.ChatbotHandler):
    """Sends a vote card per message with the SDK's ``CardReplier``."""

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, str]:
        incoming = ChatbotMessage.from_dict(callback.data)
        CardReplier(self.dingtalk_client, incoming).create_and_deliver_card(
            TEMPLATE, {"title": "Vote", "likes": "0"}
        )
        return AckMessage.STATUS_OK, "OK"


class VoteCallbacks(dingtalk_stream.CallbackHandler):
    """The cardcallback example's handler: its reply carries the tally for everyone and the
    clicking user's own choice as ``privateData``."""

    def __init__(self) -> None:
        super().__init__()
        self.likes = 0

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, Any]:
        click = dingtalk_stream.CardCallbackMessage.from_dict(callback.data)
        (choice,) = click.content["cardPrivateData"]["actionIds"]
        self.likes += choice == "like"
        return AckMessage.STATUS_OK, {
            "cardData": {"cardParamMap": {"likes": str(self.likes)}},
            "privateData": {click.user_id: {"cardParamMap": {"myVote": choice}}},
            "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
        }


def test_card_callback_style_private_data_is_applied_per_user(fakeding: ThreadedFakeDing) -> None:
    robot = SdkRobot()
    robot.client.register_callback_handler(ChatbotMessage.TOPIC, VoteCards())
    robot.client.register_callback_handler(
        dingtalk_stream.CallbackHandler.TOPIC_CARD_CALLBACK, VoteCallbacks()
    )
    with robot:
        fakeding.wait_for("connect")
        fakeding.send_message("vote", conversation_id="cidVotes", staff_id="alice")
        fakeding.wait_for("card.send")
        card_id = fakeding.cards()[0]["cardBizId"]
        fakeding.click(card_id, staff_id="dave", button_id="like")
        fakeding.wait_for("card.update", where=lambda r: r["via"] == "callback")
        fakeding.click(card_id, staff_id="erin", button_id="dislike")
        fakeding.wait_for("card.update", count=2, where=lambda r: r["via"] == "callback")
    (card,) = fakeding.cards()
    assert card["privateData"] == {"dave": {"myVote": "like"}, "erin": {"myVote": "dislike"}}
    assert card["versions"][-1]["cardData"] == {"title": "Vote", "likes": "1"}
    assert [r["code"] for r in fakeding.timeline(["ack"])] == [200, 200, 200]
    assert fakeding.violations == []
