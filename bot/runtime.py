"""Settings of the robot's own process, made by ``python -m bot run`` (not by the robot class,
which also runs inside other programs: tests, the demo, a user's harness)."""

from __future__ import annotations

import gc

# Collect the youngest generation every 20,000 net allocations instead of Python's 700: a robot
# allocates many short-lived objects per message (frames, HTTP requests, card texts), and the
# default spends a tenth of the process's CPU collecting them. Older generations as default.
GC_THRESHOLDS = (20_000, 10, 10)


def tune_gc() -> None:
    """Freeze what start-up loaded (modules, config: never garbage, so never scanned again) and
    collect less often. Call once, after start-up, in a process that runs the robot."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
