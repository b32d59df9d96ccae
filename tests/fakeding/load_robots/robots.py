"""Robots on the official SDK for the load tests: one correct, one that crosses answers, one
that serialises users, one that sends every answer through the metered OpenAPI."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import requests
from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage


def thinking_time(text: str) -> float:
    return 0.5 + 0.05 * len(text.split())  # longer questions take longer to answer


class Correct(ChatbotHandler):  # type: ignore[misc]
    async def process(self, callback: Any) -> tuple[int, str]:
        msg = ChatbotMessage.from_dict(callback.data)
        asyncio.ensure_future(self.answer(msg))
        return AckMessage.STATUS_OK, "OK"

    async def answer(self, msg: ChatbotMessage) -> None:
        await asyncio.sleep(thinking_time(msg.text.content))
        self.reply_text("answer: " + msg.text.content.strip()[:20], msg)


class Crossing(Correct):
    """Keeps the latest message on the shared handler and answers that one."""

    latest: ChatbotMessage | None = None

    async def process(self, callback: Any) -> tuple[int, str]:
        msg = ChatbotMessage.from_dict(callback.data)
        Crossing.latest = msg
        asyncio.ensure_future(self.answer(msg))
        return AckMessage.STATUS_OK, "OK"

    async def answer(self, msg: ChatbotMessage) -> None:
        await asyncio.sleep(thinking_time(msg.text.content))
        self.reply_text("answer: " + msg.text.content.strip()[:20], Crossing.latest)


class Serial(Correct):
    """One agent for everybody: each answer waits for the one before (a global lock)."""

    lock: asyncio.Lock | None = None

    async def answer(self, msg: ChatbotMessage) -> None:
        if Serial.lock is None:
            Serial.lock = asyncio.Lock()
        async with Serial.lock:
            await asyncio.sleep(thinking_time(msg.text.content))
            self.reply_text("answer: " + msg.text.content.strip()[:20], msg)


class Metered(Correct):
    """Answers through the group-messages OpenAPI (metered) instead of the free webhook."""

    async def answer(self, msg: ChatbotMessage) -> None:
        await asyncio.sleep(thinking_time(msg.text.content))
        from dingtalk_stream import utils  # the endpoint the SDK is pointed at

        token = self.dingtalk_client.get_access_token()
        requests.post(
            f"{utils.DINGTALK_OPENAPI_ENDPOINT}/v1.0/robot/groupMessages/send",
            timeout=10,
            headers={"x-acs-dingtalk-access-token": token},
            json={
                "robotCode": msg.robot_code,
                "openConversationId": msg.conversation_id,
                "msgKey": "sampleText",
                "msgParam": json.dumps({"content": "answer"}),
            },
        )
