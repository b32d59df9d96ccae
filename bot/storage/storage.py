"""The robot's store as the event loop sees it: every call is async and never blocks the loop.

``Storage`` is the interface the robot uses (``SqliteStorage`` here, ``RedisStorage`` in
``bot.storage.redis_store``). ``SqliteStorage`` first tries a call on the loop thread against a
connection whose busy timeout is 0: an unlocked local SQLite call takes microseconds, and
staying on the loop keeps virtual-time tests deterministic. When the file is locked (another
process, a backup, a sqlite3 shell) the call moves to one worker thread with its own
connection, where it waits with a bounded busy timeout and is retried a bounded number of
times; writes queued there keep their order, and later writes queue behind them. Only the work
that needs the answer waits; ``soon`` writes (progress, memory, answers) are fire-and-forget:
they wait in memory until the end of the loop's current step (under load, until
``GROUP_COMMIT`` after the last flush), or until the next call that goes to the file, and then
go in one transaction with it (one commit for many messages' steps instead of one each). They
are flushed on close. Claims made with ``claim_message_in_step`` go at the end of the step, with
the waiting writes and a burst of frames' claims in the same commit, and each learns its outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from bot.agents.base import Turn
from bot.clock import Clock
from bot.errors import StoreBusy, StoreError
from bot.storage.store import (
    DEDUP_TTL,
    MEMORY_TTL,
    MEMORY_TURNS,
    STATES,
    Answer,
    Call,
    Claim,
    Feedback,
    Progress,
    Store,
)

log = logging.getLogger("bot.storage")
BUSY_TIMEOUT = 1.0  # seconds one worker attempt waits for the SQLite lock
BUSY_ATTEMPTS = 30  # so a call gives up after about 30 s of a locked file
# Group commit: ``soon`` writes made within this many seconds of the last flush wait for the
# rest of it, so a busy robot commits at most about 200 times a second, each commit carrying
# many messages' steps; an idle robot's writes still go in at the end of the loop's step.
GROUP_COMMIT = 0.005


class Storage:
    """What the robot keeps: progress and dedup, memory, answers and feedback (all async)."""

    name = "store"

    def claim_message_now(self, key: str, *, msg_id: str, owner: str, payload: str) -> Claim | None:
        """The claim at once if it can be had without waiting, else None (then ``await
        claim_message``): lets a handler ack without waiting for storage."""
        return None

    def claim_message_in_step(
        self, key: str, *, msg_id: str, owner: str, payload: str
    ) -> Awaitable[Claim | None]:
        """``claim_message_now``, answered by the end of the loop's current step: a store may
        make the claims of a burst of frames together (then awaiting it can take a step)."""
        future: asyncio.Future[Claim | None] = asyncio.get_running_loop().create_future()
        future.set_result(self.claim_message_now(key, msg_id=msg_id, owner=owner, payload=payload))
        return future

    async def claim_message(
        self, key: str, *, msg_id: str, owner: str, payload: str, ttl: float = DEDUP_TTL
    ) -> Claim:
        raise NotImplementedError

    async def claim_message_soon(self, key: str, *, msg_id: str, owner: str, payload: str) -> Claim:
        """The claim at once when it can be had without waiting, else awaited."""
        claim = self.claim_message_now(key, msg_id=msg_id, owner=owner, payload=payload)
        if claim is None:
            claim = await self.claim_message(key, msg_id=msg_id, owner=owner, payload=payload)
        return claim

    def set_progress_soon(
        self,
        key: str,
        state: str,
        *,
        card_id: str | None = None,
        answer: str | None = None,
        notice: str | None = None,
    ) -> None:
        raise NotImplementedError

    async def progress(self, key: str) -> Progress | None:
        raise NotImplementedError

    async def beat(self, owner: str, lease: float) -> None:
        raise NotImplementedError

    async def orphans(self, me: str) -> list[Progress]:
        raise NotImplementedError

    async def take_over(self, key: str, *, old: str, new: str) -> bool:
        raise NotImplementedError

    async def history(
        self, chat_id: str, *, ttl: float = MEMORY_TTL, max_turns: int = MEMORY_TURNS
    ) -> list[Turn]:
        raise NotImplementedError

    def append_turns_soon(self, chat_id: str, turns: Sequence[Turn]) -> None:
        raise NotImplementedError

    def remember_answer_soon(
        self, *, card_id: str, msg_id: str, question: str, answer: str, locale: str, is_group: bool = False
    ) -> None:
        raise NotImplementedError

    async def answer_for(self, card_id: str) -> Answer | None:
        raise NotImplementedError

    def vote_now(
        self, *, card_id: str, msg_id: str, user_id: str, rating: str
    ) -> tuple[Answer | None, bool] | None:
        """``vote`` at once if it needs no waiting, else None (then ``await vote``)."""
        return None

    async def vote(
        self, *, card_id: str, msg_id: str, user_id: str, rating: str
    ) -> tuple[Answer | None, bool]:
        """Record a feedback click; what the card answered and whether the vote changed."""
        raise NotImplementedError

    async def record_feedback(
        self, *, card_id: str, msg_id: str, user_id: str, rating: str, question: str, answer: str
    ) -> bool:
        raise NotImplementedError

    async def feedback(self, card_id: str | None = None) -> list[Feedback]:
        raise NotImplementedError

    async def prune(self, *, memory_ttl: float = MEMORY_TTL) -> int:
        raise NotImplementedError

    async def aclose(self, timeout: float = 5.0) -> None:
        raise NotImplementedError


class SqliteStorage(Storage):
    def __init__(
        self,
        path: str | Path,
        clock: Clock,
        *,
        busy_timeout: float = BUSY_TIMEOUT,
        attempts: int = BUSY_ATTEMPTS,
    ) -> None:
        self.name = str(path)
        self.fast = Store(path, clock)
        self.fast.set_busy_timeout(0.0)
        self.attempts = attempts
        self.slow = self.fast if self.name == ":memory:" else Store(path, clock, busy_timeout=busy_timeout)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="store")
        self._queued_writes = 0
        self._pending: set[asyncio.Future[Any]] = set()
        self._batch: list[Call] = []  # ``soon`` writes not in the file yet, in order
        # claims of this step of the loop, made with its ``soon`` writes at its end
        self._claims: list[tuple[Call, asyncio.Future[Claim | None]]] = []
        self._flush_at: asyncio.Handle | None = None
        self._flushed_at = float("-inf")  # the loop's time of the last flush (group commit)
        self._closing = False  # set by aclose: the worker stops waiting for the lock
        self.waits = 0  # calls that had to leave the loop because the file was locked
        self.commits = 0  # transactions the loop thread ran (tests count them)

    # -- the two paths --------------------------------------------------------------------------
    def _now(self, name: str, args: tuple[Any, ...], kw: dict[str, Any], *, write: bool) -> Any:
        """Run on the loop thread, together with the waiting ``soon`` writes, if nothing is
        queued ahead (writes) and the file is free; raise StoreBusy otherwise (the waiting
        writes are then queued first, so the order holds)."""
        if self._queued_writes:
            self._queue_batch()
            if write:
                raise StoreBusy("writes are queued ahead")
        return self._with_batch((name, args, kw))

    def _flush(self) -> None:
        """Write the waiting ``soon`` writes and claims in one transaction (end of the loop's
        step, or of the group commit's wait)."""
        self._flush_at = None
        with contextlib.suppress(RuntimeError):  # (no loop: a synchronous caller or aclose's)
            self._flushed_at = asyncio.get_running_loop().time()
        if self._claims:
            self._flush_claims()
            return
        if not self._batch:
            return
        if self._queued_writes:
            self._queue_batch()
            return
        with contextlib.suppress(StoreBusy):  # (the writes are queued for the worker then)
            self._with_batch(None)

    def _with_batch(self, last: Call | None) -> Any:
        """The waiting ``soon`` writes, then ``last`` (whose result is returned), as one
        transaction on the loop thread. StoreBusy hands the writes to the worker thread, in
        order, and is raised; a failing write is retried alone, so it loses only itself."""
        batch, self._batch = self._batch, []
        self.commits += 1
        if not batch:  # ``last`` alone, in a transaction of its own kind (a read takes no lock)
            assert last is not None
            return getattr(self.fast, last[0])(*last[1], **last[2])
        try:
            return self.fast.batch(batch, last)
        except StoreBusy:
            self._batch = batch + self._batch
            self._queue_batch()
            raise
        except Exception:
            pass  # one bad write must not take the others with it: each alone, then ``last``
        self._each_alone(batch)
        if last is None:
            return None
        self.commits += 1
        return getattr(self.fast, last[0])(*last[1], **last[2])

    def _flush_claims(self) -> None:
        """The waiting ``soon`` writes, then this step's claims, as one transaction; each claim
        learns its outcome. A claim whose frame stopped waiting for it is not made. None (the
        claim cannot be had without waiting: the frame claims it through the worker then, after
        the writes handed to it) when the file is locked or writes are queued ahead; a failing
        transaction is retried one write and one claim at a time, as in ``_with_batch``."""
        claims = [(call, f) for call, f in self._claims if not f.cancelled()]
        self._claims = []
        if self._queued_writes:
            self._queue_batch()
            _answer_none(claims)
            claims = []
        if not claims:
            self._flush()
            return
        batch, self._batch = self._batch, []
        self.commits += 1
        try:
            results = self.fast.batch_asking(batch, [call for call, _ in claims])
        except StoreBusy:
            self._batch = batch + self._batch
            self._queue_batch()
            _answer_none(claims)
            return
        except Exception:
            pass  # each alone: the writes, then the claims
        else:
            for (_, future), result in zip(claims, results, strict=True):
                future.set_result(result)
            return
        try:
            self._each_alone(batch)
        except StoreBusy:
            _answer_none(claims)
            return
        for i, ((name, args, kw), future) in enumerate(claims):
            try:
                self.commits += 1
                future.set_result(getattr(self.fast, name)(*args, **kw))
            except StoreBusy:
                _answer_none(claims[i:])
                return
            except Exception as exc:  # (StoreUnwritable: the frame is held unacked)
                future.set_exception(exc)

    def _each_alone(self, batch: list[Call]) -> None:
        """``soon`` writes one transaction each: a failing one is lost alone; StoreBusy hands it
        and the rest to the worker thread, in order, and is raised."""
        for i, (name, args, kw) in enumerate(batch):
            try:
                self.commits += 1
                getattr(self.fast, name)(*args, **kw)
            except StoreBusy:
                self._batch = batch[i:] + self._batch
                self._queue_batch()
                raise
            except Exception as exc:
                log.error("store %s lost: %s", name, exc)

    def _queue_batch(self) -> None:
        """Hand the waiting ``soon`` writes, in order, to the worker thread."""
        batch, self._batch = self._batch, []
        for name, args, kw in batch:
            future = self._queue(name, args, kw, write=True)
            self._pending.add(future)
            future.add_done_callback(partial(self._written, name))

    def _written(self, name: str, f: asyncio.Future[Any]) -> None:
        self._pending.discard(f)
        if not f.cancelled() and f.exception() is not None:
            log.error("store %s lost: %s", name, f.exception())

    def _queue(
        self, name: str, args: tuple[Any, ...], kw: dict[str, Any], *, write: bool
    ) -> asyncio.Future[Any]:
        self.waits += 1
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._retrying, name, args, kw)
        if write:
            self._queued_writes += 1

            def unqueue(_: asyncio.Future[Any]) -> None:
                self._queued_writes -= 1

            future.add_done_callback(unqueue)
        return future

    def _retrying(self, name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        """On the worker thread: wait for the lock, a bounded number of times."""
        for attempt in range(1, self.attempts + 1):
            if self._closing:
                raise StoreError(
                    f"store {name} at {self.name} not done: the robot is stopping "
                    "and the SQLite file is still locked by another connection"
                )
            try:
                return getattr(self.slow, name)(*args, **kw)
            except StoreBusy:
                if attempt == 1 or attempt % 10 == 0:
                    log.warning(
                        "store %s at %s waits: the SQLite file is locked by another "
                        "connection (attempt %d of %d); check for another process, "
                        "a backup or an open sqlite3 shell holding it",
                        name,
                        self.name,
                        attempt,
                        self.attempts,
                    )
        raise StoreError(
            f"store {name} at {self.name} gave up: the SQLite file stayed locked "
            f"for {self.attempts} attempts of {self.slow.busy_timeout:g} s; find "
            "what holds it (another process, a backup, a sqlite3 shell)"
        )

    async def _call(self, name: str, *args: Any, write: bool, **kw: Any) -> Any:
        try:
            return self._now(name, args, kw, write=write)
        except StoreBusy:
            return await self._queue(name, args, kw, write=write)

    def _soon(self, name: str, *args: Any, **kw: Any) -> None:
        self._batch.append((name, args, kw))
        if self._flush_at is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a synchronous caller): write at once
                self._flush()
                return
            wait = self._flushed_at + GROUP_COMMIT - loop.time()
            self._flush_at = loop.call_later(wait, self._flush) if wait > 0 else loop.call_soon(self._flush)

    # -- the interface ----------------------------------------------------------------------
    def claim_message_now(self, key: str, *, msg_id: str, owner: str, payload: str) -> Claim | None:
        try:
            claim: Claim = self._now(
                "claim_message", (key,), {"msg_id": msg_id, "owner": owner, "payload": payload}, write=True
            )
        except StoreBusy:
            return None
        return claim

    def claim_message_in_step(
        self, key: str, *, msg_id: str, owner: str, payload: str
    ) -> Awaitable[Claim | None]:
        """Made at the end of this step of the loop, with the step's other claims and ``soon``
        writes: a burst of frames arrives in one step, and their claims share one commit."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Claim | None] = loop.create_future()
        self._claims.append(
            (("claim_message", (key,), {"msg_id": msg_id, "owner": owner, "payload": payload}), future)
        )
        if isinstance(self._flush_at, asyncio.TimerHandle):  # a frame's ack waits: no group wait
            self._flush_at.cancel()
            self._flush_at = None
        if self._flush_at is None:
            self._flush_at = loop.call_soon(self._flush)
        return future

    async def claim_message(
        self, key: str, *, msg_id: str, owner: str, payload: str, ttl: float = DEDUP_TTL
    ) -> Claim:
        claim: Claim = await self._call(
            "claim_message", key, msg_id=msg_id, owner=owner, payload=payload, ttl=ttl, write=True
        )
        return claim

    def set_progress_soon(
        self,
        key: str,
        state: str,
        *,
        card_id: str | None = None,
        answer: str | None = None,
        notice: str | None = None,
    ) -> None:
        if state not in STATES:  # refused here, not later inside another message's batch
            raise ValueError(f"state must be one of {', '.join(STATES)}, found {state!r}")
        self._soon("set_progress", key, state, card_id=card_id, answer=answer, notice=notice)

    async def progress(self, key: str) -> Progress | None:
        found: Progress | None = await self._call("progress", key, write=False)
        return found

    async def beat(self, owner: str, lease: float) -> None:
        await self._call("beat", owner, lease, write=True)

    async def orphans(self, me: str) -> list[Progress]:
        found: list[Progress] = await self._call("orphans", me, write=False)
        return found

    async def take_over(self, key: str, *, old: str, new: str) -> bool:
        return bool(await self._call("take_over", key, old=old, new=new, write=True))

    async def history(
        self, chat_id: str, *, ttl: float = MEMORY_TTL, max_turns: int = MEMORY_TURNS
    ) -> list[Turn]:
        turns: list[Turn] = await self._call("history", chat_id, ttl=ttl, max_turns=max_turns, write=False)
        return turns

    def append_turns_soon(self, chat_id: str, turns: Sequence[Turn]) -> None:
        self._soon("append_turns", chat_id, list(turns))

    def remember_answer_soon(
        self, *, card_id: str, msg_id: str, question: str, answer: str, locale: str, is_group: bool = False
    ) -> None:
        self._soon(
            "remember_answer",
            card_id=card_id,
            msg_id=msg_id,
            question=question,
            answer=answer,
            locale=locale,
            is_group=is_group,
        )

    async def answer_for(self, card_id: str) -> Answer | None:
        found: Answer | None = await self._call("answer_for", card_id, write=False)
        return found

    def vote_now(
        self, *, card_id: str, msg_id: str, user_id: str, rating: str
    ) -> tuple[Answer | None, bool] | None:
        try:
            found: tuple[Answer | None, bool] = self._now(
                "vote",
                (),
                {"card_id": card_id, "msg_id": msg_id, "user_id": user_id, "rating": rating},
                write=True,
            )
        except StoreBusy:
            return None
        return found

    async def vote(
        self, *, card_id: str, msg_id: str, user_id: str, rating: str
    ) -> tuple[Answer | None, bool]:
        found: tuple[Answer | None, bool] = await self._call(
            "vote", card_id=card_id, msg_id=msg_id, user_id=user_id, rating=rating, write=True
        )
        return found

    async def record_feedback(
        self, *, card_id: str, msg_id: str, user_id: str, rating: str, question: str, answer: str
    ) -> bool:
        return bool(
            await self._call(
                "record_feedback",
                card_id=card_id,
                msg_id=msg_id,
                user_id=user_id,
                rating=rating,
                question=question,
                answer=answer,
                write=True,
            )
        )

    async def feedback(self, card_id: str | None = None) -> list[Feedback]:
        found: list[Feedback] = await self._call("feedback", card_id, write=False)
        return found

    async def prune(self, *, memory_ttl: float = MEMORY_TTL) -> int:
        return int(await self._call("prune", memory_ttl=memory_ttl, write=True))

    async def aclose(self, timeout: float = 5.0) -> None:
        """Flush queued writes (up to ``timeout`` s), then close both connections."""
        if self._flush_at is not None:
            self._flush_at.cancel()
        self._flush()
        if self._pending:
            _, left = await asyncio.wait(set(self._pending), timeout=timeout)
            if left:
                log.error(
                    "%d store write(s) still waiting for the lock on %s at close are not "
                    "saved (progress of messages in flight: another robot takes those "
                    "over after this one's lease)",
                    len(left),
                    self.name,
                )
        self._closing = True  # the worker gives up at its next attempt: the process can exit
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.fast.close()
        self.slow.close()


def _answer_none(claims: list[tuple[Call, asyncio.Future[Claim | None]]]) -> None:
    """Tell each claim that it cannot be had without waiting."""
    for _, future in claims:
        future.set_result(None)
