"""Fake platform and a robot (through its adapter) on one event loop whose time is virtual.

looptime fast-forwards the loop's clock whenever nothing is ready to run, so a 60-second
streamed answer takes milliseconds; the fake and the robot read that same clock, so every
timer (redelivery, token expiry, throttle, backoff, agent delays) moves together. freezegun
pins wall-clock reads (``time.time()``, ``datetime.now()``) to the scenario's epoch for any
code that bypasses the clock. Everything is loopback and bounded by an end of virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import looptime
from freezegun import freeze_time

from fakeding.core.clock import LoopClock
from fakeding.core.settings import Settings
from fakeding.server import FakeDing
from fakeding.testing.scenarios.robots import RobotAdapter, RobotContext, RobotSession
from fakeding.testing.vtime.fifo import fifo_timers

T = TypeVar("T")
EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: every scenario's wall clock starts here
# Scenarios ping only when their ``platform:`` asks: pings every 30 s (the platform's default)
# would add pushes and acks to every long scenario's report without telling anything new.
SCENARIO_DEFAULTS: dict[str, Any] = {"system_ping_interval": None, "ws_ping_interval": None}


def scenario_settings(**changes: Any) -> Settings:
    """``Settings`` for a virtual-time run: the platform's defaults, without pings."""
    return Settings().replace(**{**SCENARIO_DEFAULTS, **changes})


def frozen_wall_clock(epoch: float = EPOCH) -> contextlib.AbstractContextManager[Any]:
    """freezegun pinned at ``epoch``; asyncio keeps its own (virtual) time.

    Entering it scans every loaded module (about 70 ms with this project's imports), so
    batches of scenarios enter it once (``run_virtual(..., freeze=False)`` inside).
    """
    return freeze_time(datetime.fromtimestamp(epoch, tz=UTC), real_asyncio=True)


_held: list[Any] = []  # the freezegun context held across a run of scenarios
# Test runners time tests between scenarios: their clocks stay real (freezegun leaves them be).
_RUNNERS = ["_pytest", "pytest", "pluggy", "xdist", "execnet"]


def hold_wall_clock() -> None:
    """Patch the wall clock once for scenarios run back to back (pytest items in a row).

    While held, each scenario's own ``frozen_wall_clock`` is a cheap push onto freezegun's
    stack instead of a scan of every module; between scenarios the clock ticks from the real
    time at which it was held. ``release_wall_clock`` undoes it before other code runs.
    """
    if not _held:
        held = freeze_time(datetime.now(UTC), tick=True, real_asyncio=True, ignore=_RUNNERS)
        held.start()
        _held.append(held)


def release_wall_clock() -> None:
    while _held:
        _held.pop().stop()


_fifo_timers = fifo_timers


def run_virtual(
    main: Callable[[], Awaitable[T]],
    *,
    epoch: float = EPOCH,
    end: float = 7200.0,
    freeze: bool = True,
    threads: bool = False,
    latency: Mapping[str, float] | None = None,
) -> T:
    """Run ``main`` on a fresh virtual-time loop starting at 0; give up at ``end`` virtual s.

    ``threads``: every thread and loop of the run on one coordinated clock (``fakeding.testing.vtime``:
    the robot on its own threads, as in production); otherwise one looptime loop (the fast
    path, for robots whose adapter runs them as coroutines on the fake's loop)."""
    with frozen_wall_clock(epoch) if freeze else contextlib.nullcontext():
        if threads:
            from fakeding.testing.vtime.run import run_threaded

            return run_threaded(main, epoch=epoch, end=end, latency=latency)
        return _run_looptime(main, end)


def _run_looptime(main: Callable[[], Awaitable[T]], end: float) -> T:
    loop = looptime.new_event_loop(start=0.0, end=end, noop_cycles=10)
    _fifo_timers(loop)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main())
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


@dataclass
class Harness:
    """A running fake and one robot session on the current (virtual-time) loop."""

    fake: FakeDing
    session: RobotSession

    @property
    def now(self) -> float:
        return self.fake.clock.monotonic()

    async def sleep_until(self, t: float) -> None:
        if t > self.now:
            await asyncio.sleep(t - self.now)

    def busy(self) -> bool:
        """True while the robot still works on something or the platform awaits an ack."""
        return self.session.busy() or self.fake.stream.in_flight()

    async def settle(self, *, limit: float = 900.0, step: float = 0.25) -> float:
        """Wait (virtually) until nothing is in flight; return when that happened."""
        deadline = self.now + limit
        while self.busy() and self.now < deadline:
            pending = [f for f in self.session.pending() if not f.done()]
            if pending:  # jump straight to the robot's next completion instead of polling
                await asyncio.wait(pending, timeout=max(0.0, deadline - self.now))
                await asyncio.sleep(0)
            else:
                await asyncio.sleep(step)
        settled = getattr(self.session, "settled", None)
        if callable(settled):  # the session reports what is left (and outside calls) now
            settled()
        return self.now


H = TypeVar("H", bound=Harness)
_SHM = Path("/dev/shm")


def scratch_dir() -> str | None:
    """Where a scenario's robot keeps its files: memory-backed when the system has it.

    A robot's SQLite file syncs to disk when it closes; on a disk that costs tens of
    milliseconds per scenario, more than the rest of a short scenario. ``None``: the default.
    """
    return str(_SHM) if _SHM.is_dir() and os.access(_SHM, os.W_OK | os.X_OK) else None


@contextlib.asynccontextmanager
async def running_fake(
    settings: Settings | None = None, *, seed: int = 0, epoch: float | None = EPOCH, tls: bool = False
) -> AsyncIterator[FakeDing]:
    """A started fake on the current loop, reading the loop's (virtual) clock; ``tls``: in TLS
    mode with its CONNECT proxy (``fakeding serve --tls --proxy-port 0``), for SDKs that
    hard-code https://api.dingtalk.com (``fake.tls`` tells how to reach it)."""
    fake = FakeDing(
        (settings or scenario_settings()).replace(seed=seed), clock=LoopClock(epoch), incarnation="scenario"
    )
    mode = None
    if tls:
        from fakeding.tls.mode import start_tls

        mode = await start_tls(fake, proxy_port=0)
    else:
        await fake.start()
    try:
        yield fake
    finally:
        if mode is not None:
            await mode.stop()
        await fake.stop()


@contextlib.asynccontextmanager
async def attached(harness: H, *, connect: bool = True) -> AsyncIterator[H]:
    """Start the harness's robot session (unless ``connect`` is False); always close it."""
    try:
        if connect:
            await harness.session.start()
        yield harness
    finally:
        await harness.session.aclose()


@contextlib.asynccontextmanager
async def open_harness(
    adapter: RobotAdapter,
    *,
    settings: Settings | None = None,
    options: Mapping[str, Any] | None = None,
    steps: Sequence[tuple[int, Mapping[str, Any]]] = (),
    folder: Path | None = None,
    seed: int = 0,
    epoch: float | None = EPOCH,
    connect: bool = True,
) -> AsyncIterator[Harness]:
    """A running fake and the adapter's robot, connected, on the current loop (in TLS mode
    when the adapter's optional ``tls(options)`` says so)."""
    wants_tls = getattr(adapter, "tls", None)
    tls = bool(wants_tls(dict(options or {}))) if callable(wants_tls) else False
    async with running_fake(settings, seed=seed, epoch=epoch, tls=tls) as fake:
        with tempfile.TemporaryDirectory(prefix="fakeding-scenario-", dir=scratch_dir()) as tmp:
            ctx = RobotContext(
                options=dict(options or {}), seed=seed, steps=steps, folder=folder, tmp=Path(tmp)
            )
            async with attached(Harness(fake, adapter.open(fake, ctx)), connect=connect) as h:
                yield h
