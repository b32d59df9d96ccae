"""Robots on the official SDK for the load tests: one correct, one that crosses answers, one
that serialises users, one that sends every answer through the metered OpenAPI."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import requests
from dingtalk_stream import AckMessage, CallbackHandler, ChatbotHandler, ChatbotMessage


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


def _openapi(method: str, path: str, token: str, body: dict[str, Any]) -> None:
    from dingtalk_stream import utils  # the endpoint the SDK is pointed at

    requests.request(
        method,
        f"{utils.DINGTALK_OPENAPI_ENDPOINT}{path}",
        timeout=10,
        headers={"x-acs-dingtalk-access-token": token},
        json=body,
    ).raise_for_status()


def _card(text: str) -> str:
    button = {"type": "button", "id": "yes", "actionType": "request", "label": {"text": "Yes"}, "value": "{}"}
    return json.dumps(
        {"contents": [{"type": "markdown", "text": text}, {"type": "action", "actions": [button]}]}
    )


class CardAnswer(Correct):
    """Answers in a group with an ordinary card that has a request button ("yes")."""

    async def answer(self, msg: ChatbotMessage) -> None:
        await asyncio.sleep(thinking_time(msg.text.content))
        token = self.dingtalk_client.get_access_token()
        card_id = f"card-{msg.message_id}"
        body = {
            "cardTemplateId": "StandardCard",
            "robotCode": msg.robot_code,
            "cardBizId": card_id,
            "openConversationId": msg.conversation_id,
            "cardData": _card("thinking ..."),
        }
        _openapi("POST", "/v1.0/im/v1.0/robot/interactiveCards/send", token, body)
        _openapi(
            "PUT",
            "/v1.0/im/robots/interactiveCards",
            token,
            {"cardBizId": card_id, "cardData": _card("answer: " + msg.text.content.strip()[:20])},
        )


class VoteCard(Correct):
    """Answers with a card that is complete when sent and never updated (the way DingTalk's card
    examples send a vote card): finished by its text, not by a later update."""

    async def answer(self, msg: ChatbotMessage) -> None:
        token = self.dingtalk_client.get_access_token()
        body = {
            "cardTemplateId": "StandardCard",
            "robotCode": msg.robot_code,
            "cardBizId": f"vote-{msg.message_id}",
            "openConversationId": msg.conversation_id,
            "cardData": _card("answer: was this helpful?"),
        }
        _openapi("POST", "/v1.0/im/v1.0/robot/interactiveCards/send", token, body)


class ClickAnswered(CallbackHandler):  # type: ignore[misc]
    """Acks a click and marks the card with the choice."""

    answers = True

    async def process(self, callback: Any) -> tuple[int, str]:
        card_id = str(callback.data.get("outTrackId"))
        if self.answers:
            token = self.dingtalk_client.get_access_token()
            _openapi(
                "PUT",
                "/v1.0/im/robots/interactiveCards",
                token,
                {"cardBizId": card_id, "cardData": _card("thanks for voting")},
            )
        return AckMessage.STATUS_OK, "OK"


class ClickIgnored(ClickAnswered):
    """Acks a click and does nothing with it (the user's vote shows nowhere)."""

    answers = False


def Buttons() -> dict[str, Any]:  # noqa: N802 (a factory named as the robot)
    return {ChatbotMessage.TOPIC: CardAnswer(), CallbackHandler.TOPIC_CARD_CALLBACK: ClickAnswered()}


def IgnoredButtons() -> dict[str, Any]:  # noqa: N802
    return {ChatbotMessage.TOPIC: CardAnswer(), CallbackHandler.TOPIC_CARD_CALLBACK: ClickIgnored()}
