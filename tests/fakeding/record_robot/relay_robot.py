"""A tutorial-style official-SDK robot for the recording tests: it answers a text through the
session webhook and "card ..." with an interactive card, updated once. Run as a program it
connects with DINGTALK_CLIENT_ID/SECRET; ``relay_robot:Echo`` is the same handler for
``robot: {handler: ...}``."""

from __future__ import annotations

import os
from typing import Any

import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage

ANSWER_PREFIX = os.environ.get("RELAY_ROBOT_PREFIX", "echo")


def card(text: str) -> dict[str, Any]:
    return {
        "config": {"autoLayout": True, "enableForward": True},
        "header": {"title": {"type": "text", "text": "relay"}},
        "contents": [{"type": "markdown", "text": text, "id": "answer"}],
    }


class Echo(dingtalk_stream.ChatbotHandler):
    async def process(self, callback: Any) -> tuple[int, str]:
        incoming = ChatbotMessage.from_dict(callback.data)
        text = (incoming.text.content if incoming.text else "").strip()
        if text.startswith("card"):
            biz_id = self.reply_card(card("working"), incoming)
            self.update_card(biz_id, card(f"{ANSWER_PREFIX}: {text}"))
        else:
            self.reply_text(f"{ANSWER_PREFIX}: {text}", incoming)
        return AckMessage.STATUS_OK, "OK"


def main() -> None:
    credential = dingtalk_stream.Credential(
        os.environ["DINGTALK_CLIENT_ID"], os.environ["DINGTALK_CLIENT_SECRET"]
    )
    client = dingtalk_stream.DingTalkStreamClient(credential)
    client.register_callback_handler(ChatbotMessage.TOPIC, Echo())
    client.start_forever()


if __name__ == "__main__":
    main()
