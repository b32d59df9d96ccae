"""Sliding-window counters for the platform's rate limits (pure: callers pass ``now``).

One ``WindowLimiter`` serves both rules: 20 calls per second per app per API (403
``QpsLimitForAppkeyAndApi``) and 20 webhook messages per minute per robot (errcode 130101).
"""

from __future__ import annotations

from collections import defaultdict, deque


class WindowLimiter:
    def __init__(self, limit: int | None, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[tuple[str, ...], deque[float]] = defaultdict(deque)

    def allow(self, key: tuple[str, ...], now: float) -> bool:
        """Count one call at ``now``; False when it would exceed the limit (not counted then)."""
        if self.limit is None:
            return True
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def reset(self) -> None:
        self._hits.clear()
