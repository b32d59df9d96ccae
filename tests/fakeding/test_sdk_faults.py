"""Platform behaviours and injected faults, each observed through the unmodified SDK client."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from dingtalk_stream import ChatbotHandler, ChatbotMessage

from fakeding import ThreadedFakeDing
from tests.fakeding.sdk import CardCallbackRecorder, RecordingHandler, SdkRobot


class SlowHandler(RecordingHandler):
    """Acks only when released: the first delivery stays un-acked."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    async def process(self, callback: Any) -> tuple[int, str]:
        self.raw.append(callback.data)
        if len(self.raw) == 1:
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        return 200, "OK"


@pytest.mark.parametrize("new_id", [False, True])
def test_unacked_message_is_redelivered_with_the_same_msg_id(make_fakeding: Any, new_id: bool) -> None:
    # 1 s between pushes: the test's release and both acks fit in one window, even on a slow
    # machine, so there is neither a third push nor a give-up
    fake = make_fakeding(redelivery_delay=1.0, redelivery_new_message_id=new_id)
    handler = SlowHandler()
    with SdkRobot().on_messages(handler):
        fake.wait_for("connect")
        sent = fake.send_message("are you there?")
        fake.wait_for("redeliver")
        fake.wait_until(lambda: len(handler.raw) >= 2, what="second delivery")
        handler.release.set()
        fake.wait_for("ack", count=2)
    assert [d["msgId"] for d in handler.raw] == [sent.msg_id, sent.msg_id]
    pushes = fake.timeline(["push", "redeliver"])
    ids = [p["messageId"] for p in pushes if p["type"] == "CALLBACK"]
    assert len(ids) == 2
    assert (ids[0] != ids[1]) is new_id
    assert fake.timeline(["redeliver"])[0]["attempt"] == 2


def test_several_connections_share_pushes_and_each_message_goes_to_one(fakeding: ThreadedFakeDing) -> None:
    a, b = RecordingHandler(), RecordingHandler()
    with SdkRobot().on_messages(a), SdkRobot().on_messages(b):
        fakeding.wait_for("connect", count=2)
        sent = [fakeding.send_message(f"m{i}") for i in range(12)]
        fakeding.wait_for("ack", count=12)
    got = [m["msgId"] for m in a.raw] + [m["msgId"] for m in b.raw]
    assert sorted(got) == sorted(s.msg_id for s in sent)
    assert a.raw and b.raw


def test_system_disconnect_makes_the_sdk_reconnect_and_routing_moves(fakeding: ThreadedFakeDing) -> None:
    handler = RecordingHandler()
    with SdkRobot().on_messages(handler):
        first = fakeding.wait_for("connect")[0]["connection"]
        fakeding.fault({"kind": "disconnect"})
        second = fakeding.wait_for("connect", count=2)[1]["connection"]
        fakeding.send_message("after the disconnect")
        fakeding.wait_for("ack", count=2)  # the disconnect ack + the message ack
    push = [p for p in fakeding.timeline(["push"]) if p["type"] == "CALLBACK"][0]
    assert push["connection"] == second != first
    system = [p for p in fakeding.timeline(["push"]) if p["type"] == "SYSTEM"]
    assert system[0]["topic"] == "disconnect"
    assert len(handler.raw) == 1


def test_a_dropped_connection_loses_nothing(make_fakeding: Any) -> None:
    """The SDK waits 10 s after an abnormal close; the message queued meanwhile arrives then."""
    fake = make_fakeding()
    handler = RecordingHandler()
    with SdkRobot().on_messages(handler):
        fake.wait_for("connect")
        fake.fault({"kind": "drop_connection"})
        fake.wait_for("disconnect")
        sent = fake.send_message("while you were away")
        assert fake.timeline(["queued"])
        fake.wait_for("ack", timeout=25)
    assert [m["msgId"] for m in handler.raw] == [sent.msg_id]
    assert fake.timeline(["disconnect"])[0]["code"] == 1006


def test_zombie_connection_swallows_frames_until_redelivery_finds_a_live_one(make_fakeding: Any) -> None:
    fake = make_fakeding(redelivery_delay=0.1, max_redeliveries=200)
    first, second = RecordingHandler(), RecordingHandler()
    with SdkRobot().on_messages(first):
        fake.wait_for("connect")
        fake.fault({"kind": "zombie"})
        with SdkRobot().on_messages(second):
            fake.wait_for("connect", count=2)
            sent = [fake.send_message(f"z{i}") for i in range(4)]
            fake.wait_for("ack", count=4, timeout=40)
    assert first.raw == []
    assert sorted(m["msgId"] for m in second.raw) == sorted(s.msg_id for s in sent)
    swallowed = [r for r in fake.timeline(["push", "redeliver"]) if r.get("swallowed")]
    assert swallowed, "some frame must have been routed to the zombie"


def test_system_ping_is_acked_with_its_opaque(make_fakeding: Any) -> None:
    fake = make_fakeding(system_ping_interval=0.1)
    with SdkRobot().on_messages(RecordingHandler()):
        fake.wait_for("ack", count=2, where=lambda r: r["topic"] == "ping")
    assert fake.violations == []


@pytest.mark.parametrize("action", ["drop", "delay", "duplicate"])
def test_frame_faults(make_fakeding: Any, action: str) -> None:
    # a delayed frame (0.2 s) must be acked before any redelivery: 1 s leaves a slow machine room
    fake = make_fakeding(redelivery_delay=1.0)
    handler = RecordingHandler()
    with SdkRobot().on_messages(handler):
        fake.wait_for("connect")
        fake.fault({"kind": "frame", "action": action, "nth": 1, "delay": 0.2})
        sent = fake.send_message("fragile")
        if action == "duplicate":
            fake.wait_until(lambda: len(handler.raw) == 2, what="two deliveries")
        else:
            fake.wait_for("ack")
    msg_ids = [m["msgId"] for m in handler.raw]
    if action == "duplicate":
        assert msg_ids == [sent.msg_id, sent.msg_id]
    else:
        assert msg_ids == [sent.msg_id]
    if action == "drop":
        assert fake.timeline(["redeliver"]), "a dropped frame is redelivered after the delay"
    push = fake.timeline(["push"])[0]
    assert push["fault"].startswith(action)


CARD = {
    "header": {"title": {"type": "text", "text": "Q"}},
    "contents": [
        {"type": "markdown", "text": "x", "id": "m"},
        {
            "type": "action",
            "id": "row",
            "actions": [
                {
                    "type": "button",
                    "actionType": "request",
                    "id": "yes",
                    "label": {"type": "text", "text": "Yes"},
                    "value": {"action": "vote", "v": "yes"},
                }
            ],
        },
    ],
}


def _many_updates(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
    biz = handler.reply_card(CARD, msg)
    for i in range(25):
        data = json.loads(json.dumps(CARD))
        data["contents"][0]["text"] = f"v{i}"
        handler.update_card(biz, data)


def test_qps_limit_answers_403_past_20_calls_a_second(fakeding: ThreadedFakeDing) -> None:
    with SdkRobot().on_messages(RecordingHandler(_many_updates)):
        fakeding.wait_for("connect")
        fakeding.send_message("go")
        fakeding.wait_for("api", count=27, timeout=20)
    updates = [r for r in fakeding.timeline(["api"]) if r["route"] == "PUT /v1.0/im/robots/interactiveCards"]
    limited = [r for r in updates if r["status"] == 403]
    assert limited, "25 updates within a second must hit the 20 QPS limit"
    assert limited[0]["response"]["code"] == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
    assert len([r for r in updates if r["status"] == 200]) >= 20 - 1


def _reply_once_per_message(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
    handler.reply_text("ok", msg)


def test_webhook_limit_and_expiry(make_fakeding: Any) -> None:
    fake = make_fakeding(webhook_per_minute=3, webhook_ttl=600)
    with SdkRobot().on_messages(RecordingHandler(_reply_once_per_message)):
        fake.wait_for("connect")
        for i in range(4):
            fake.send_message(f"q{i}")
        fake.wait_for("webhook", count=4)
    codes = sorted(r["errcode"] for r in fake.timeline(["webhook"]))
    assert codes == [0, 0, 0, 130101]


def test_expired_session_webhook_answers_300001(make_fakeding: Any) -> None:
    fake = make_fakeding(webhook_ttl=0.05)

    def late_reply(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
        time.sleep(0.2)
        handler.reply_text("too late", msg)

    with SdkRobot().on_messages(RecordingHandler(late_reply)):
        fake.wait_for("connect")
        fake.send_message("q")
        hook = fake.wait_for("webhook")[0]
    assert hook["errcode"] == 300001


def test_api_fault_fails_the_nth_call_then_recovers(fakeding: ThreadedFakeDing) -> None:
    fakeding.fault(
        {
            "kind": "api",
            "route": "PUT /v1.0/im/robots/interactiveCards",
            "nth": 2,
            "status": 500,
            "code": "system.busy",
        }
    )

    def three_updates(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
        biz = handler.reply_card(CARD, msg)
        for _ in range(3):
            handler.update_card(biz, CARD)

    with SdkRobot().on_messages(RecordingHandler(three_updates)):
        fakeding.wait_for("connect")
        fakeding.send_message("q")
        fakeding.wait_for("api", count=5, where=lambda r: r["route"] != "POST /v1.0/gateway/connections/open")
    statuses = [
        r["status"]
        for r in fakeding.timeline(["api"])
        if r["route"] == "PUT /v1.0/im/robots/interactiveCards"
    ]
    assert statuses == [200, 500, 200]
    assert fakeding.timeline(["fault"])[-1]["code"] == "system.busy"


def test_expired_token_gets_invalid_authentication(fakeding: ThreadedFakeDing) -> None:
    def send_then_update(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
        biz = handler.reply_card(CARD, msg)
        fakeding.fault({"kind": "expire_token"})
        handler.update_card(biz, CARD)

    with SdkRobot().on_messages(RecordingHandler(send_then_update)):
        fakeding.wait_for("connect")
        fakeding.send_message("q")
        fakeding.wait_for("api", count=2, where=lambda r: "interactiveCards" in r["route"])
    update = [r for r in fakeding.timeline(["api"]) if r["route"] == "PUT /v1.0/im/robots/interactiveCards"][
        0
    ]
    assert update["status"] == 400 and update["response"]["code"] == "InvalidAuthentication"


def test_missing_streaming_scope_gets_the_platform_error(fakeding: ThreadedFakeDing) -> None:
    fakeding.add_app("limited-app", "limited-secret", scopes={"Card.Instance.Write"})

    def stream(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
        from dingtalk_stream.card_replier import AICardReplier

        replier = AICardReplier(handler.dingtalk_client, msg)
        card_id = replier.start("tpl.schema", {"content": ""})
        replier.streaming(card_id, "content", "x", append=False, finished=False, failed=False)

    with SdkRobot("limited-app", "limited-secret").on_messages(RecordingHandler(stream)):
        fakeding.wait_for("connect")
        fakeding.send_message("q", client_id="limited-app")
        rec = fakeding.wait_for("api", where=lambda r: r["route"] == "PUT /v1.0/card/streaming")
    assert rec[0]["status"] == 500 and rec[0]["response"]["code"] == "unknownError"


def test_unknown_card_update_is_an_error(fakeding: ThreadedFakeDing) -> None:
    def update_unknown(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
        handler.update_card("no-such-card", CARD)

    with SdkRobot().on_messages(RecordingHandler(update_unknown)):
        fakeding.wait_for("connect")
        fakeding.send_message("q")
        rec = fakeding.wait_for("api", where=lambda r: "interactiveCards" in r["route"])
    assert rec[0]["status"] == 400 and rec[0]["response"]["code"] == "cardInstance.notExist"


def test_card_too_large_is_rejected(make_fakeding: Any) -> None:
    fake = make_fakeding(interactive_card_max_bytes=500)

    def big(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
        data = json.loads(json.dumps(CARD))
        data["contents"][0]["text"] = "x" * 1000
        handler.reply_card(data, msg)

    with SdkRobot().on_messages(RecordingHandler(big)):
        fake.wait_for("connect")
        fake.send_message("q")
        rec = fake.wait_for("api", where=lambda r: "interactiveCards" in r["route"])
    assert rec[0]["status"] == 400
    assert fake.cards() == []


def _send_card(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
    handler.reply_card(CARD, msg)


def test_button_click_reaches_the_sdk_and_the_response_updates_the_card(fakeding: ThreadedFakeDing) -> None:
    response = {"userPrivateData": {"cardParamMap": {"voted": "yes"}}}
    cards = CardCallbackRecorder(response=response)
    robot = SdkRobot().on_messages(RecordingHandler(_send_card)).on_card_callbacks(cards)
    with robot:
        fakeding.wait_for("connect")
        fakeding.send_message("q", conversation_id="cidClick")
        fakeding.wait_for("card.send")
        card_id = fakeding.cards()[0]["cardBizId"]
        fakeding.click(card_id, staff_id="dave", button_id="yes")
        fakeding.wait_for("ack", count=2)
    (cb,) = cards.callbacks
    assert cb.user_id == "dave" and cb.card_instance_id == card_id
    assert cb.content["cardPrivateData"] == {"actionIds": ["yes"], "params": {"action": "vote", "v": "yes"}}
    assert fakeding.timeline(["card.update"])[-1]["via"] == "callback"
    assert fakeding.card(card_id).private_data == {"dave": {"voted": "yes"}}
    assert [e["kind"] for e in fakeding.transcript("cidClick")] == ["text", "card", "click"]


def test_slow_card_callback_answer_is_a_violation(make_fakeding: Any) -> None:
    fake = make_fakeding(card_callback_timeout=0.05)

    async def slow() -> None:
        await asyncio.sleep(0.3)

    robot = (
        SdkRobot()
        .on_messages(RecordingHandler(_send_card))
        .on_card_callbacks(CardCallbackRecorder(before=slow))
    )
    with robot:
        fake.wait_for("connect")
        fake.send_message("q")
        fake.wait_for("card.send")
        fake.click(fake.cards()[0]["cardBizId"], staff_id="erin", button_id="yes")
        fake.wait_for("violation")
    (violation,) = fake.violations
    assert "answered after" in violation.fields["reason"]
    fake.reset()  # the violation was the point of this test


def test_api_fault_can_delay_a_call_which_then_succeeds(fakeding: ThreadedFakeDing) -> None:
    fakeding.fault({"kind": "api", "route": "POST /v1.0/im/v1.0/robot/interactiveCards/send", "delay": 0.3})
    with SdkRobot().on_messages(RecordingHandler(_send_card)):
        fakeding.wait_for("connect")
        fakeding.send_message("q")
        sent = fakeding.wait_for("card.send")[0]
    fired = [r for r in fakeding.timeline(["fault"]) if r.get("fired")]
    assert fired and fired[0]["delay"] == 0.3
    api = [r for r in fakeding.timeline(["api"]) if "interactiveCards/send" in r["route"]][0]
    assert api["status"] == 200
    assert sent["t"] - fired[0]["t"] >= 0.3  # the card landed only after the injected delay
