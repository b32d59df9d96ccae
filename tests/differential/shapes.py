"""The corpus: robot shapes written here, each a handler module plus the steps users take.

Times are short (seconds) so that the real-time run stays cheap; the platform's redelivery
delay is shortened to match (``SETTINGS``), so a robot that acks late is redelivered in both.
Every verdict has at least a second of margin either way, so a loaded machine's real-time
jitter cannot flip it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# webhook_per_minute: 24 simultaneous answers would pass the platform's 20 per minute, and
# which conversation's reply is refused is then a race in real time as in virtual time.
SETTINGS: dict[str, Any] = {
    "redelivery_delay": 3.0,
    "webhook_per_minute": 100,
    "system_ping_interval": None,
    "ws_ping_interval": None,
}

BLOCKING = '''
import time, dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage

class Robot(dingtalk_stream.ChatbotHandler):
    """Answers, then acks: the tutorials' shape (its loop held 2 s per message): the first
    message is acked after 2 s, the second after 4 s, past the 3 s redelivery delay."""
    async def process(self, callback):
        msg = ChatbotMessage.from_dict(callback.data)
        time.sleep(2.0)
        self.reply_text("done: " + msg.text.content.strip(), msg)
        return AckMessage.STATUS_OK, "OK"
'''

ACK_THEN_TASK = '''
import asyncio, dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage

class Robot(dingtalk_stream.ChatbotHandler):
    """Acks at once, answers from a task 1 s later (the card examples, n8n)."""
    def __init__(self):
        super().__init__()
        self.tasks = set()

    async def process(self, callback):
        msg = ChatbotMessage.from_dict(callback.data)
        task = asyncio.get_running_loop().create_task(self.answer(msg))
        self.tasks.add(task)
        return AckMessage.STATUS_OK, "OK"

    async def answer(self, msg):
        await asyncio.sleep(1.0)
        await asyncio.get_running_loop().run_in_executor(None, self.reply_text, "later", msg)
'''

ASYNC_POOL = '''
import time, dingtalk_stream
from dingtalk_stream import ChatbotMessage

class Robot(dingtalk_stream.AsyncChatbotHandler):
    """The SDK's thread-pool handler: acked at once, answered from a worker 0.8 s later."""
    def __init__(self):
        super().__init__(max_workers=4)

    def process(self, callback):
        msg = ChatbotMessage.from_dict(callback.data)
        time.sleep(0.8)
        self.reply_text("pooled", msg)
'''

EVENTS = '''
import time, dingtalk_stream
from dingtalk_stream import AckMessage

class Robot(dingtalk_stream.EventHandler):
    """Organisation events, acked after 0.3 s of blocking work."""
    async def process(self, event):
        time.sleep(0.3)
        return AckMessage.STATUS_OK, "OK"
'''

SLOW_LLM = '''
import os, time, urllib.request, dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage

class Robot(dingtalk_stream.ChatbotHandler):
    """Asks a slow language model (a loopback stand-in) inside process(), then answers."""
    async def process(self, callback):
        msg = ChatbotMessage.from_dict(callback.data)
        with urllib.request.urlopen(os.environ["LLM_URL"], timeout=30) as reply:
            text = reply.read().decode()
        self.reply_text(text, msg)
        return AckMessage.STATUS_OK, "OK"
'''

GRAPH = '''
import json, dingtalk_stream
from dingtalk_stream import AckMessage
from dingtalk_stream.graph import GraphRequest

class Robot(dingtalk_stream.GraphHandler):
    """The official GraphHandler: answers on the session webhook (through http.client)."""
    async def process(self, callback):
        request = GraphRequest.from_dict(callback.data)
        body = json.loads(request.body)
        await self.reply_markdown(body["sessionWebhook"], "**answer** to " + body["input"])
        return AckMessage.STATUS_OK, self.get_success_response({"ok": True}).to_dict()
'''

CARD_CALLBACK = (
    Path(__file__).resolve().parents[2] / "scenarios" / "byo" / "robots" / "card_callback_bot.py"
).read_text(encoding="utf-8") + "\nRobot = robot\n"


@dataclass
class Shape:
    name: str
    source: str
    steps: list[dict[str, Any]]
    llm: bool = False  # calls the slow LLM stand-in
    notes: str = ""
    users: list[str] = field(default_factory=list)


def _say(at: float, user: str, conv: str = "team", text: str = "hi") -> dict[str, Any]:
    return {"at": at, "say": {"user": user, "in": conv, "text": text}}


CROWD = [f"user{n}" for n in range(1, 25)]

SHAPES = [
    Shape(
        "blocking_answer_then_ack", BLOCKING, [_say(0.5, "alice", text="one"), _say(0.5, "bob", text="two")]
    ),
    Shape("ack_then_task", ACK_THEN_TASK, [_say(0.5, "alice"), _say(0.7, "bob", "side")]),
    Shape(
        "async_chatbot_handler",
        ASYNC_POOL,
        [_say(0.5, "alice"), _say(0.5, "bob", "side"), _say(0.9, "carol")],
    ),
    Shape(
        "event_handler",
        EVENTS,
        [{"at": 0.5, "event": {"type": "user_add_org", "data": {"userId": ["alice"]}}}],
    ),
    Shape("slow_llm", SLOW_LLM, [_say(0.5, "alice"), _say(0.6, "bob", "side")], llm=True),
    Shape(
        "graph_handler",
        GRAPH,
        [{"at": 0.5, "graph": {"user": "alice", "in": "team", "text": "what is new?"}}],
    ),
    Shape(
        "card_callback",
        CARD_CALLBACK,
        [
            _say(0.5, "alice", text="vote"),
            {"at": 1.5, "click": {"user": "alice", "card": "card#1", "button": "Yes"}},
            {"at": 1.7, "click": {"user": "bob", "card": "card#1", "button": "No"}},
        ],
    ),
    Shape("two_dozen_users", ASYNC_POOL, [_say(0.5, u, f"room{n % 6}") for n, u in enumerate(CROWD)]),
]
