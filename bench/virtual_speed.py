"""Virtual-time speed-up: virtual seconds simulated per wall second.

On the whole scenario library, and on one 10-minute virtual conversation (an answer streamed
one chunk a second for 600 s).
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.scenario_adapter import adapter, open_harness, run_virtual
from fakeding.scenarios.runner import run_scenario, run_scenarios

from .common import PacedAgent

LIBRARY = Path(__file__).resolve().parents[1] / "scenarios"


def library() -> dict[str, float]:
    """Each file as pytest runs it (freezegun entered per file)."""
    virtual = wall = 0.0
    files = sorted(LIBRARY.glob("*.yaml"))
    run_scenario(files[0], robot=adapter)  # warm imports
    for path in files:
        started = time.perf_counter()
        result = run_scenario(path, robot=adapter)
        wall += time.perf_counter() - started
        virtual += result.duration
    return {"files": len(files), "virtual_s": virtual, "wall_s": wall, "speedup": virtual / wall}


def library_batch() -> dict[str, float]:
    """All files under one frozen wall clock, as ``fakeding scenario run`` does."""
    files = sorted(LIBRARY.glob("*.yaml"))
    started = time.perf_counter()
    results = run_scenarios(files, robot=adapter)
    wall = time.perf_counter() - started
    virtual = sum(r.duration for r in results)
    return {"files": len(files), "virtual_s": virtual, "wall_s": wall, "speedup": virtual / wall}


def ten_minute_conversation() -> dict[str, float]:
    async def main() -> float:
        agent = PacedAgent(chunks=600, delay=1.0)
        async with open_harness(agent=agent, robot={"agentTimeout": 900}) as h:
            h.fake.send_message("tell me a long story", conversation_id="cidLong==")
            await h.settle(step=1.0)
            return max(r.t for r in h.fake.platform.recorder.records)

    started = time.perf_counter()
    virtual = run_virtual(main, end=3600)
    wall = time.perf_counter() - started
    return {"virtual_s": virtual, "wall_s": wall, "speedup": virtual / wall}
