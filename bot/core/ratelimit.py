"""A per-app, per-API pacing limiter shared by every conversation of one robot.

DingTalk allows 20 calls per second per app per API. Each call takes a free slot on a ``1/qps``
grid. Calls that must happen (thinking cards, final updates) reserve the next free slot at once
and sleep until it, first come first served. Best-effort calls (streaming updates) never hold a
slot in the future: they wait for a slot that is free *now*, so a must-happen call that arrives
meanwhile takes that slot first, and they give up when no slot frees within their ``max_wait``.
Under contention the budget therefore goes to final updates first. Time comes from the clock
and ``asyncio.sleep``, so the limiter is exact under virtual time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

EPSILON = 1e-9  # a sleep until a slot may end an ulp before it on a virtual clock


class RateLimiter:
    def __init__(self, qps: float, now: Callable[[], float]) -> None:
        if qps <= 0:
            raise ValueError(f"qps must be > 0, found {qps!r}")
        self.interval = 1.0 / qps
        self._now = now
        self._next: dict[str, float] = {}
        self._best_effort: dict[str, deque[object]] = {}  # waiting, first come first served

    def reserve(self, key: str) -> float:
        """Take the next free slot for ``key``; return how long to wait for it (pure)."""
        now = self._now()
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + self.interval
        return slot - now

    def take_free(self, key: str) -> float | None:
        """Take a slot only if one is free now; else return when the next one frees (pure).

        Returns None when the slot was taken, so reserved slots are never handed out twice.
        """
        now = self._now()
        free = self._next.get(key, now)
        if free <= now + EPSILON:
            self._next[key] = max(now, free) + self.interval
            return None
        return free

    async def acquire(self, key: str) -> float:
        """A call that must happen: the next free slot, waited for."""
        wait = self.reserve(key)
        if wait > 0:
            await asyncio.sleep(wait)
        return wait

    async def acquire_best_effort(self, key: str, max_wait: float) -> float | None:
        """A call that may be dropped: a slot free now, or one that frees within ``max_wait``
        and that no must-happen call has taken by then. Returns the time waited, or None
        (nothing taken) when the app stays at its limit."""
        start = self._now()
        deadline = start + max_wait
        me = object()
        line = self._best_effort.setdefault(key, deque())
        line.append(me)
        try:
            while True:
                first = line[0] is me
                free = self.take_free(key) if first else self._next.get(key, start)
                if free is None:
                    return self._now() - start
                if free > deadline + EPSILON:
                    return None
                await asyncio.sleep(max(0.0, free - self._now()))
        finally:
            line.remove(me)
            if not line:
                del self._best_effort[key]
