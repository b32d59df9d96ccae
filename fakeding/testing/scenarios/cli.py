"""``fakeding scenario run [--robot NAME] FILE...``: run scenarios and print their reports."""

from __future__ import annotations

import time
from pathlib import Path

from fakeding.testing.scenarios.render import render
from fakeding.testing.scenarios.runner import run_scenarios


def run_files(paths: list[str], robot: str | None = None) -> int:
    """Run each file and print its report; exit 1 if any expectation failed. ``robot`` is the
    adapter for files that name none."""
    started = time.perf_counter()
    results = run_scenarios([Path(p) for p in paths], robot=robot)
    for result in results:
        print(render(result), end="\n")
    wall = time.perf_counter() - started
    virtual = sum(r.duration for r in results)
    print(f"({len(results)} scenario(s): {virtual:.3f} virtual s in {wall:.3f} s of wall time)")
    return 1 if any(r.failed for r in results) else 0
