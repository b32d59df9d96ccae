"""Event loops on the coordinator's clock: ``loop.time()`` is virtual now, and the selector
declares the loop idle (with its next timer as deadline) whenever nothing is ready.

``select(timeout)`` first polls for real with timeout 0; with nothing ready it enters a wait
until ``now + timeout`` and blocks for real on the sockets plus a wake-up socket the
coordinator writes to when the clock moves or when it needs the loop to re-confirm that
nothing is ready (after any other participant's activity). Timers due at the same virtual
instant run in the order they were made (``harness._fifo_timers``).
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import socket
from collections.abc import Callable
from typing import Any

from fakeding.testing.vtime.coordinator import Coordinator, VirtualTimeError
from fakeding.testing.vtime.fifo import fifo_timers

SAFETY = 0.05  # real seconds a wait blocks at most before looking again on its own
_WAKE = object()


class VirtualSelector(selectors.BaseSelector):
    """A real selector whose blocking waits follow the coordinator's rule."""

    def __init__(self, coordinator: Coordinator, *, fatal: bool = False) -> None:
        self._real = selectors.DefaultSelector()
        self._real.fakeding_virtual = True  # type: ignore[attr-defined]  # judged by its waits
        self._fatal = fatal  # the run's own loop: raises when the watchdog gives up
        self._clock = coordinator
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._real.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        self.earliest: Callable[[], float | None] = lambda: None  # the loop's first timer (set by it)

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # already awake (its buffer full), or closed
            self._wake_w.send(b"\0")

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()
        self._wake_r.close()
        self._wake_w.close()

    def _poll(self, timeout: float) -> list[tuple[selectors.SelectorKey, int]]:
        ready = []
        for key, events in self._real.select(timeout):
            if key.data is _WAKE:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except (BlockingIOError, OSError):
                    pass
            else:
                ready.append((key, events))
        return ready

    def _timer_due(self) -> bool:
        """A timer added after this wait began is due (the driver stopped time at it)."""
        when = self.earliest()
        return when is not None and when <= self._clock.now

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        clock = self._clock
        if self._fatal and clock.stuck is not None:
            raise VirtualTimeError(clock.stuck)
        ready = self._poll(0)
        if ready or (timeout is not None and timeout <= 0) or not clock.running:
            return ready
        deadline = None if timeout is None else clock.now + timeout
        clock.enter(deadline, self.wake)
        try:
            while True:
                seen = clock.activity
                ready = self._poll(0)
                if ready or clock.due(deadline) or self._timer_due():
                    return ready
                clock.confirm(seen)
                ready = self._poll(SAFETY)
                if (
                    ready
                    or clock.due(deadline)
                    or self._timer_due()
                    or (self._fatal and clock.stuck is not None)
                ):
                    return ready
        finally:
            clock.leave()


class VirtualLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose time is the coordinator's virtual now."""

    def __init__(self, coordinator: Coordinator, *, fatal: bool = False) -> None:
        self._virtual_selector = VirtualSelector(coordinator, fatal=fatal)
        self._virtual_selector.earliest = self.earliest_timer
        super().__init__(self._virtual_selector)
        self._vclock = coordinator
        fifo_timers(self)
        coordinator.timers.add(self)

    def earliest_timer(self) -> float | None:
        """When this running loop's first timer is due (read by the driver's thread: a racy
        but atomic look at the heap's top; a cancelled one counts, which only wakes it early)."""
        if self.is_closed() or not self.is_running():
            return None
        try:
            return float(self._scheduled[0].when())  # type: ignore[attr-defined]
        except IndexError:
            return None

    def wake(self) -> None:
        self._virtual_selector.wake()

    def time(self) -> float:
        return self._vclock.now

    async def sock_connect(self, sock: socket.socket, address: Any) -> None:
        outside = self._vclock.outside
        if outside is not None and not outside.local(address):
            cost = outside.cost(address)
            if cost:  # the declared latency of an outside host, spent before connecting
                await asyncio.sleep(cost)
        await super().sock_connect(sock, address)


class VirtualPolicy(asyncio.DefaultEventLoopPolicy):
    """While a run lasts, every new loop (``asyncio.run`` in a robot's thread too) is virtual."""

    def __init__(self, coordinator: Coordinator) -> None:
        super().__init__()
        self._vclock = coordinator

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return VirtualLoop(self._vclock)
