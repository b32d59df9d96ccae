"""The one clock the fake reads: timestamps, expiries and timers all come from here.

``LoopClock`` measures time with the running event loop, so a loop whose time is virtual
(looptime) makes the whole fake virtual: redelivery timers, ticket and token expiry,
rate-limit windows and every recorded timestamp move together.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a monotonic scale (differences only)."""

    def time(self) -> float:
        """Seconds since the Unix epoch, as the platform would stamp them."""

    def call_later(self, delay: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        """Run ``callback`` after ``delay`` seconds of this clock."""


class LoopClock:
    """Time of an asyncio loop, mapped onto an epoch chosen at construction.

    ``epoch=None`` takes the real wall-clock time at ``bind``; a fixed epoch makes every
    wall-clock stamp reproducible.
    """

    def __init__(self, epoch: float | None = None) -> None:
        self._epoch = epoch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._origin = 0.0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._origin = loop.time()
        if self._epoch is None:
            self._epoch = time.time()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self.bind(asyncio.get_running_loop())
        assert self._loop is not None
        return self._loop

    def monotonic(self) -> float:
        return self.loop.time() - self._origin

    def time(self) -> float:
        loop = self.loop
        assert self._epoch is not None
        return self._epoch + (loop.time() - self._origin)

    def time_ms(self) -> int:
        return int(round(self.time() * 1000))

    def call_later(self, delay: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        return self.loop.call_later(delay, callback)

    def jump(self, seconds: float) -> None:
        """Read ``seconds`` later from now on, as after a machine's sleep (timers armed on the
        loop keep their loop times: whoever armed them re-arms what came due)."""
        self.loop  # noqa: B018 (bind first: the jump is relative to a bound loop)
        self._origin -= seconds
