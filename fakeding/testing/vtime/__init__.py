"""One virtual clock shared by several threads and event loops (the discrete-event rule).

The fake, the robot's SDK client and the robot's worker threads each run as in production, on
their own threads and loops. Virtual "now" advances, straight to the nearest deadline, only
when every participant is idle: blocked on a timer, a sleep, a wait with nothing ready, or I/O
with nothing ready. See ``coordinator`` for the rule, ``waits`` for how a thread blocked outside
the kit's patches is judged, ``loops`` for the event loops and ``outside`` for I/O to hosts
other than the fake.
"""

from __future__ import annotations

from fakeding.testing.vtime.coordinator import Coordinator, VirtualTimeError

__all__ = ["Coordinator", "VirtualTimeError"]
