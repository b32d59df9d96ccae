"""A handler robot written like the SDK's official example (``examples/echo_text``): read the
message, answer it through its session webhook with ``reply_text``, ack. The bench's robot for
a virtual-time ``fakeding load`` of a business day, so the figure is the kit's speed with a
typical user robot, not ours."""

from __future__ import annotations

from typing import Any

import dingtalk_stream
from dingtalk_stream import AckMessage


class EchoTextHandler(dingtalk_stream.ChatbotHandler):  # type: ignore[misc]
    async def process(self, callback: Any) -> tuple[int, str]:
        incoming = dingtalk_stream.ChatbotMessage.from_dict(callback.data)
        text = incoming.text.content.strip()
        self.reply_text(text, incoming)
        return AckMessage.STATUS_OK, "OK"
