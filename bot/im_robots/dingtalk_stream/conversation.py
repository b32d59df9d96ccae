"""One message, answered: thinking card → agent → throttled card updates → final card.

The guarantees live here: the card never stays on "thinking" (agent errors, timeouts and even
cancellation end in a final card that says what happened and keeps the partial answer); the
final update is retried, and if the card still cannot be updated the answer reaches the user
through the session webhook; answers too long for one card continue as messages.

Each step is recorded as the message's progress (carded, answered, finalized) without waiting
for the store, so a robot restarted after a crash can finish what this one left (``serve``
with the stored progress).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.agents.base import Agent, Turn
from bot.clock import Clock
from bot.core import card_json, cards
from bot.core.i18n import text
from bot.core.incoming import Incoming, Plan
from bot.core.throttle import Throttle
from bot.errors import AgentError, StoreError
from bot.im_robots.dingtalk_stream.config import RobotConfig
from bot.im_robots.dingtalk_stream.openapi import OpenApiCallError, OpenApiClient, Skipped
from bot.storage.storage import Storage
from bot.storage.store import Progress

log = logging.getLogger("bot.conversation")
Emit = Callable[..., None]
REPAIR_ATTEMPTS = 10  # after a webhook fallback: retry finishing the card every 30 s for 5 min
REPAIR_INTERVAL = 30.0
# what a final update sends, made once and kept for its retries and repairs: the card's JSON
# text written as a JSON string (interactive cards) or the closing call's body (AI cards)
Final = Any
INLINE_WAIT = 0.12  # a streaming update waits this long for a slot in line; longer, apart


class Responder:
    def __init__(
        self,
        *,
        config: RobotConfig,
        api: OpenApiClient,
        agent: Agent,
        storage: Storage,
        clock: Clock,
        emit: Emit,
    ) -> None:
        self.cfg = config
        self.api = api
        self.agent = agent
        self.storage = storage
        self.clock = clock
        self.emit = emit

    def t(self, key: str, **fmt: Any) -> str:
        return text(self.cfg.locale, key, **fmt)

    def _progress(self, inc: Incoming, state: str, **fields: str) -> None:
        self.storage.set_progress_soon(inc.dedup_key, state, **fields)

    async def serve(self, inc: Incoming, plan: Plan, prior: Progress | None = None) -> None:
        """Carry out ``plan``; with ``prior`` progress (a message taken over from a robot that
        died) reuse its card, or finish it with the answer already kept."""
        if plan.action == "answer":
            if prior is not None and prior.state == "answered":
                await self._finish(
                    inc, plan.question, prior.answer, prior.notice or None, bool(prior.card_id)
                )
            else:
                await self.answer(inc, plan.question, card_sent=prior is not None and bool(prior.card_id))
        elif plan.action == "notice":
            await self.notice(inc, plan)
        else:
            self._progress(inc, "finalized")

    async def interrupted(self, inc: Incoming, plan: Plan) -> None:
        """A message that was acked but never started (the robot stops): its card goes out
        final at once, with the "ask again" notice; a notice plan is sent as it is."""
        if plan.action != "answer":
            await self.serve(inc, plan)
            return
        self.emit("card.interrupted", msg=inc.msg_id)
        await self._finish(
            inc, plan.question, "", self.t("interrupted"), await self._send_thinking(inc, plan.question)
        )

    # -- notices ---------------------------------------------------------------------------------
    async def notice(self, inc: Incoming, plan: Plan) -> None:
        body = self.t(plan.notice_key, **dict(plan.notice_args))
        self.emit("reply.notice", msg=inc.msg_id, notice=plan.notice_key)
        await self._webhook_markdown(inc, body, title=self.t("title_notice"))
        self._progress(inc, "finalized")

    async def _webhook_markdown(self, inc: Incoming, body: str, *, title: str) -> bool:
        if not inc.webhook:
            log.error("message %s has no sessionWebhook; cannot reply", inc.msg_id)
            self.emit("reply.lost", msg=inc.msg_id, reason="no sessionWebhook")
            return False
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": body},
            "at": {"atUserIds": [inc.sender_staff_id]},
        }
        try:
            await self.api.webhook(inc.webhook, payload)
            self.emit("webhook.sent", msg=inc.msg_id, chars=len(body))
            return True
        except OpenApiCallError as exc:
            log.error("webhook reply for %s failed: %s", inc.msg_id, exc)
            self.emit("reply.lost", msg=inc.msg_id, reason=str(exc))
            return False

    # -- answers ---------------------------------------------------------------------------------
    async def answer(self, inc: Incoming, question: str, *, card_sent: bool = False) -> None:
        cfg = self.cfg
        # The thinking card goes out while the agent already works: neither waits for the other.
        thinking: asyncio.Future[bool]
        if card_sent:  # taken over: the card is out already, answer into it again
            thinking = asyncio.get_running_loop().create_future()
            thinking.set_result(True)
        else:
            thinking = asyncio.ensure_future(self._send_thinking(inc, question))
        throttle = Throttle(
            start=self.clock.monotonic(),
            max_updates=cfg.max_updates,
            interval=cfg.update_interval,
            batch=cfg.update_batch,
        )
        parts: list[str] = []
        chars = 0
        stream = _Stream()

        async def on_chunk(chunk: dict[str, Any]) -> None:
            data = chunk.get("data") if isinstance(chunk, dict) else None
            piece = data.get("content") if isinstance(data, dict) else None
            if not isinstance(piece, str):
                log.warning("agent chunk without data.content ignored: %r", chunk)
                return
            nonlocal chars
            parts.append(piece)
            chars += len(piece)
            decision = throttle.on_chunk(self.clock.monotonic())
            self.emit("throttle", msg=inc.msg_id, reason=decision.reason, update=decision.update, chars=chars)
            if not decision.update:
                return
            if stream.busy:
                self.emit("card.stream.skipped", msg=inc.msg_id, reason="busy")
                return
            if not await thinking:
                return
            try:  # a slot free (almost) now: update as the chunk arrives
                await self._stream_update(inc, question, "".join(parts), max_wait=INLINE_WAIT)
                return
            except Skipped:
                pass
            except OpenApiCallError as exc:
                self.emit("card.stream.failed", msg=inc.msg_id, error=exc.code)
                return
            # no slot free: wait for one in the background, so that the agent never waits for
            # it and the final update can take the slot first
            stream.start(self._stream_soon(inc, question, "".join(parts), thinking, stream))

        try:
            history = await self.storage.history(
                inc.sender_staff_id, ttl=cfg.memory_ttl, max_turns=cfg.memory_turns
            )
        except StoreError as exc:
            log.error("memory of %s unavailable (%s); answering without it", inc.sender_staff_id, exc)
            history = []
        notice: str | None = None
        answer = ""
        failed = False  # an AI card then ends in its failed state
        try:
            async with asyncio.timeout(cfg.agent_timeout):  # (no task of its own, unlike wait_for)
                answer = await self.agent.answer(
                    question, chat_id=inc.sender_staff_id, history=history, on_chunk=on_chunk
                )
            self.emit("agent.done", msg=inc.msg_id, chars=len(answer))
            await stream.stop()  # (inside: a cancel meanwhile still ends in a final card)
        except TimeoutError:
            failed = True
            notice = self.t("agent_timeout", seconds=f"{cfg.agent_timeout:g}")
            answer = "".join(parts)
            self.emit("agent.timeout", msg=inc.msg_id, after=cfg.agent_timeout)
        except asyncio.CancelledError:
            answer = "".join(parts)
            await asyncio.shield(stream.stop())
            await asyncio.shield(
                self._finish(
                    inc, question, answer, self.t("interrupted"), await asyncio.shield(thinking), failed=True
                )
            )
            raise
        except Exception as exc:  # any agent failure ends in a final card, never a crash
            notice, failed = self.t("agent_error"), True
            answer = "".join(parts)
            kind = "agent.error" if isinstance(exc, AgentError) else "agent.crash"
            log.warning("agent failed on %s: %s", inc.msg_id, exc)
            self.emit(kind, msg=inc.msg_id, error=type(exc).__name__)
        if not answer.strip() and notice is None:
            notice = self.t("empty_answer")
        await stream.stop()
        await self._finish(inc, question, answer, notice, await thinking, failed=failed)
        if notice is None:
            self.storage.append_turns_soon(
                inc.sender_staff_id, [Turn("user", question), Turn("assistant", answer)]
            )

    async def _stream_soon(
        self, inc: Incoming, question: str, so_far: str, thinking: asyncio.Future[bool], stream: _Stream
    ) -> None:
        """One streaming update, once the thinking card is out (shielded: cancelling the
        update must not cancel the card)."""
        if not await asyncio.shield(thinking):
            return
        try:
            # it may wait long: a final update takes the slot first, and cancels it when done
            await self._stream_update(
                inc, question, so_far, on_send=stream.sending, max_wait=max(0.5, self.cfg.update_interval)
            )
        except Skipped:
            self.emit("card.stream.skipped", msg=inc.msg_id, reason="rate limit")
        except OpenApiCallError as exc:
            self.emit("card.stream.failed", msg=inc.msg_id, error=exc.code)

    async def _repair(self, inc: Incoming, final: Final) -> None:
        """The user has the answer by message; keep trying, slowly, to take the card off
        "thinking" so that it never stays there."""
        for attempt in range(1, REPAIR_ATTEMPTS + 1):
            await asyncio.sleep(REPAIR_INTERVAL)
            try:
                await self._update_final(inc, final)
            except OpenApiCallError as exc:
                self.emit("card.repair.failed", msg=inc.msg_id, attempt=attempt, error=exc.code)
                continue
            self.emit("card.repaired", msg=inc.msg_id, attempt=attempt)
            self._progress(inc, "finalized")
            return
        log.error("card %s could not be finished after %d repair attempts", inc.card_biz_id, REPAIR_ATTEMPTS)
        self.emit("card.unfinished", msg=inc.msg_id)

    async def _send_thinking(self, inc: Incoming, question: str) -> bool:
        """Send the thinking card; False (and a webhook answer later) if it cannot be sent."""
        at = [(inc.sender_staff_id, inc.sender_nick)] if inc.sender_staff_id else []
        try:
            await self._create_card(inc, question, at)
        except OpenApiCallError as exc:
            log.error("thinking card for %s failed: %s; the answer will go by webhook", inc.msg_id, exc)
            self.emit("card.thinking.failed", msg=inc.msg_id, error=exc.code)
            return False
        self.emit("card.thinking", msg=inc.msg_id, card=inc.card_biz_id)
        self._progress(inc, "carded", card_id=inc.card_biz_id)
        return True

    async def _finish(
        self,
        inc: Incoming,
        question: str,
        answer: str,
        notice: str | None,
        card_ok: bool,
        *,
        failed: bool = False,
    ) -> None:
        cfg = self.cfg
        shown, rest = self._fit(answer)
        if rest:
            notice = (notice + "\n\n" if notice else "") + self.t("answer_truncated")
        final = self._final_card(inc, question, shown, notice, failed)
        self.storage.remember_answer_soon(
            card_id=inc.card_biz_id,
            msg_id=inc.msg_id,
            question=question,
            answer=answer,
            locale=cfg.locale,
            is_group=inc.is_group,
        )
        self._progress(inc, "answered", answer=answer, notice=notice or "")
        delivered = False
        if card_ok:
            try:
                await self._update_final(inc, final)
                delivered = True
                self.emit("card.final", msg=inc.msg_id, chars=len(shown), notice=notice is not None)
            except OpenApiCallError as exc:
                log.error(
                    "final card for %s failed after retries: %s; falling back to the session webhook",
                    inc.msg_id,
                    exc,
                )
                self.emit("card.final.failed", msg=inc.msg_id, error=exc.code)
        if not delivered:
            body = f"**{cards.title_for(question)}**\n\n{answer or ''}"
            if notice:
                body += f"\n\n{notice}"
            body += "\n\n" + self.t("card_fallback_notice")
            if await self._webhook_markdown(inc, body, title=cards.title_for(question)):
                self.emit("reply.fallback", msg=inc.msg_id)
            if card_ok:
                await self._repair(inc, final)
            else:
                self._progress(inc, "finalized")
            return
        self._progress(inc, "finalized")
        while rest:
            piece, rest = cards.fit_answer(rest, cfg.max_card_chars)
            await self._webhook_markdown(inc, piece, title=cards.title_for(question))

    # -- the card surface: interactive cards here, AI cards in ``ai_card`` ----------------------
    def _fit(self, answer: str) -> tuple[str, str]:
        return cards.fit_answer(answer, self.cfg.max_card_chars)

    async def _create_card(self, inc: Incoming, question: str, at: list[tuple[str, str]]) -> None:
        await self.api.send_card(
            card_biz_id=inc.card_biz_id,
            card_data=card_json.thinking(question, self.cfg.locale),
            conversation_id=inc.conversation_id if inc.is_group else None,
            user_id=None if inc.is_group else inc.sender_staff_id,
            at_users=at,
        )

    # The two updates return the API's call to await rather than await it themselves: a level
    # of coroutines fewer on every resume of each request (AI cards override them as coroutines).
    def _stream_update(
        self,
        inc: Incoming,
        question: str,
        so_far: str,
        *,
        max_wait: float = 0.5,
        on_send: Callable[[], None] | None = None,
    ) -> Awaitable[None]:
        shown, _ = cards.fit_answer(so_far, self.cfg.max_card_chars)
        return self.api.update_card(
            inc.card_biz_id,
            card_json.streaming_quoted(question, shown, self.cfg.locale),
            best_effort=True,
            max_wait=max_wait,
            on_send=on_send,
        )

    def _final_card(
        self, inc: Incoming, question: str, shown: str, notice: str | None, failed: bool
    ) -> Final:
        return card_json.final_quoted(question, shown, inc.msg_id, self.cfg.locale, notice=notice)

    def _update_final(self, inc: Incoming, final: Final) -> Awaitable[None]:
        return self.api.update_card(inc.card_biz_id, final)


class _Stream:
    """The one streaming update of an answer in flight, if any. Before the final update it is
    cancelled while still waiting for a rate-limit slot (the final takes the slot), or awaited
    once its request is out, so that it never lands after the final."""

    def __init__(self) -> None:
        self.task: asyncio.Future[None] | None = None
        self._sent = False

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self, update: Coroutine[Any, Any, None]) -> None:
        self._sent = False
        self.task = asyncio.ensure_future(update)

    def sending(self) -> None:
        self._sent = True

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is None or task.done():
            return
        if not self._sent:
            task.cancel()
        await asyncio.wait([task])
