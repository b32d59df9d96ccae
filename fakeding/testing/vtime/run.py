"""Run a coroutine with every thread of the run on one virtual clock.

``run_threaded(main)`` starts a coordinator, patches ``time.sleep`` (virtual in every thread
of the run), the frozen wall clock (``time.time``, ``time.monotonic``, ``datetime.now`` read
``epoch + now``), asyncio's loop policy (every new loop is virtual) and ``socket`` (outside
calls, see ``outside``), then runs ``main`` on a virtual loop in the calling thread. A
watchdog gives up when virtual time has not moved for ``STUCK_REAL`` real seconds, naming
what is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, SupportsIndex, TypeVar

from freezegun import api as freezegun_api

from fakeding.testing.vtime.coordinator import Coordinator, VirtualTimeError
from fakeding.testing.vtime.loops import VirtualLoop, VirtualPolicy
from fakeding.testing.vtime.outside import OutsideIO, watching

T = TypeVar("T")
_THREAD_MODULES = ("threading", "Queue", "queue", "concurrent")


class _VirtualWallClock:
    """A freezegun time factory reading ``epoch + coordinator.now``."""

    def __init__(self, coordinator: Coordinator, epoch: float) -> None:
        self.coordinator = coordinator
        self.epoch = epoch

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.epoch + self.coordinator.now, tz=UTC).replace(tzinfo=None)

    def tick(self, delta: Any = 1) -> datetime:
        self.coordinator.sleep(float(delta.total_seconds() if hasattr(delta, "total_seconds") else delta))
        return self()


@contextlib.contextmanager
def virtual_time(
    coordinator: Coordinator, epoch: float, latency: Mapping[str, float] | None = None
) -> Iterator[OutsideIO]:
    outside = OutsideIO(coordinator, dict(latency or {}))
    coordinator.outside = outside
    real_sleep = time.sleep

    def sleep(seconds: float | SupportsIndex) -> None:
        if threading.get_ident() in coordinator.doomed:
            raise SystemExit
        if coordinator.running and coordinator.in_run():
            coordinator.sleep(float(seconds))  # type: ignore[arg-type]
        else:
            real_sleep(seconds)

    factories: list[Any] = freezegun_api.freeze_factories
    ignores: list[tuple[str, ...]] = freezegun_api.ignore_lists
    swapped = ignored = None
    if factories:
        swapped = factories[-1]
        factories[-1] = _VirtualWallClock(coordinator, epoch)
    if ignores:  # freezegun answers real time under a thread's own frames: not in a run
        ignored = ignores[-1]
        ignores[-1] = tuple(m for m in ignored if m not in _THREAD_MODULES)
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        """A thread started by one that is not part of the run is not part of it either; one
        started in the run holds the clock until it runs."""
        run, inside = self.run, coordinator.in_run()

        def started() -> None:
            if not inside:
                coordinator.ignored.add(threading.get_ident())
            coordinator.starting.discard(id(self))  # from here on, its frames tell
            run()

        if inside:  # until it runs, a new thread is invisible to the judge: time holds
            coordinator.starting.add(id(self))
        self.run = started  # type: ignore[method-assign]
        try:
            real_start(self)
        finally:
            if not self.is_alive():
                coordinator.starting.discard(id(self))

    threading.Thread.start = start  # type: ignore[method-assign]
    policy = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(VirtualPolicy(coordinator))
    time.sleep = sleep
    try:
        with watching(outside):
            yield outside
    finally:
        time.sleep = real_sleep
        threading.Thread.start = real_start  # type: ignore[method-assign]
        asyncio.set_event_loop_policy(policy)
        if swapped is not None and factories:
            factories[-1] = swapped
        if ignored is not None and ignores:
            ignores[-1] = ignored


def run_threaded(
    main: Callable[[], Awaitable[T]], *, epoch: float, end: float, latency: Mapping[str, float] | None = None
) -> T:
    """Run ``main`` on a virtual loop in this thread; give up at ``end`` virtual seconds."""
    coordinator = Coordinator()
    coordinator.start()
    try:
        with virtual_time(coordinator, epoch, latency):
            loop = VirtualLoop(coordinator, fatal=True)
            asyncio.set_event_loop(loop)
            try:
                return loop.run_until_complete(_capped(main, end))
            finally:
                _close(loop)
    finally:
        coordinator.stop()


async def _capped(main: Callable[[], Awaitable[T]], end: float) -> T:
    try:
        return await asyncio.wait_for(main(), end)
    except TimeoutError:
        raise VirtualTimeError(f"the run did not end within {end:g} virtual seconds") from None


def _close(loop: asyncio.AbstractEventLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    with contextlib.suppress(VirtualTimeError):
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    asyncio.set_event_loop(None)
    loop.close()
