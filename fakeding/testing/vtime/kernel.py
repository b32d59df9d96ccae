"""What the kernel says of the run's threads: which are ready to run (Linux ``/proc``).

A thread woken from a wait (data arrived, a condition notified) is in state R before its Python
frame leaves the wait, so its frame alone would call it idle; and the frame of a thread that
runs must never be read (reading the locals of a running thread's frame crashes CPython 3.11).
So the driver asks the kernel first, many times a millisecond while threads work: through one
descriptor kept open per thread and read again from its start, which costs a fifth of opening
the file each time (1.3 against 6.5 microseconds a thread). Elsewhere than Linux: an empty set
(the frame and grace rules alone).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

AVAILABLE = os.path.isdir("/proc/self/task")
_STAT_BYTES = 1024  # a stat line is about 300 bytes; the command name in it at most 64


class ThreadStates:
    """The kernel's run state of threads by native id; ``close`` gives the descriptors back.
    One per driver thread: it is not shared."""

    def __init__(self) -> None:
        self._fds: dict[int, int] = {}

    def runnable(self, native_ids: Iterable[int]) -> set[int]:
        """Those of ``native_ids`` in state R. A descriptor of a thread not asked about is
        closed (the thread ended or left the run)."""
        ready, asked = set(), set()
        for native in native_ids:
            asked.add(native)
            if self._state(native) == b"R":
                ready.add(native)
        for gone in self._fds.keys() - asked:
            os.close(self._fds.pop(gone))
        return ready

    def _state(self, native: int) -> bytes | None:
        for _ in range(2):  # a thread that ended may have left its id to a new one: open again
            fd = self._fds.get(native)
            if fd is None:
                try:
                    fd = os.open(f"/proc/self/task/{native}/stat", os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    return None  # gone
                self._fds[native] = fd
            try:
                raw = os.pread(fd, _STAT_BYTES, 0)
            except OSError:
                os.close(self._fds.pop(native))
                continue
            end = raw.rfind(b")")  # the command name may hold spaces and parentheses
            return raw[end + 2 : end + 3] if end >= 0 else None
        return None

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    @property
    def open_descriptors(self) -> int:
        return len(self._fds)
