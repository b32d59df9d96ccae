"""Shared bits: the machine description, percentiles, and scripted agents without I/O."""

from __future__ import annotations

import asyncio
import os
import platform
import resource
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

PACKAGES = ("dingtalk-stream", "websockets", "aiohttp", "looptime", "freezegun", "syrupy", "bm25s")


def machine() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def rss_mib() -> float:
    """Resident memory now (Linux /proc), else the peak from getrusage."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PacedAgent:
    """``chunks`` pieces, ``delay`` seconds apart: a deterministic stand-in for an LLM."""

    name = "paced"

    def __init__(self, chunks: int = 10, delay: float = 1.0, text: str = "word ") -> None:
        self.chunks = chunks
        self.delay = delay
        self.text = text

    async def answer(self, question: str, *, chat_id: str, history: Any, on_chunk: Any) -> str:
        parts = []
        for _ in range(self.chunks):
            if self.delay:
                await asyncio.sleep(self.delay)
            parts.append(self.text)
            await on_chunk({"data": {"content": self.text}})
        return "".join(parts)
