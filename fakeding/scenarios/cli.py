"""``fakeding scenario run FILE``: run one scenario and print its report."""

from __future__ import annotations

import time
from pathlib import Path

from .render import render
from .runner import run_scenarios


def run_files(paths: list[str]) -> int:
    """Run each file and print its report; exit 1 if any expectation failed."""
    started = time.perf_counter()
    results = run_scenarios([Path(p) for p in paths])
    for result in results:
        print(render(result), end="\n")
    wall = time.perf_counter() - started
    virtual = sum(r.duration for r in results)
    print(f"({len(results)} scenario(s): {virtual:.3f} virtual s in {wall:.3f} s of wall time)")
    return 1 if any(r.failed for r in results) else 0
