"""The robot's only source of time, so tests can run it on a virtual-time event loop.

Throttling, memory expiry and dedup windows all ask a ``Clock``. ``SystemClock`` reads the
process clocks; ``LoopClock`` reads the running asyncio loop, so under a virtual-time loop
(looptime) every timestamp the robot takes moves with the loop and tests stay deterministic.
"""

from __future__ import annotations

import asyncio
import time
from threading import get_ident
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a monotonic scale; only differences are meaningful."""
        ...

    def time(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    """The process clocks: ``time.monotonic`` and ``time.time``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


class LoopClock:
    """Time of the running asyncio loop, counted from the first reading.

    ``monotonic()`` is ``loop.time()`` minus the loop time at first use, so it starts at 0.
    ``time()`` is ``epoch + monotonic()``; with ``epoch=None`` the epoch is the real
    ``time.time()`` at first use, with a fixed epoch every stamp is reproducible.

    Outside a running loop the clock keeps reading the loop it was first used with. If a
    different loop is running later (for example a second ``asyncio.run``), the clock moves
    to it and continues from its last reading, so readings never go backwards.
    """

    def __init__(self, epoch: float | None = None) -> None:
        self._epoch = epoch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._origin = 0.0
        self._offset = 0.0
        self._last = 0.0

    def _current_loop(self) -> asyncio.AbstractEventLoop:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is not self._loop:
            if self._loop is None and self._epoch is None:
                self._epoch = time.time()
            self._loop = running
            self._origin = running.time()
            self._offset = self._last
        if self._loop is None:
            raise RuntimeError(
                "LoopClock was read before any event loop ran: expected a running asyncio "
                "loop at first use, found none; read it from async code or use SystemClock"
            )
        return self._loop

    def monotonic(self) -> float:
        # the usual case, read many times per message: the loop it knows runs in this thread,
        # so it is the running loop (one loop runs per thread at a time). Asking asyncio for
        # the running loop instead costs a getpid() system call per reading (its check for a
        # forked child, where this reads the same loop as ever). ``_thread_id`` is where
        # asyncio's loops keep their thread while they run; a loop without it takes the long way.
        loop = self._loop
        if loop is None or getattr(loop, "_thread_id", None) != get_ident():
            loop = self._current_loop()
        value = self._offset + (loop.time() - self._origin)
        if value > self._last:
            self._last = value
        return self._last

    def time(self) -> float:
        reading = self.monotonic()
        assert self._epoch is not None
        return self._epoch + reading
