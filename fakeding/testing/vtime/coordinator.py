"""The coordinator: virtual "now", the participants' waits, and the rule that moves time.

A *wait* is a thread blocked in one of the kit's own waits: an event loop's selector with
nothing ready (``loops``), or a virtual ``time.sleep``; it has a deadline (or none). Every
other thread started during the run is judged by its innermost frame (``waits``). Time
advances, straight to the earliest deadline, only when all of them are idle.

Bytes in flight between two participants over loopback: a thread that sends and then waits has
already handed its bytes to the kernel, where the peer's next poll sees them. So every entry
into a wait, and every send by a thread that runs no loop (``outside.watching`` patches
``socket.send``/``sendall``), bumps a global *activity counter*, and a waiting loop must
re-confirm (poll with timeout 0, after reading the counter) that nothing is ready before time
may move; a short real quiescence (``GRACE``) with the counter unchanged covers the rest
(a loop the kit did not make, judged by its frame). When every thread of the run waits in one
of the kit's own waits, each confirmed at the counter, nothing is left for the grace to cover,
and time moves at once.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, NamedTuple, Protocol

from freezegun import api as _freezegun

from fakeding.testing.vtime import waits

_REAL = (_freezegun.real_perf_counter,)  # in a tuple: freezegun rebinds module-level clocks
STUCK_REAL = 30.0  # real seconds without a jump while something is busy: the watchdog gives up
GRACE = 0.002  # real seconds all must stay idle, counter unchanged, before a jump
TICK = 0.0005  # real seconds between the driver's looks when nothing told it to look


def runnable(native_ids: Iterable[int]) -> set[int]:
    """The threads (native ids) the kernel has ready to run but that may not have run yet: a
    thread woken from a wait (data arrived, a condition notified) is in state R before its
    Python frame leaves the wait, so its frame alone would call it idle. Linux only; elsewhere
    an empty set (the frame and ``GRACE`` rules alone)."""
    out = set()
    for native in native_ids:
        try:
            with open(f"/proc/self/task/{native}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields and fields[0] == b"R":
            out.add(native)
    return out


_PROC = os.path.isdir("/proc/self/task")


class VirtualTimeError(Exception):
    """Virtual time cannot go on (a stall, a cap reached); the message says what is pending."""


class TimerSource(Protocol):
    """A virtual loop as the driver sees it: its earliest timer, and how to wake it."""

    def earliest_timer(self) -> float | None: ...

    def wake(self) -> None: ...


@dataclass
class Wait:
    deadline: float | None  # virtual; None: until woken by I/O
    confirmed: int  # the activity counter value after which this wait last found nothing ready
    wake: Callable[[], None] | None  # makes a selector's wait return (loops); None: sleeps
    polls: bool  # True: a selector wait, which must re-confirm after each bump


class Judgement(NamedTuple):
    idle: bool  # all idle and confirmed at ``activity``
    busy: list[str]  # what is busy, for the watchdog's message
    by_frame: bool  # a thread was judged by its innermost frame (not a kit wait): GRACE applies
    activity: int  # the counter the judging read


@dataclass
class Coordinator:
    """Virtual now (seconds from 0) for every thread of a run; ``start``/``stop`` its driver."""

    now: float = 0.0
    activity: int = 0
    ignored: set[int] = field(default_factory=set)  # threads that are not part of the run
    local_ports: set[int] = field(default_factory=set)  # the fake's and in-run servers' ports
    stalled: str | None = None  # set when everything is idle and no deadline is left
    jumps: int = 0
    stuck: str | None = None  # set by the watchdog: virtual time could not move for too long
    outside: Any = None  # the run's ``outside.OutsideIO``

    def __post_init__(self) -> None:
        self.cond = threading.Condition()
        self._waits: dict[int, Wait] = {}
        self._driver: threading.Thread | None = None
        self._running = False
        self._woken = -1
        self.held: set[int] = set()  # threads that count as busy whatever they block on
        self.loop_threads: set[int] = set()  # threads running a virtual loop
        self.doomed: set[int] = set()  # threads to stop (the run is over for them)
        self.starting: set[int] = set()  # threads started, not yet running (id of Thread)
        # the virtual loops of the run: a jump never passes one's earliest pending timer
        self.timers: weakref.WeakSet[TimerSource] = weakref.WeakSet()

    # participants -------------------------------------------------------------------------
    def enter(self, deadline: float | None, wake: Callable[[], None] | None = None) -> int:
        """The calling thread starts waiting (busy → idle): bump the counter, return it."""
        if wake is not None:
            self.loop_threads.add(threading.get_ident())
        with self.cond:
            self.activity += 1
            polls = wake is not None
            self._waits[threading.get_ident()] = Wait(deadline, -1 if polls else sys.maxsize, wake, polls)
            self.cond.notify_all()
            return self.activity

    def confirm(self, seen: int) -> None:
        """The calling thread polled after reading ``seen`` and found nothing ready."""
        with self.cond:
            wait = self._waits.get(threading.get_ident())
            if wait is not None and seen > wait.confirmed:
                wait.confirmed = seen
                self.cond.notify_all()

    def touch(self) -> None:
        """A thread outside the loops sent bytes: every waiting loop must look again before
        time may move (the bytes are in the peer's socket already)."""
        me = threading.get_ident()
        if me in self.loop_threads or me in self.ignored:
            return  # a loop bumps the counter when it next waits; the driver's wake-ups do not count
        with self.cond:
            self.activity += 1
            self.cond.notify_all()

    def hold(self) -> None:
        """The calling thread counts as busy (time stands still) until ``release``."""
        self.held.add(threading.get_ident())

    def release(self) -> None:
        self.held.discard(threading.get_ident())
        with self.cond:
            self.cond.notify_all()

    def leave(self) -> None:
        with self.cond:
            self._waits.pop(threading.get_ident(), None)

    def due(self, deadline: float | None) -> bool:
        return not self._running or (deadline is not None and self.now >= deadline)

    @property
    def running(self) -> bool:
        return self._running

    def sleep(self, seconds: float) -> None:
        """A virtual ``time.sleep`` for the calling thread (``SystemExit`` once stopped)."""
        me = threading.get_ident()
        if me in self.doomed:
            raise SystemExit
        if seconds <= 0:
            return
        deadline = self.now + seconds
        self.enter(deadline)
        try:
            with self.cond:
                while not self.due(deadline) and me not in self.doomed:
                    self.cond.wait(0.05)
        finally:
            self.leave()
        if me in self.doomed:
            raise SystemExit

    def sleeping(self, ident: int) -> bool:
        wait = self._waits.get(ident)
        return wait is not None and not wait.polls

    def doom(self, ident: int) -> None:
        """Stop a thread at its next virtual sleep (``SystemExit``), waking it if asleep."""
        with self.cond:
            self.doomed.add(ident)
            self.cond.notify_all()

    def in_run(self, ident: int | None = None) -> bool:
        return (threading.get_ident() if ident is None else ident) not in self.ignored

    # the driver -----------------------------------------------------------------------------
    def start(self) -> None:
        """Threads alive now, except the caller, are not part of the run."""
        me = threading.get_ident()
        alive = {t.ident for t in threading.enumerate() if t.ident} | set(sys._current_frames())
        self.ignored = alive - {me}  # (raw ``_thread`` threads too: execnet's, pytest-xdist's)
        self._running = True
        self._driver = threading.Thread(target=self._drive, name="fakeding-vclock", daemon=True)
        self._driver.start()
        assert self._driver.ident is not None
        self.ignored.add(self._driver.ident)

    def stop(self) -> None:
        with self.cond:
            self._running = False
            self.cond.notify_all()
            wakes = [w.wake for w in self._waits.values() if w.wake is not None]
        for wake in wakes:
            wake()
        if self._driver is not None and self._driver is not threading.current_thread():
            self._driver.join(timeout=5)

    def is_outside(self, sock: object) -> bool:
        try:
            peer = sock.getpeername()  # type: ignore[attr-defined]
        except (OSError, AttributeError):
            return False
        return not (isinstance(peer, tuple) and peer[1] in self.local_ports)

    def judge(self, frames: dict[int, FrameType] | None = None) -> Judgement:
        """Whether all are idle and confirmed at the counter read here, what is busy (thread
        names), and whether any thread was judged by its frame rather than a kit wait."""
        threads = threading.enumerate()
        names = {t.ident: t.name for t in threads}
        busy: list[str] = [f"{len(self.starting)} thread(s) starting"] if self.starting else []
        with self.cond:
            activity, now = self.activity, self.now
            current = dict(self._waits)
        natives = {t.ident: t.native_id for t in threads if t.ident not in self.ignored and t.native_id}
        # the kernel's word first: the frame of a thread that runs is never read (reading the
        # locals of a running thread's frame crashes CPython 3.11; asked last, to save these
        # system calls while threads work, it segfaulted 2 runs of 20 of a capacity search).
        # The frames are taken after it: reading /proc lets other threads run, which would
        # leave frames taken before it stale.
        ready = runnable(natives.values()) if _PROC else set()
        frames = sys._current_frames() if frames is None else frames
        by_frame = False
        for ident, frame in frames.items():
            if ident in self.ignored:
                continue
            name = names.get(ident, ident)
            if natives.get(ident) in ready:
                busy.append(f"{name} at {waits.where(frame)} (running)")
                continue
            wait = current.get(ident)
            if ident in self.held:
                busy.append(f"{name} (holding the clock)")
                continue
            if wait is not None:
                if wait.deadline is not None and wait.deadline <= now:
                    busy.append(f"{name} (due)")
                elif wait.confirmed < activity:
                    busy.append(f"{name} (confirming)")
                continue
            by_frame = True
            if not waits.blocked_idle(frame, self.is_outside):  # (a frame it cannot read: busy)
                busy.append(f"{name} at {waits.where(frame)}")
        return Judgement(not busy, busy, by_frame, activity)

    def _wake_unconfirmed(self) -> None:
        with self.cond:
            if self._woken == self.activity:
                return
            self._woken = self.activity
            wakes = [
                w.wake for w in self._waits.values() if w.wake is not None and w.confirmed < self.activity
            ]
        for wake in wakes:
            wake()

    def _drive(self) -> None:
        try:
            self._drive_until_stopped()
        except BaseException as exc:  # a run must fail naming it, never wait forever for a dead driver
            last = traceback.extract_tb(exc.__traceback__)[-1:]
            at = f" at {os.path.basename(last[0].filename)}:{last[0].lineno}" if last else ""
            self.stuck = (
                f"virtual time stopped at t={self.now:.3f}s: its driver failed "
                f"({type(exc).__name__}: {exc}{at}); this is a fakeding bug, please report it"
            )
            self._wake_all()
            raise

    def _drive_until_stopped(self) -> None:
        quiet_since: tuple[int, float] | None = None
        moved = (self.jumps, _REAL[0]())
        while self._running:
            self._wake_unconfirmed()
            idle, busy, by_frame, judged = self.judge()
            clock = _REAL[0]()
            if self.jumps != moved[0]:
                moved = (self.jumps, clock)
            elif clock - moved[1] > STUCK_REAL and self.stuck is None:
                self.stuck = (
                    f"virtual time could not move for {STUCK_REAL:g} real seconds at "
                    f"t={self.now:.3f}s; busy: {', '.join(busy) or 'nothing'}"
                    + (f"; {self.stalled}" if self.stalled else "")
                )
                self._wake_all()
            if not idle:
                quiet_since = None
            elif not by_frame:  # every thread of the run waits in a kit wait, confirmed: no grace
                self._jump(judged)  # (a no-op if anything happened since the judging)
                quiet_since = None
                continue
            elif quiet_since is None or quiet_since[0] != self.activity:
                quiet_since = (self.activity, clock)
            elif clock - quiet_since[1] >= GRACE:
                self._jump(quiet_since[0])
                quiet_since = None
                continue
            with self.cond:
                self.cond.wait(TICK)

    def _wake_all(self) -> None:
        with self.cond:
            self.cond.notify_all()
            wakes = [w.wake for w in self._waits.values() if w.wake is not None]
        for wake in wakes:
            wake()

    def _jump(self, activity: int) -> None:
        with self.cond:
            if activity != self.activity:
                return
            deadlines = [w.deadline for w in self._waits.values() if w.deadline is not None]
            if not deadlines:
                self.stalled = "every participant waits for I/O and none has a deadline"
                return
            self.stalled = None
            target = min(deadlines)
            # Never past a loop's pending timer: a loop's wait holds the deadline it computed
            # when it began waiting, and a timer added since (from another thread, or in a
            # window this rule did not see) would otherwise fire late, at whatever came next.
            timers = [(s, when) for s in list(self.timers) if (when := s.earliest_timer()) is not None]
            target = min([target] + [when for _, when in timers if when > self.now])
            self.now = max(self.now, target)
            self.jumps += 1
            self.cond.notify_all()
            wakes = [
                w.wake
                for w in self._waits.values()
                if w.wake is not None and w.deadline is not None and w.deadline <= self.now
            ]
            wakes += [source.wake for source, when in timers if when <= self.now]
        for wake in wakes:
            wake()

    def pending_threads(self, infra: Iterable[int] = ()) -> list[str]:
        """Threads of the run (besides ``infra``) that are busy or sleeping: the robot's work
        still in progress, for the end-of-run rule and its message."""
        return [what for _, what in self.pending(infra)]

    def pending(
        self, infra: Iterable[int] = (), frames: dict[int, FrameType] | None = None
    ) -> list[tuple[int, str]]:
        """(thread id, what it does) for each thread of the run still working or sleeping."""
        skip = set(infra) | self.ignored
        frames = sys._current_frames() if frames is None else frames
        names = {t.ident: t.name for t in threading.enumerate()}
        with self.cond:
            current = dict(self._waits)
        out = []
        for ident, frame in frames.items():
            if ident in skip:
                continue
            wait = current.get(ident)
            name = names.get(ident, str(ident))
            if wait is not None:  # an event loop's pending work is judged by its tasks
                if not wait.polls and wait.deadline is not None:
                    out.append((ident, f"thread {name} sleeping until t={wait.deadline:.3f}s"))
                continue
            if waits.reading(frame):
                out.append((ident, f"thread {name} waiting for a reply at {waits.where(frame)}"))
            elif not waits.blocked_idle(frame, self.is_outside):
                out.append((ident, f"thread {name} running at {waits.where(frame)}"))
        return out
