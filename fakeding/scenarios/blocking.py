"""Blocking code on a virtual-time loop: ``time.sleep`` and ``time.time()`` follow the loop.

A handler that calls ``time.sleep`` (or a blocking client that waits) inside ``process()``
holds the whole loop, as it would in production. Here the sleep moves the loop's virtual clock
forward instead of waiting: timers that came due in the meantime (redelivery, the next user's
message) run late, exactly as they would after a real blocked loop, but no wall time passes.
``time.time()`` and ``datetime.now()`` read the scenario's epoch plus the loop's time, so a
throttle written on ``time.time()`` sees the same seconds as the fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, SupportsIndex

from freezegun import api as freezegun_api


def advance(loop: asyncio.AbstractEventLoop, seconds: float) -> None:
    """Move a looptime loop's clock forward by ``seconds`` while the loop is held."""
    if seconds <= 0:
        return
    base: Any = loop
    reciprocal = getattr(base, "_LoopTimeEventLoop__resolution_reciprocal", None)
    if reciprocal is None:  # not a virtual-time loop: really wait
        time.sleep(seconds)
        return
    base._LoopTimeEventLoop__now += round(seconds * reciprocal)


class _LoopWallClock:
    """A freezegun time factory reading ``epoch + loop.time()``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, epoch: float) -> None:
        self.loop = loop
        self.epoch = epoch

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.epoch + self.loop.time(), tz=UTC).replace(tzinfo=None)

    def tick(self, delta: Any = 1) -> datetime:
        advance(self.loop, float(delta.total_seconds() if hasattr(delta, "total_seconds")
                                 else delta))
        return self()


@contextlib.contextmanager
def loop_time_for_blocking_code(loop: asyncio.AbstractEventLoop, epoch: float) -> Iterator[None]:
    """While active: ``time.sleep`` on the loop's thread advances virtual time, and the frozen
    wall clock (when freezegun is active) reads the loop's time."""
    owner = threading.get_ident()
    real_sleep = time.sleep

    def sleep(seconds: float | SupportsIndex) -> None:
        if threading.get_ident() == owner:
            advance(loop, float(seconds))  # type: ignore[arg-type]
        else:
            real_sleep(seconds)

    factories: list[Any] = freezegun_api.freeze_factories
    swapped = None
    if factories:
        swapped = factories[-1]
        factories[-1] = _LoopWallClock(loop, epoch)
    time.sleep = sleep
    try:
        yield
    finally:
        time.sleep = real_sleep
        if swapped is not None and factories:
            factories[-1] = swapped
