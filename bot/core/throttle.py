"""Decides when a streaming answer may update its card, to stay under DingTalk's limits.

DingTalk allows a limited number of updates per card, so the robot cannot push every chunk.
The rule: update when ``interval`` seconds passed since the last update or ``batch`` chunks
are pending, but never more than ``max_updates - 1`` streaming updates, because the last
slot is kept for the final card (at most ``max_updates`` updates in all).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """Whether to update the card now, and why.

    ``reason`` is ``"interval"`` (enough time passed), ``"batch"`` (enough chunks pending),
    ``"wait"`` (neither yet) or ``"cap"`` (an update was due but the budget is used up).
    """

    update: bool
    reason: str


WAIT = Decision(update=False, reason="wait")
CAP = Decision(update=False, reason="cap")
_UPDATE = {
    "interval": Decision(update=True, reason="interval"),
    "batch": Decision(update=True, reason="batch"),
}


class Throttle:
    """Card-update throttle for one streaming answer; feed it each chunk's arrival time."""

    def __init__(self, *, start: float, max_updates: int = 20, interval: float = 2.0, batch: int = 5) -> None:
        if max_updates < 1:
            raise ValueError(f"max_updates must be >= 1 (one slot is the final update), found {max_updates}")
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, found {interval}")
        if batch < 1:
            raise ValueError(f"batch must be >= 1 chunk, found {batch}")
        self.max_updates = max_updates
        self.interval = interval
        self.batch = batch
        self.last_update = start
        self.streaming_updates = 0
        self.pending = 0

    def on_chunk(self, now: float) -> Decision:
        """Count one chunk that arrived at ``now`` and decide whether to update the card."""
        self.pending += 1
        if now - self.last_update >= self.interval:
            reason = "interval"
        elif self.pending >= self.batch:
            reason = "batch"
        else:
            return WAIT  # decisions are immutable: the same few serve every chunk
        if self.streaming_updates >= self.max_updates - 1:
            return CAP
        self.pending = 0
        self.last_update = now
        self.streaming_updates += 1
        return _UPDATE[reason]
