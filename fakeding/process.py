"""Settings of a process that runs the fake as a server (``fakeding serve``), not of the
library: a user's test session keeps Python's defaults."""

from __future__ import annotations

import gc

# Collect the youngest generation every 20,000 net allocations instead of Python's 700: each
# request allocates many short-lived objects, and the fake keeps many long-lived ones (records,
# card versions), so the default spends about a tenth of the server's CPU collecting.
GC_THRESHOLDS = (20_000, 10, 10)


def tune_gc() -> None:
    """Freeze what start-up loaded (never garbage, never scanned again) and collect less
    often. Call once, after start-up, in a process that serves the fake."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
