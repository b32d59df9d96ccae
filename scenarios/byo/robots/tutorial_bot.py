"""A robot written the way the DingTalk tutorial writes it, defects included.

- blocking calls inside the async ``process()``: the SDK's ``AICardReplier`` (``requests``) and
  a blocking LLM client (``time.sleep`` between chunks stands for its network waits);
- a throttle on ``time.time()``: at most one card update per second;
- the ack only after the whole answer (``process()`` returns at the end).

So while one user's answer streams, the event loop is held: every other user waits, and an
answer longer than 60 s is acked too late, redelivered, and answered twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import dingtalk_stream
from dingtalk_stream import AckMessage, AICardReplier, ChatbotMessage

CARD_TEMPLATE = "tutorial-ai-card.schema"
SECONDS_PER_WORD = 1.0  # a held loop longer than the websocket keepalive (20 s) would drop the link


def llm_stream(question: str) -> Iterator[str]:
    """A blocking LLM client: one word every few seconds."""
    words = f"You asked about {question}. Here is what I found for you.".split()
    for word in words:
        time.sleep(SECONDS_PER_WORD)
        yield word + " "


class TutorialHandler(dingtalk_stream.ChatbotHandler):
    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, str]:
        incoming = ChatbotMessage.from_dict(callback.data)
        question = incoming.text.content.strip()
        replier = AICardReplier(self.dingtalk_client, incoming)
        card_id = replier.start(CARD_TEMPLATE, {"content": ""})
        content, last_update = "", 0.0
        for chunk in llm_stream(question):
            content += chunk
            if time.time() - last_update >= 1.0:  # the tutorial's throttle
                replier.streaming(card_id, "content", content, append=False, finished=False,
                                  failed=False)
                last_update = time.time()
        replier.streaming(card_id, "content", content, append=False, finished=True,
                          failed=False)
        return AckMessage.STATUS_OK, "OK"
