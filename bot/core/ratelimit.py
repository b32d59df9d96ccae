"""A per-app, per-API pacing limiter shared by every conversation of one robot.

DingTalk allows 20 calls per second per app per API. Each call takes the next free slot on a
``1/qps`` grid; a caller whose slot is in the future sleeps until it. Time comes from the
clock and ``asyncio.sleep``, so the limiter is exact under virtual time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class RateLimiter:
    def __init__(self, qps: float, now: Callable[[], float]) -> None:
        if qps <= 0:
            raise ValueError(f"qps must be > 0, found {qps!r}")
        self.interval = 1.0 / qps
        self._now = now
        self._next: dict[str, float] = {}

    def reserve(self, key: str) -> float:
        """Take the next slot for ``key``; return how long to wait for it (pure)."""
        now = self._now()
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + self.interval
        return slot - now

    def try_reserve(self, key: str, max_wait: float) -> float | None:
        """Take the next slot only if it comes within ``max_wait``; None leaves the queue as is.

        Best-effort calls (streaming card updates) use this so that, when the app is at its
        limit, they are skipped instead of queueing ahead of the calls that must happen.
        """
        now = self._now()
        slot = max(now, self._next.get(key, now))
        if slot - now > max_wait:
            return None
        self._next[key] = slot + self.interval
        return slot - now

    async def acquire(self, key: str) -> float:
        wait = self.reserve(key)
        if wait > 0:
            await asyncio.sleep(wait)
        return wait
