"""Virtual-time speed-up: virtual seconds simulated per wall second.

On the whole scenario library, and on one 10-minute virtual conversation (an answer streamed
one chunk a second for 600 s).
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.scenario_adapter import adapter, open_harness, run_virtual
from fakeding.testing.scenarios.harness import hold_wall_clock, release_wall_clock
from fakeding.testing.scenarios.runner import is_real_time, run_scenario, run_scenarios
from fakeding.testing.scenarios.schema import load_scenario

from .common import PacedAgent


def _clock() -> float:
    """Real seconds even while freezegun is active (it patches ``time.perf_counter``)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


LIBRARY = Path(__file__).resolve().parents[1] / "scenarios"


def library_files() -> tuple[list[Path], list[Path]]:
    """The scenario library (``scenarios/`` and ``scenarios/byo/``): files whose robot runs in
    virtual time, and files whose robot is a process (real time, timed apart)."""
    files = sorted(LIBRARY.glob("*.yaml")) + sorted((LIBRARY / "byo").glob("*.yaml"))
    virtual: list[Path] = []
    real: list[Path] = []
    for path in files:
        (real if is_real_time(load_scenario(path, robot=adapter).robot) else virtual).append(path)
    return virtual, real


def library() -> dict[str, float]:
    """Each virtual-time file as pytest runs it: one test each, the wall clock held across
    consecutive scenario items (``hold_wall_clock``), each file's own freeze on top."""
    files, _ = library_files()
    run_scenario(files[0], robot=adapter)  # warm imports
    virtual = wall = 0.0
    hold_wall_clock()
    try:
        for path in files:
            started = _clock()
            result = run_scenario(path, robot=adapter)
            wall += _clock() - started
            virtual += result.duration
    finally:
        release_wall_clock()
    return {"files": len(files), "virtual_s": virtual, "wall_s": wall, "speedup": virtual / wall}


def library_processes() -> dict[str, float]:
    """The files whose robot is a process: real time, so about 1x by nature; wall per file."""
    _, files = library_files()
    wall = 0.0
    for path in files:
        started = _clock()
        run_scenario(path, robot=adapter)
        wall += _clock() - started
    return {"files": len(files), "wall_s": wall, "per_file_s": wall / max(1, len(files))}


def library_batch() -> dict[str, float]:
    """All virtual-time files under one frozen wall clock, as ``fakeding scenario run`` does."""
    files, _ = library_files()
    started = _clock()
    results = run_scenarios(files, robot=adapter)
    wall = _clock() - started
    virtual = sum(r.duration for r in results)
    return {"files": len(files), "virtual_s": virtual, "wall_s": wall, "speedup": virtual / wall}


def ten_minute_conversation() -> dict[str, float]:
    async def main() -> float:
        agent = PacedAgent(chunks=600, delay=1.0)
        async with open_harness(agent=agent, robot={"agentTimeout": 900}) as h:
            h.fake.send_message("tell me a long story", conversation_id="cidLong==")
            await h.settle(step=1.0)
            return max(r.t for r in h.fake.recorder.records)

    started = _clock()
    virtual = run_virtual(main, end=3600)
    wall = _clock() - started
    return {"virtual_s": virtual, "wall_s": wall, "speedup": virtual / wall}
