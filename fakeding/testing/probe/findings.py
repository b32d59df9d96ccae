"""What a probe found, as a profile (pure).

Why: the measurements are noisy facts with provenance; this turns them into the settings
``--profile`` loads and a source line for each, and leaves out what was not measured rather
than guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fakeding.core.profiles import profile_toml

QPS_REFUSED = "QpsLimit"


@dataclass
class Findings:
    upstream: str
    settings: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    calls: int = 0

    def found(self, setting: str, value: Any, how: str) -> None:
        self.settings[setting] = value
        self.sources[setting] = f"probe of {self.upstream}: {how}"

    def note(self, text: str) -> None:
        self.notes.append(text)

    def toml(self, when: str) -> str:
        comment = "\n".join([f"written by `fakeding probe` on {when} ({self.calls} calls)", *self.notes])
        return profile_toml(self.settings, self.sources, comment=comment)


def ping_interval(times: Sequence[float]) -> float | None:
    """The server's ping cadence: the smallest gap between consecutive pings (a ping the
    client was slow to read makes the next gap shorter, never the smallest longer)."""
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    return round(min(gaps), 1) if gaps else None


def qps_from_burst(codes: Sequence[str]) -> int | None:
    """How many calls of one burst (sent within one second) passed before the platform
    refused some as over its QPS limit; None when none were refused."""
    refused = sum(1 for c in codes if QPS_REFUSED in c)
    return len(codes) - refused if refused else None


def connection_rule(refused_status: int | None, first_told_to_go: bool) -> str:
    """What a second connection did: refused at the handshake, the first one sent a
    disconnect (kicked), or both kept (balanced)."""
    if refused_status is not None:
        return "refuse"
    return "kick" if first_told_to_go else "balance"
