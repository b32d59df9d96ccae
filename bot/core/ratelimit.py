"""A per-app, per-API pacing limiter shared by every conversation of one robot.

DingTalk allows 20 calls per second per app per API. Each call takes a free slot on a ``1/qps``
grid. Calls that must happen (thinking cards, final updates) reserve the next free slot at once
and sleep until it, first come first served. Best-effort calls (streaming updates) never hold a
slot in the future: they wait for a slot that is free *now*, so a must-happen call that arrives
meanwhile takes that slot first, and they give up when no slot frees within their ``max_wait``.
Under contention the budget therefore goes to final updates first. Time comes from the clock
and ``asyncio.sleep``, so the limiter is exact under virtual time.

``burst`` > 1 paces by a sliding window instead, the platform's own rule: at most ``burst``
calls in any ``burst / qps`` seconds. ``burst=1`` is the grid above. With ``qps`` a little below
the platform's rate, the window is a little longer than the platform's (the margin absorbs the
calls' different latencies), and answers that finish together leave ``burst`` at a time
instead of one per ``1/qps``; best-effort calls take at most half of any window, so a burst of
finals is not kept waiting behind streaming updates.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

EPSILON = 1e-9  # a sleep until a slot may end an ulp before it on a virtual clock


class RateLimiter:
    def __init__(self, qps: float, now: Callable[[], float], burst: int = 1) -> None:
        if qps <= 0:
            raise ValueError(f"qps must be > 0, found {qps!r}")
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst must be an integer >= 1, found {burst!r}")
        self.interval = 1.0 / qps
        self.burst = burst
        self.window = burst / qps  # at most ``burst`` slots in any window this long
        # best-effort calls fill at most half a window, so that finals arriving together find
        # the other half free (with ``burst=1``: the one slot, the grid)
        self._best_effort_share = max(1, burst // 2)
        self._now = now
        self._slots: dict[str, deque[float]] = {}  # the newest ``burst`` slots taken, in order
        self._best_effort: dict[str, deque[object]] = {}  # waiting, first come first served

    def _free(self, key: str, now: float) -> float:
        """When the next slot for ``key`` frees: after the last one taken (first come first
        served), and a window after the ``burst``-th newest."""
        slots = self._slots.get(key)
        if not slots:
            return now
        free = slots[-1]
        if len(slots) >= self.burst:
            free = max(free, slots[0] + self.window)
        return free

    def _free_best_effort(self, key: str, now: float) -> float:
        """When a best-effort call may next take a slot: never more than its share of a window."""
        free = self._free(key, now)
        slots = self._slots.get(key)
        share = self._best_effort_share
        if slots and len(slots) >= share:
            free = max(free, slots[-share] + self.window)
        return free

    def _take(self, key: str, slot: float) -> None:
        slots = self._slots.setdefault(key, deque())
        slots.append(slot)
        if len(slots) > self.burst:
            slots.popleft()

    def reserve(self, key: str) -> float:
        """Take the next free slot for ``key``; return how long to wait for it (pure)."""
        now = self._now()
        slot = max(now, self._free(key, now))
        self._take(key, slot)
        return slot - now

    def take_free(self, key: str) -> float | None:
        """Take a slot only if one is free now; else return when the next one frees (pure).

        Returns None when the slot was taken, so reserved slots are never handed out twice.
        """
        now = self._now()
        free = self._free_best_effort(key, now)
        if free <= now + EPSILON:
            self._take(key, max(now, free))
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
                free = self.take_free(key) if first else self._free_best_effort(key, start)
                if free is None:
                    return self._now() - start
                if free > deadline + EPSILON:
                    return None
                await asyncio.sleep(max(0.0, free - self._now()))
        finally:
            line.remove(me)
            if not line:
                del self._best_effort[key]
