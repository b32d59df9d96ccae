"""What to do with one robot message, decided from its payload alone (pure).

Group messages that do not @mention the robot are ignored; text is stripped and checked;
audio is answered from its speech recognition; rich text from its text parts; pictures,
files and videos get a clear notice instead of an answer.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Incoming:
    msg_id: str
    robot_code: str
    conversation_id: str
    is_group: bool
    sender_staff_id: str
    sender_nick: str
    msgtype: str
    text: str
    webhook: str | None
    at_bot: bool
    content: dict[str, Any]

    @property
    def dedup_key(self) -> str:
        return f"{self.robot_code}:{self.msg_id}"

    @functools.cached_property
    def card_biz_id(self) -> str:
        """Deterministic per message, so a retried send can never create a second card (kept:
        each message's cards and records ask for it several times)."""
        return hashlib.sha256(f"{self.robot_code}|{self.msg_id}".encode()).hexdigest()


@dataclass(frozen=True)
class Plan:
    action: str  # "answer" | "notice" | "ignore"
    question: str = ""
    notice_key: str = ""
    notice_args: tuple[tuple[str, Any], ...] = ()


def parse_incoming(data: dict[str, Any]) -> Incoming:
    text_obj = data.get("text")
    text = text_obj.get("content", "") if isinstance(text_obj, dict) else ""
    content = data.get("content")
    return Incoming(
        msg_id=str(data.get("msgId", "")),
        robot_code=str(data.get("robotCode", "")),
        conversation_id=str(data.get("conversationId", "")),
        is_group=str(data.get("conversationType", "1")) == "2",
        sender_staff_id=str(data.get("senderStaffId") or data.get("senderId") or ""),
        sender_nick=str(data.get("senderNick", "")),
        msgtype=str(data.get("msgtype", "")),
        text=str(text or ""),
        webhook=data.get("sessionWebhook") if isinstance(data.get("sessionWebhook"), str) else None,
        at_bot=bool(data.get("isInAtList", True)),
        content=content if isinstance(content, dict) else {},
    )


def plan_for(inc: Incoming, *, max_question_chars: int) -> Plan:
    if inc.is_group and not inc.at_bot:
        return Plan("ignore", notice_key="not_mentioned")
    question = ""
    if inc.msgtype == "text":
        question = inc.text
    elif inc.msgtype == "audio":
        question = str(inc.content.get("recognition") or "")
        if not question.strip():
            return Plan("notice", notice_key="unsupported_audio")
    elif inc.msgtype == "richText":
        parts = inc.content.get("richText")
        texts = [str(p.get("text", "")) for p in parts or [] if isinstance(p, dict)]
        question = " ".join(t.strip() for t in texts if t.strip())
        if not question:
            return Plan("notice", notice_key="unsupported_richtext")
    elif inc.msgtype == "picture":
        return Plan("notice", notice_key="unsupported_picture")
    elif inc.msgtype == "file":
        return Plan("notice", notice_key="unsupported_file")
    elif inc.msgtype == "video":
        return Plan("notice", notice_key="unsupported_video")
    else:
        return Plan("notice", notice_key="unsupported_other")
    question = question.strip()
    if not question:
        return Plan("notice", notice_key="empty_question")
    if len(question) > max_question_chars:
        return Plan(
            "notice",
            notice_key="question_too_long",
            notice_args=(("length", len(question)), ("limit", max_question_chars)),
        )
    return Plan("answer", question=question)
