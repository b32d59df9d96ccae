"""No cross-talk (串台), for any robot: a real SDK robot that keeps the latest message on its
shared handler answers one user's question in another user's chat, and the oracle names the
starved question and the flooded chat; the same robot answering each message passes."""

from __future__ import annotations

import asyncio
from typing import Any

from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage

from fakeding import ThreadedFakeDing
from fakeding.testing.sdk import SdkRobot


class LatestMessage(ChatbotHandler):  # type: ignore[misc]
    """The bug: one handler for every chat, answering whatever message came last."""

    def __init__(self) -> None:
        super().__init__()
        self.latest: ChatbotMessage | None = None

    async def process(self, callback: Any) -> tuple[int, str]:
        msg = ChatbotMessage.from_dict(callback.data)
        self.latest = msg
        asyncio.ensure_future(self.answer(msg.text.content.strip()))
        return AckMessage.STATUS_OK, "OK"

    async def answer(self, question: str) -> None:
        await asyncio.sleep(0.3)  # the agent thinks; meanwhile another message arrives
        self.reply_text(f"answer to {question}", self.latest)


class OwnMessage(LatestMessage):
    async def process(self, callback: Any) -> tuple[int, str]:
        msg = ChatbotMessage.from_dict(callback.data)
        asyncio.ensure_future(self.answer_to(msg))
        return AckMessage.STATUS_OK, "OK"

    async def answer_to(self, msg: ChatbotMessage) -> None:
        await asyncio.sleep(0.3)
        self.reply_text(f"answer to {msg.text.content.strip()}", msg)


def ask_two_chats(fake: ThreadedFakeDing) -> dict[str, str]:
    a = fake.send_message("refund?", conversation_id="cidAlice", staff_id="alice")
    fake.send_message("invoice?", conversation_id="cidBob", staff_id="bob")
    fake.wait_for("webhook", count=2)
    return {"alice": a.msg_id}


def test_a_handler_keeping_the_latest_message_is_caught_crossing(fakeding: ThreadedFakeDing) -> None:
    with SdkRobot().on_messages(LatestMessage()):
        fakeding.wait_for("connect")
        ids = ask_two_chats(fakeding)
    (finding,) = fakeding.cross_talk()
    assert finding["kind"] == "starved-and-flooded"
    assert finding["messages"] == [ids["alice"]]  # alice's question got no answer...
    assert set(finding["conversations"]) == {"cidAlice", "cidBob"}  # ...bob's chat got two
    assert "cidBob: 2 for 1" in finding["message"]


def test_the_same_robot_answering_each_message_passes(fakeding: ThreadedFakeDing) -> None:
    with SdkRobot().on_messages(OwnMessage()):
        fakeding.wait_for("connect")
        ask_two_chats(fakeding)
    assert fakeding.cross_talk() == []
    said = {
        c: [e["text"] for e in fakeding.transcript(c) if e["who"] == "bot"] for c in ("cidAlice", "cidBob")
    }
    assert said == {"cidAlice": ["answer to refund?"], "cidBob": ["answer to invoice?"]}


def test_a_lost_answer_is_not_called_cross_talk_but_an_answer_nobody_asked_for_is() -> None:
    from fakeding.core.oracles import cross_talk
    from fakeding.core.platform import TranscriptEntry
    from fakeding.core.recorder import Record

    def asked(seq: int, conv: str, user: str, msg: str) -> tuple[Record, TranscriptEntry]:
        return (
            Record(seq, float(seq), "message", {"msgId": msg, "delivered": True}),
            TranscriptEntry(float(seq), conv, f"user:{user}", "text", "q", msg),
        )

    (r1, t1), (r2, t2) = asked(1, "cidA", "alice", "m1"), asked(2, "cidB", "bob", "m2")
    answer_b = TranscriptEntry(3.0, "cidB", "bot", "webhook:text", "a")
    assert cross_talk([r1, r2], [t1, t2, answer_b]) == []  # alice's answer was lost, not crossed
    stray = TranscriptEntry(4.0, "cidC", "bot", "webhook:text", "a")
    (finding,) = cross_talk([r1, r2], [t1, t2, answer_b, stray])
    assert finding.kind == "answer-where-nobody-asked" and finding.conversations == ("cidC",)
