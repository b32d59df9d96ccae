"""Fake platform, real robot and agent on one event loop whose time is virtual.

looptime fast-forwards the loop's clock whenever nothing is ready to run, so a 60-second
streamed answer takes milliseconds; the fake and the robot read that same clock, so every
timer (redelivery, token expiry, throttle, backoff, agent delays) moves together. freezegun
pins wall-clock reads (``time.time()``, ``datetime.now()``) to the scenario's epoch for any
code that bypasses the clock. Everything is loopback and bounded by an end of virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import looptime
from freezegun import freeze_time

from ..clock import LoopClock
from ..server import FakeDing
from ..settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings

T = TypeVar("T")
EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: every scenario's wall clock starts here
DEMO_INSTANCE = Path(__file__).resolve().parents[2] / "bot" / "elements" / "imRobots.dingTalkDemo"


def frozen_wall_clock(epoch: float = EPOCH) -> contextlib.AbstractContextManager[Any]:
    """freezegun pinned at ``epoch``; asyncio keeps its own (virtual) time.

    Entering it scans every loaded module (about 70 ms with this project's imports), so
    batches of scenarios enter it once (``run_virtual(..., freeze=False)`` inside).
    """
    return freeze_time(datetime.fromtimestamp(epoch, tz=UTC), real_asyncio=True)


class _FifoTimerHandle(asyncio.TimerHandle):
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


def _fifo_timers(loop: asyncio.AbstractEventLoop) -> None:
    counter = itertools.count()
    base = cast(Any, loop)

    def call_at(when: float, callback: Callable[..., object], *args: Any,
                context: Any = None) -> asyncio.TimerHandle:
        base._check_closed()
        timer = _FifoTimerHandle(when, callback, args, loop, context)
        timer._seq = next(counter)
        handle = cast(Any, timer)  # asyncio's private fields, set as BaseEventLoop.call_at does
        if handle._source_traceback:
            del handle._source_traceback[-1]
        heapq.heappush(base._scheduled, timer)
        handle._scheduled = True
        return timer

    base.call_at = call_at


def run_virtual(main: Callable[[], Awaitable[T]], *, epoch: float = EPOCH,
                end: float = 7200.0, freeze: bool = True) -> T:
    """Run ``main`` on a fresh virtual-time loop starting at 0; give up at ``end`` virtual s."""
    loop = looptime.new_event_loop(start=0.0, end=end, noop_cycles=10)
    _fifo_timers(loop)
    try:
        with frozen_wall_clock(epoch) if freeze else contextlib.nullcontext():
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
    fake: FakeDing
    robot: Any  # bot.im_robots.dingtalk_stream.robot.DingTalkStreamRobot
    robot_task: asyncio.Task[None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def now(self) -> float:
        return self.fake.clock.monotonic()

    async def sleep_until(self, t: float) -> None:
        if t > self.now:
            await asyncio.sleep(t - self.now)

    def busy(self) -> bool:
        """True while the robot still works on something or the platform awaits an ack."""
        if any(not task.done() for task in self.robot.tasks):
            return True
        return self.fake.stream.in_flight()

    async def settle(self, *, limit: float = 900.0, step: float = 0.25) -> float:
        """Wait (virtually) until nothing is in flight; return when that happened."""
        deadline = self.now + limit
        while self.busy() and self.now < deadline:
            tasks = [t for t in self.robot.tasks if not t.done()]
            if tasks:  # jump straight to the robot's next completion instead of polling
                await asyncio.wait(tasks, timeout=max(0.0, deadline - self.now))
                await asyncio.sleep(0)
            else:
                await asyncio.sleep(step)
        return self.now


@contextlib.asynccontextmanager
async def open_harness(
    *,
    settings: Settings | None = None,
    robot: dict[str, Any] | None = None,
    agent: Any = None,
    store_dir: Path | None = None,
    seed: int = 0,
    epoch: float | None = EPOCH,
    connect: bool = True,
) -> AsyncIterator[Harness]:
    """A running fake and a connected robot on the current (virtual-time) loop."""
    from bot.im_robots.dingtalk_stream.config import KEYS, RobotConfig, validate
    from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot

    settings = (settings or Settings()).replace(seed=seed)
    fake = FakeDing(settings, clock=LoopClock(epoch), incarnation="scenario")
    await fake.start()
    tmp = None
    if store_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="fakeding-scenario-")
        store_dir = Path(tmp.name)
    recorder = fake.platform

    def observe(t: float, kind: str, fields: dict[str, Any]) -> None:
        recorder.recorder.add(t, "bot." + kind, **fields)

    values: dict[str, Any] = {"client_id": DEFAULT_CLIENT_ID,
                              "client_secret": DEFAULT_CLIENT_SECRET,
                              "endpoint": fake.http_url, "store": str(store_dir / "robot.sqlite3"),
                              "base_dir": DEMO_INSTANCE, "agent": "faq"}
    values.update({KEYS.get(k, k): v for k, v in (robot or {}).items()})  # camelCase too
    cfg = validate(RobotConfig(**values), DEMO_INSTANCE / "config.json")
    bot = DingTalkStreamRobot(cfg, clock=fake.clock, agent=agent, observer=observe, seed=seed)
    harness = Harness(fake, bot)
    try:
        if connect:
            harness.robot_task = asyncio.ensure_future(bot.run())
            while not fake.stream.live_connections():  # no virtual time passes while I/O runs
                if harness.robot_task.done():
                    harness.robot_task.result()
                await asyncio.sleep(0)
        yield harness
    finally:
        if harness.robot_task is not None:
            harness.robot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await harness.robot_task
        await bot.aclose()
        await fake.stop()
        if tmp is not None:
            tmp.cleanup()
