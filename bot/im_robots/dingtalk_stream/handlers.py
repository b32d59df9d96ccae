"""The SDK handlers the robot registers: robot messages, card button clicks, everything else.

Each acks at once and hands the work to a background task: the platform redelivers messages
acked late, and card callbacks must be answered within 2 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import dingtalk_stream
from dingtalk_stream import AckMessage

from ...core import cards
from ...core.incoming import parse_incoming, plan_for
from ...store import Answer, Store
from .config import RobotConfig
from .conversation import Responder
from .openapi import OpenApiCallError

log = logging.getLogger("bot.handlers")
Spawn = Callable[[Coroutine[Any, Any, None]], None]
Emit = Callable[..., None]


class _Wired:
    """What every robot handler is given: config, responder, store, a task spawner, events."""

    def __init__(self, *, config: RobotConfig, responder: Responder, store: Store, spawn: Spawn,
                 emit: Emit) -> None:
        super().__init__()  # the SDK handler's own set-up (next in the MRO)
        self.cfg = config
        self.responder = responder
        self.store = store
        self.spawn = spawn
        self.emit = emit


class MessageHandler(_Wired, dingtalk_stream.ChatbotHandler):  # type: ignore[misc]

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, str]:
        data = callback.data if isinstance(callback.data, dict) else {}
        inc = parse_incoming(data)
        if not inc.msg_id:
            log.warning("robot message without msgId ignored")
            return AckMessage.STATUS_OK, "OK"
        if not self.store.claim(inc.dedup_key):
            log.info("skipped message %s from %s: already answered or being answered "
                     "(duplicate msgId, e.g. a redelivery)", inc.msg_id, inc.sender_staff_id)
            self.emit("dedup.skip", msg=inc.msg_id)
            return AckMessage.STATUS_OK, "OK"
        plan = plan_for(inc, max_question_chars=self.cfg.max_question_chars)
        self.emit("message", msg=inc.msg_id, plan=plan.action, msgtype=inc.msgtype,
                  group=inc.is_group)
        if plan.action == "answer":
            self.spawn(self.responder.answer(inc, plan.question))
        elif plan.action == "notice":
            self.spawn(self.responder.notice(inc, plan))
        return AckMessage.STATUS_OK, "OK"


class FeedbackHandler(_Wired, dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    """A feedback click: stored at once (a second click changes the vote), the card shows the
    choice through a normal update afterwards, as DingTalk asks (no update inside the callback)."""

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, Any]:
        data = callback.data if isinstance(callback.data, dict) else {}
        msg = dingtalk_stream.CardCallbackMessage.from_dict(data)
        params = (msg.content or {}).get("cardPrivateData", {}).get("params", {})
        parsed = cards.feedback_from_params(params if isinstance(params, dict) else {})
        if parsed is None:
            log.info("card callback that is not feedback ignored: %r", params)
            return AckMessage.STATUS_OK, {}
        rating, msg_id = parsed
        card_id = msg.card_instance_id
        known = self.store.answer_for(card_id)
        changed = self.store.record_feedback(
            card_id=card_id, msg_id=msg_id, user_id=msg.user_id, rating=rating,
            question=known.question if known else "", answer=known.answer if known else "")
        self.emit("feedback", card=card_id, user=msg.user_id, rating=rating, changed=changed)
        if known:
            self.spawn(self._show_vote(card_id, msg_id, known, rating))
        return AckMessage.STATUS_OK, {}

    async def _show_vote(self, card_id: str, msg_id: str, known: Answer, rating: str) -> None:
        """1:1: "You rated ..."; a group card is shared, so it shows everyone's tally."""
        shown, _ = cards.fit_answer(known.answer, self.cfg.max_card_chars)
        if known.is_group:
            tally = Counter(f.rating for f in self.store.feedback(card_id))
            card = cards.final_card(known.question, shown, msg_id, known.locale, tally=tally)
        else:
            card = cards.final_card(known.question, shown, msg_id, known.locale, vote=rating)
        try:
            await self.responder.api.update_card(card_id, card)
            self.emit("card.vote", card=card_id, rating=rating)
        except OpenApiCallError as exc:
            log.warning("could not show the vote on card %s: %s", card_id, exc)


class LoggingEventHandler(dingtalk_stream.EventHandler):  # type: ignore[misc]
    """Events the robot does not use are acked (so the platform stops resending) and logged."""

    async def process(self, event: dingtalk_stream.EventMessage) -> tuple[int, str]:
        log.info("event %s acked and ignored", event.headers.event_type)
        return AckMessage.STATUS_OK, "OK"


def spawner(tasks: set[asyncio.Task[Any]]) -> Spawn:
    def spawn(coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        tasks.add(task)
        task.add_done_callback(_finished(tasks))
    return spawn


def _finished(tasks: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("conversation task failed", exc_info=task.exception())
    return done
