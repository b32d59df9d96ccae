"""Timers due at the same instant run in the order they were made (any asyncio loop)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Any, cast


class FifoTimerHandle(asyncio.TimerHandle):
    """A timer that, among timers due at the same instant, runs in the order it was made.

    asyncio orders its timer heap by due time only, so equal-time timers (common when time is
    virtual) run in an order that depends on the heap's history: an unrelated timer added
    anywhere could reshuffle them. A sequence number makes the order depend on causes only.
    """

    __slots__ = ("_seq",)
    _seq: int

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, asyncio.TimerHandle):
            return NotImplemented
        if self.when() != other.when():
            return self.when() < other.when()
        return self._seq < getattr(other, "_seq", 0)


def fifo_timers(loop: asyncio.AbstractEventLoop) -> None:
    counter = itertools.count()
    base = cast(Any, loop)

    def call_at(
        when: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        base._check_closed()
        timer = FifoTimerHandle(when, callback, args, loop, context)
        timer._seq = next(counter)
        handle = cast(Any, timer)  # asyncio's private fields, set as BaseEventLoop.call_at does
        if handle._source_traceback:
            del handle._source_traceback[-1]
        heapq.heappush(base._scheduled, timer)
        handle._scheduled = True
        return timer

    base.call_at = call_at
