"""The SDK handlers the robot registers: robot messages, card button clicks, everything else.

Each acks quickly and hands the work to a background task: the platform redelivers messages
acked late, and card callbacks must be answered within 2 s. A message is claimed before its ack
whenever the store answers in time (for SQLite at the end of the loop's step, in one commit with
the claims of the other frames that arrived in it; one round trip for Redis), so a robot
killed right after an ack leaves a progress record that another robot finishes; a store that
does not answer within ``CLAIM_BEFORE_ACK`` (a locked file, a stalled Redis) gets the claim
after the ack instead of holding the ack back.

A store that cannot write (disk full, read-only) is the exception: a message it cannot claim
is held unacked, its claim retried with backoff, and answered (and acked) once the store
writes again; the platform meanwhile delivers it again, and that copy waits the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import dingtalk_stream
from dingtalk_stream import AckMessage

from bot.core import cards, strict_json
from bot.core.incoming import Incoming, parse_incoming, plan_for
from bot.errors import StoreError, StoreUnwritable
from bot.im_robots.dingtalk_stream.config import RobotConfig
from bot.im_robots.dingtalk_stream.conversation import Responder
from bot.im_robots.dingtalk_stream.openapi import OpenApiCallError
from bot.storage.storage import Storage
from bot.storage.store import Answer, Claim

log = logging.getLogger("bot.handlers")
CLAIM_BEFORE_ACK = 1.0  # seconds an ack waits for a claim that needs the store's answer
HOLD_FOR = 3600.0  # seconds a message is held unacked while the store cannot write
HOLD_BACKOFF = (1.0, 30.0)  # first and longest wait between claims of a held message
Spawn = Callable[[Coroutine[Any, Any, None]], None]
Emit = Callable[..., None]


class _Wired:
    """What every robot handler is given: config, responder, store, a task spawner, events."""

    def __init__(
        self,
        *,
        config: RobotConfig,
        responder: Responder,
        storage: Storage,
        spawn: Spawn,
        emit: Emit,
        owner: str = "",
    ) -> None:
        super().__init__()  # the SDK handler's own set-up (next in the MRO)
        self.cfg = config
        self.responder = responder
        self.storage = storage
        self.owner = owner
        self.spawn = spawn
        self.emit = emit


class MessageHandler(_Wired, dingtalk_stream.ChatbotHandler):  # type: ignore[misc]
    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, str]:
        data = callback.data if isinstance(callback.data, dict) else {}
        try:  # (the SDK's json.loads lets lone surrogates and any depth through)
            payload = strict_json.dumps_checked(data, what="robot message")
        except strict_json.JsonRefused as exc:  # acked: the same frame again is no better
            log.warning("robot message %s acked and not answered: %s", str(data.get("msgId", "?"))[:100], exc)
            self.emit("message.refused", msg=str(data.get("msgId", ""))[:100])
            return AckMessage.STATUS_OK, "OK"
        inc = parse_incoming(data)
        if not inc.msg_id:
            log.warning("robot message without msgId ignored")
            return AckMessage.STATUS_OK, "OK"
        try:  # (with the claims of the other frames of this step of the loop: one commit)
            claim = await self.storage.claim_message_in_step(
                inc.dedup_key, msg_id=inc.msg_id, owner=self.owner, payload=payload
            )
        except StoreUnwritable as exc:
            claim = await self._claim_when_writable(inc, payload, exc)
        if claim is None:
            claiming = asyncio.ensure_future(self._claim(inc, payload))
            try:
                await asyncio.wait([claiming], timeout=CLAIM_BEFORE_ACK)
            except asyncio.CancelledError:  # stopping before the ack: the platform redelivers
                claiming.cancel()
                raise
            if not claiming.done():
                log.info(
                    "message %s acked; the store did not answer within %g s, so it is claimed after the ack",
                    inc.msg_id,
                    CLAIM_BEFORE_ACK,
                )
                self.spawn(self._handle_when_claimed(inc, claiming))
                return AckMessage.STATUS_OK, "OK"
            try:
                claim = claiming.result()
            except StoreUnwritable as exc:
                claim = await self._claim_when_writable(inc, payload, exc)
        self.handle(inc, claim)
        return AckMessage.STATUS_OK, "OK"

    async def _claim_when_writable(self, inc: Incoming, payload: str, exc: StoreUnwritable) -> Claim:
        """Hold an unclaimable message unacked, claiming it again with backoff until the store
        writes; StoreUnwritable (still no ack) after ``HOLD_FOR`` seconds."""
        say_unwritable(self.emit, inc.msg_id, exc)
        delay, waited, tries = HOLD_BACKOFF[0], 0.0, 1
        while waited < HOLD_FOR:
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, HOLD_BACKOFF[1])
            tries += 1
            try:
                claim = await self.storage.claim_message_soon(
                    inc.dedup_key, msg_id=inc.msg_id, owner=self.owner, payload=payload
                )
            except StoreUnwritable as again:
                if tries % 10 == 0:
                    log.error("message %s still held unacked after %.0f s: %s", inc.msg_id, waited, again)
                continue
            except StoreError as other:  # a busy or failing store: as before the ack
                log.error("could not claim message %s (%s); answering it unclaimed", inc.msg_id, other)
                claim = Claim("new")
            log.warning(
                "message %s claimed after the store could write again (held %.0f s, %d tries); answering it",
                inc.msg_id,
                waited,
                tries,
            )
            self.emit("store.writable", msg=inc.msg_id, after=waited)
            return claim
        raise StoreUnwritable(
            f"message {inc.msg_id} held {HOLD_FOR:g} s while the store could not write; left unacked"
        )

    async def _claim(self, inc: Incoming, payload: str) -> Claim:
        try:
            return await self.storage.claim_message(
                inc.dedup_key, msg_id=inc.msg_id, owner=self.owner, payload=payload
            )
        except StoreUnwritable:
            raise
        except StoreError as exc:  # answering twice beats never answering
            log.error("could not claim message %s (%s); answering it unclaimed", inc.msg_id, exc)
            return Claim("new")

    async def _handle_when_claimed(self, inc: Incoming, claiming: asyncio.Future[Claim]) -> None:
        try:
            claim = await asyncio.shield(claiming)
        except StoreUnwritable as exc:  # acked already: answering it beats dropping it
            log.error("could not claim message %s (%s); answering it unclaimed", inc.msg_id, exc)
            claim = Claim("new")
        except asyncio.CancelledError:
            # Shutting down while the store still holds the claim: the message is acked, so
            # no one else gets it and no progress names it; end it here, with a notice.
            log.warning(
                "message %s acked but not yet claimed at shutdown; it ends in a card with a notice",
                inc.msg_id,
            )
            plan = plan_for(inc, max_question_chars=self.cfg.max_question_chars)
            await asyncio.shield(self.responder.interrupted(inc, plan))
            raise
        self.handle(inc, claim)

    def handle(self, inc: Incoming, claim: Claim) -> None:
        if claim.outcome == "skip":
            log.info(
                "skipped message %s from %s: already answered or being answered (%s; "
                "a duplicate msgId, e.g. a redelivery)",
                inc.msg_id,
                inc.sender_staff_id,
                claim.reason,
            )
            self.emit("dedup.skip", msg=inc.msg_id)
            return
        plan = plan_for(inc, max_question_chars=self.cfg.max_question_chars)
        if claim.outcome == "taken":
            log.info("recovery: message %s redelivered and taken over (%s)", inc.msg_id, claim.reason)
            self.emit("recovery", msg=inc.msg_id, via="redelivery", reason=claim.reason)
        self.emit("message", msg=inc.msg_id, plan=plan.action, msgtype=inc.msgtype, group=inc.is_group)
        self.spawn(self.responder.serve(inc, plan, claim.progress))


class FeedbackHandler(_Wired, dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    """A feedback click: stored at once (a second click changes the vote), the card shows the
    choice through a normal update afterwards, as DingTalk asks (no update inside the callback)."""

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, Any]:
        data = callback.data if isinstance(callback.data, dict) else {}
        try:
            strict_json.check(data, what="card callback")
            return AckMessage.STATUS_OK, self.click(data)
        except (ValueError, TypeError, AttributeError) as exc:  # acked: a resend is no better
            content = data.get("content")
            log.warning(
                "card callback on card %s acked and ignored: its content is not JSON "
                "text holding cardPrivateData (%s: %s; found %s of %d chars)",
                str(data.get("outTrackId", "?"))[:80],
                type(exc).__name__,
                str(exc)[:200],
                type(content).__name__,
                len(str(content)),
            )
            self.emit("callback.bad", card=str(data.get("outTrackId", ""))[:80])
            return AckMessage.STATUS_OK, {}

    def click(self, data: dict[str, Any]) -> Any:
        """Record a click's vote; the answer the platform gets. One path for the Stream ack
        and the HTTP card callback (``http_mode``)."""
        msg = dingtalk_stream.CardCallbackMessage.from_dict(data)
        parsed = self.parse(msg)
        if parsed is None:
            log.info("card callback that is not feedback ignored: %r", msg.content)
            return {}
        rating, msg_id = parsed
        card_id = msg.card_instance_id
        done = self.storage.vote_now(card_id=card_id, msg_id=msg_id, user_id=msg.user_id, rating=rating)
        if done is None:  # the store is busy: record the vote after the answer
            self.spawn(self._vote_later(card_id, msg_id, msg.user_id, rating))
        else:
            self._voted(card_id, msg_id, msg.user_id, rating, *done)
        return self.answer_for(rating)

    def parse(self, msg: dingtalk_stream.CardCallbackMessage) -> tuple[str, str] | None:
        """``(rating, msgId)`` of a feedback click, else None."""
        params = (msg.content or {}).get("cardPrivateData", {}).get("params", {})
        return cards.feedback_from_params(params if isinstance(params, dict) else {})

    def answer_for(self, rating: str) -> Any:
        """The answer to a feedback click: an interactive card changes only by a later update."""
        return {}

    async def _vote_later(self, card_id: str, msg_id: str, user_id: str, rating: str) -> None:
        known, changed = await self.storage.vote(
            card_id=card_id, msg_id=msg_id, user_id=user_id, rating=rating
        )
        self._voted(card_id, msg_id, user_id, rating, known, changed)

    def _voted(
        self, card_id: str, msg_id: str, user_id: str, rating: str, known: Answer | None, changed: bool
    ) -> None:
        self.emit("feedback", card=card_id, user=user_id, rating=rating, changed=changed)
        if known:
            self.spawn(self._show_vote(card_id, msg_id, known, rating))

    async def _show_vote(self, card_id: str, msg_id: str, known: Answer, rating: str) -> None:
        """1:1: "You rated ..."; a group card is shared, so it shows everyone's tally."""
        shown, _ = cards.fit_answer(known.answer, self.cfg.max_card_chars)
        if known.is_group:
            tally = Counter(f.rating for f in await self.storage.feedback(card_id))
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


def say_unwritable(emit: Emit, msg_id: str, exc: StoreUnwritable) -> None:
    """The loud line (store path, SQLite code, errno) and the ``store.unwritable`` event."""
    log.error("message %s not taken and not acked, so the platform delivers it again: %s", msg_id, exc)
    emit("store.unwritable", msg=msg_id)


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
