"""A real-time robot's report order (``fakeding.testing.scenarios.causal``): by cause, then by
channel. What a robot sends on two channels (an ack on its Stream websocket, a reply over HTTP)
may reach the fake in either order; the report must not depend on which came first, while the
order on each channel stays exactly as received."""

from __future__ import annotations

from typing import Any

from fakeding.core.recorder import Record, Recorder
from fakeding.testing.scenarios.causal import order_records

CLICK_KEY = "click:card1:alice:9"


def records(*events: tuple[str, dict[str, Any]]) -> list[Record]:
    rec = Recorder()
    for t, (kind, fields) in enumerate(events):
        rec.add(float(t), kind, **fields)
    return rec.records


def labels(recs: list[Record]) -> list[str]:
    """Each record as ``kind what``: enough to tell every record of these tests apart."""
    out = []
    for r in recs:
        f = r.fields
        what = f.get("key") or f.get("card") or f.get("text") or f.get("reason") or f.get("route") or ""
        out.append(f"{r.kind} {what}".strip())
    return out


def message(msg_id: str, sender: str, session: str) -> tuple[str, dict[str, Any]]:
    fields = {"client": "app", "conversation": "cidG", "sender": sender, "session": session}
    return "message", {**fields, "msgId": msg_id, "delivered": True}


def push(key: str) -> tuple[str, dict[str, Any]]:
    return "push", {"client": "app", "connection": "c1", "key": key, "attempt": 1}


def ack(key: str) -> tuple[str, dict[str, Any]]:
    return "ack", {"client": "app", "connection": "c1", "key": key, "code": 200}


def reply(session: str, text: str) -> tuple[str, dict[str, Any]]:
    return "webhook", {
        "conversation": "cidG",
        "session": session,
        "msgtype": "text",
        "errcode": 0,
        "text": text,
    }


CONNECT = ("connect", {"client": "app", "connection": "c1"})
MESSAGE = message("m1", "alice", "s1")
PUSH, ACK, REPLY = push("m1"), ack("m1"), reply("s1", "reply")
CARD = ("card.send", {"card": "card1", "version": 1, "via": "send", "conversation": "cidG"})
CLICK = ("click", {"client": "app", "card": "card1", "user": "alice", "button": "yes"})
CLICK_PUSH, CLICK_ACK, THANKS = push(CLICK_KEY), ack(CLICK_KEY), reply("s1", "thanks")

# the Node byo robot: it acks a click, then replies through the session webhook; what the fake
# receives first is a race between its websocket and its HTTPS connection
ACK_FIRST = [CONNECT, MESSAGE, PUSH, ACK, REPLY, CARD, CLICK, CLICK_PUSH, CLICK_ACK, THANKS]
REPLY_FIRST = [CONNECT, MESSAGE, PUSH, REPLY, CARD, ACK, CLICK, CLICK_PUSH, THANKS, CLICK_ACK]


# how a step with one message starts: its delivery, acked
ASKED = ["connect", "message", "push m1", "ack m1"]


def test_an_ack_and_a_reply_on_two_channels_read_the_same_whichever_arrived_first() -> None:
    expected = [
        *ASKED,
        "webhook reply",
        "card.send card1",
        "click card1",
        f"push {CLICK_KEY}",
        f"ack {CLICK_KEY}",
        "webhook thanks",
    ]
    assert labels(order_records(records(*ACK_FIRST))) == expected
    assert labels(order_records(records(*REPLY_FIRST))) == expected


def test_the_robots_calls_keep_the_order_they_arrived_in() -> None:
    """Users see replies and cards in the order the platform got them: a robot that sends its
    card before its text reply is shown so, never sorted by kind."""
    card_first = order_records(records(CONNECT, MESSAGE, PUSH, CARD, ACK, REPLY))
    assert labels(card_first) == [*ASKED, "card.send card1", "webhook reply"]
    reply_first = order_records(records(CONNECT, MESSAGE, PUSH, REPLY, ACK, CARD))
    assert labels(reply_first) == [*ASKED, "webhook reply", "card.send card1"]


def test_the_stream_keeps_its_own_order() -> None:
    """Pushes, redeliveries and acks of one connection stay as they happened there: a refused
    ack, the redelivery it caused, then the ack that took."""
    refused = ("ack", {"client": "app", "connection": "c1", "key": "m1", "code": 500})
    again = ("redeliver", {"client": "app", "connection": "c1", "key": "m1", "attempt": 2})
    recs = order_records(records(CONNECT, MESSAGE, PUSH, refused, REPLY, again, ACK))
    assert [f"{r.kind} {r.fields.get('code', r.fields.get('attempt', ''))}".strip() for r in recs] == [
        "connect",
        "message",
        "push 1",
        "ack 500",
        "redeliver 2",
        "ack 200",
        "webhook",
    ]


def test_a_record_about_another_stays_with_it() -> None:
    """A violation or warning recorded right after the call or frame it is about goes with it;
    a fired API fault (recorded before the call it fails) names its route; one naming a
    connection or a delivery is the Stream's; the robot's exit comes after what it sent."""
    warning = ("warning", {"reason": "card: markdown quirk", "card": "card1"})
    fault = ("fault", {"fault": "api", "fired": True, "route": "POST /v1.0/x", "status": 500})
    failed = ("api", {"route": "POST /v1.0/x", "status": 500})
    bad_ack = ("violation", {"client": "app", "connection": "c1", "key": "m1", "reason": "ack: bad frame"})
    exit_ = ("robot.exit", {"code": 3, "output": "boom"})
    arrived = [CONNECT, MESSAGE, PUSH, CARD, warning, fault, ACK, failed, bad_ack, exit_, REPLY]
    assert labels(order_records(records(*arrived))) == [
        "connect",
        "message",
        "push m1",
        "ack m1",
        "violation m1",
        "card.send card1",
        "warning card1",
        "fault POST /v1.0/x",
        "api POST /v1.0/x",
        "webhook reply",
        "robot.exit",
    ]


def test_steps_stay_in_order_and_each_keeps_what_it_caused() -> None:
    """Channels sort within a step's records, never across steps."""
    second, push2, ack2, reply2 = message("m2", "bob", "s2"), push("m2"), ack("m2"), reply("s2", "r2")
    # bob's message is answered before alice's: each answer still goes with its own question
    arrived = [CONNECT, MESSAGE, PUSH, second, push2, reply2, ack2, REPLY, ACK]
    assert labels(order_records(records(*arrived))) == [
        "connect",
        "message",
        "push m1",
        "ack m1",
        "webhook reply",
        "message",
        "push m2",
        "ack m2",
        "webhook r2",
    ]
