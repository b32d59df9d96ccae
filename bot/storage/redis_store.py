"""``store: "redis://host:port/db"``: the robot's store in Redis, shared by replicas.

Keys (all under ``bot:``): ``progress:<robotCode:msgId>`` (a hash: state, owner, card, kept
answer, payload; expires after the dedup window), ``unfinished`` (a set of progress keys not
finalized, for recovery), ``owner:<owner>`` (exists while that robot's lease runs),
``memory:<chat>`` (a list of turns, expiring ``memoryTtl`` after the last one),
``answer:<card>`` and ``feedback:<card>`` (a hash of votes by user). Claims and take-overs are
Lua scripts, so two replicas never both win a message. ``soon`` writes go through one queue in
order: whatever queued while the previous batch was on its way goes in the next pipeline (one
MULTI/EXEC round trip for many messages' steps); the queue is flushed on close.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot.agents.base import ROLES, Turn
from bot.clock import Clock
from bot.errors import StoreError
from bot.storage.storage import Storage
from bot.storage.store import DEDUP_TTL, MEMORY_TTL, MEMORY_TURNS, STATES, Answer, Claim, Feedback, Progress

log = logging.getLogger("bot.redis_store")
P = "bot:"
FIELDS = ("msg_id", "state", "owner", "card_id", "answer", "notice", "payload")
ANSWER_TTL = 90 * 86400

# KEYS: progress key, unfinished set. ARGV: me, msg_id, payload, ttl, owner prefix.
_CLAIM = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('HSET', KEYS[1], 'msg_id', ARGV[2], 'state', 'claimed', 'owner', ARGV[1],
             'card_id', '', 'answer', '', 'notice', '', 'payload', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('SADD', KEYS[2], KEYS[1])
  return {'new', ''}
end
if state == 'answered' or state == 'finalized' then return {'skip', 'already ' .. state} end
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner == ARGV[1] then return {'skip', state .. ', being answered by this robot'} end
if redis.call('EXISTS', ARGV[5] .. owner) == 1 then
  return {'skip', state .. ', being answered by live owner ' .. owner}
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
return {'taken', state .. ', owner ' .. owner .. ' is gone'}
"""
# KEYS: progress key. ARGV: old, new.
_TAKE = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'owner', ARGV[2])
  return 1
end
return 0
"""


class RedisStorage(Storage):
    def __init__(self, url: str, clock: Clock, *, memory_ttl: float = MEMORY_TTL) -> None:
        self.name = url
        self.clock = clock
        self.memory_ttl = memory_ttl
        try:
            self.redis: aioredis.Redis = aioredis.Redis.from_url(url, decode_responses=True)
        except ValueError as exc:
            raise StoreError(
                f"store {url!r}: not a usable Redis URL ({exc}); expected redis://host:port/db"
            ) from None
        self._claim = self.redis.register_script(_CLAIM)
        self._take = self.redis.register_script(_TAKE)
        self._queue: list[tuple[str, Callable[[Pipeline], None]]] = []
        self._writer: asyncio.Future[None] | None = None
        self._pending: set[asyncio.Future[None]] = set()

    async def _do(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await call()
        except (RedisError, OSError) as exc:
            raise StoreError(
                f"store {what} at {self.name} failed ({type(exc).__name__}: "
                f"{exc}); check that Redis runs there"
            ) from None

    def _soon(self, what: str, add: Callable[[Pipeline], None]) -> None:
        """Queue a write (``add`` puts its commands on a pipeline) behind the earlier ones."""
        self._queue.append((what, add))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_queued())
            self._pending.add(self._writer)
            self._writer.add_done_callback(self._pending.discard)

    async def _write_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    for _, add in batch:
                        add(pipe)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                lost = ", ".join(sorted({what for what, _ in batch}))
                log.error(
                    "store %s lost (%d write(s)): %s; check that Redis runs at %s",
                    lost,
                    len(batch),
                    exc,
                    self.name,
                )

    # -- progress ---------------------------------------------------------------------------
    async def claim_message(
        self, key: str, *, msg_id: str, owner: str, payload: str, ttl: float = DEDUP_TTL
    ) -> Claim:
        pkey = P + "progress:" + key
        outcome, reason = await self._do(
            "claim_message",
            lambda: self._claim(
                keys=[pkey, P + "unfinished"], args=[owner, msg_id, payload, int(ttl), P + "owner:"]
            ),
        )
        prior = await self.progress(key) if outcome != "new" else None
        return Claim(str(outcome), str(reason), prior)

    def set_progress_soon(
        self,
        key: str,
        state: str,
        *,
        card_id: str | None = None,
        answer: str | None = None,
        notice: str | None = None,
    ) -> None:
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, found {state!r}")
        given = (("card_id", card_id), ("answer", answer), ("notice", notice))
        fields: dict[Any, Any] = {"state": state, **{k: v for k, v in given if v is not None}}
        pkey = P + "progress:" + key

        def write(pipe: Pipeline) -> None:
            pipe.hset(pkey, mapping=fields)
            if state == "finalized":
                pipe.srem(P + "unfinished", pkey)

        self._soon("set_progress", write)

    async def progress(self, key: str) -> Progress | None:
        row = await self._do("progress", lambda: self.redis.hgetall(P + "progress:" + key))
        return _progress(key, row)

    async def beat(self, owner: str, lease: float) -> None:
        name = P + "owner:" + owner
        if lease <= 0:
            await self._do("beat", lambda: self.redis.delete(name))
        else:
            await self._do("beat", lambda: self.redis.set(name, "1", px=int(lease * 1000)))

    async def orphans(self, me: str) -> list[Progress]:
        found: list[Progress] = []
        for pkey in sorted(await self._do("orphans", lambda: self.redis.smembers(P + "unfinished"))):
            row = await self._do("orphans", partial(self.redis.hgetall, pkey))
            progress = _progress(pkey.removeprefix(P + "progress:"), row)
            if progress is None or progress.state == "finalized":
                await self._do("orphans", partial(self.redis.srem, P + "unfinished", pkey))
                continue
            alive = await self._do("orphans", partial(self.redis.exists, P + "owner:" + progress.owner))
            if progress.owner != me and not alive:
                found.append(progress)
        return found

    async def take_over(self, key: str, *, old: str, new: str) -> bool:
        done = await self._do("take_over", lambda: self._take(keys=[P + "progress:" + key], args=[old, new]))
        return bool(done)

    # -- memory ------------------------------------------------------------------------------
    async def history(
        self, chat_id: str, *, ttl: float = MEMORY_TTL, max_turns: int = MEMORY_TURNS
    ) -> list[Turn]:
        if max_turns < 0:
            raise ValueError(f"max_turns must be >= 0, found {max_turns}")
        if max_turns == 0:
            return []
        rows = await self._do("history", lambda: self.redis.lrange(P + "memory:" + chat_id, -max_turns, -1))
        since = self.clock.time() - ttl
        turns = [json.loads(r) for r in rows]
        return [Turn(t["role"], t["content"]) for t in turns if t["at"] >= since and t["role"] in ROLES]

    def append_turns_soon(self, chat_id: str, turns: Sequence[Turn]) -> None:
        now = self.clock.time()
        rows = [
            json.dumps({"role": t.role, "content": t.content, "at": now}, ensure_ascii=False) for t in turns
        ]
        name = P + "memory:" + chat_id

        def write(pipe: Pipeline) -> None:
            pipe.rpush(name, *rows)
            pipe.ltrim(name, -200, -1)
            pipe.expire(name, max(1, int(self.memory_ttl)))

        self._soon("append_turns", write)

    # -- answers and feedback ----------------------------------------------------------------
    def remember_answer_soon(
        self, *, card_id: str, msg_id: str, question: str, answer: str, locale: str, is_group: bool = False
    ) -> None:
        fields: dict[Any, Any] = {
            "msg_id": msg_id,
            "question": question,
            "answer": answer,
            "locale": locale,
            "is_group": int(is_group),
        }
        name = P + "answer:" + card_id

        def write(pipe: Pipeline) -> None:
            pipe.hset(name, mapping=fields)
            pipe.expire(name, ANSWER_TTL)

        self._soon("remember_answer", write)

    async def answer_for(self, card_id: str) -> Answer | None:
        row = await self._do("answer_for", lambda: self.redis.hgetall(P + "answer:" + card_id))
        if not row:
            return None
        return Answer(row["question"], row["answer"], row["locale"], row["is_group"] == "1")

    async def vote(
        self, *, card_id: str, msg_id: str, user_id: str, rating: str
    ) -> tuple[Answer | None, bool]:
        known = await self.answer_for(card_id)
        changed = await self.record_feedback(
            card_id=card_id,
            msg_id=msg_id,
            user_id=user_id,
            rating=rating,
            question=known.question if known else "",
            answer=known.answer if known else "",
        )
        return known, changed

    async def record_feedback(
        self, *, card_id: str, msg_id: str, user_id: str, rating: str, question: str, answer: str
    ) -> bool:
        """True if it replaced an earlier vote of that user."""
        value = json.dumps(
            {
                "msg_id": msg_id,
                "rating": rating,
                "question": question,
                "answer": answer,
                "at": self.clock.time(),
            },
            ensure_ascii=False,
        )
        added = await self._do(
            "record_feedback", lambda: self.redis.hset(P + "feedback:" + card_id, user_id, value)
        )
        return not added

    async def feedback(self, card_id: str | None = None) -> list[Feedback]:
        names = (
            [P + "feedback:" + card_id]
            if card_id is not None
            else [name async for name in self.redis.scan_iter(P + "feedback:*")]
        )
        found: list[Feedback] = []
        for name in names:
            votes = await self._do("feedback", partial(self.redis.hgetall, name))
            for user, raw in votes.items():
                v = json.loads(raw)
                found.append(
                    Feedback(
                        name.removeprefix(P + "feedback:"),
                        v["msg_id"],
                        user,
                        v["rating"],
                        v["question"],
                        v["answer"],
                        v["at"],
                    )
                )
        return sorted(found, key=lambda f: f.at)

    async def prune(self, *, memory_ttl: float = MEMORY_TTL) -> int:
        return 0  # Redis expires keys itself

    async def aclose(self, timeout: float = 5.0) -> None:
        if self._pending:
            _, left = await asyncio.wait(set(self._pending), timeout=timeout)
            if left:
                log.error("%d store write(s) not flushed at close; lost", len(left))
        await self.redis.aclose()


def _progress(key: str, row: dict[str, str]) -> Progress | None:
    if not row or "state" not in row:
        return None
    return Progress(
        key,
        row.get("msg_id", ""),
        row["state"],
        row.get("owner", ""),
        row.get("card_id", ""),
        row.get("answer", ""),
        row.get("notice", ""),
        row.get("payload", "{}"),
    )
