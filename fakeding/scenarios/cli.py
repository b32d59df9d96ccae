"""``fakeding scenario run FILE``: run one scenario and print its report."""

from __future__ import annotations

import time
from pathlib import Path

from .render import render
from .runner import run_scenario


def run_file(path: str) -> int:
    started = time.perf_counter()
    result = run_scenario(Path(path))
    print(render(result), end="")
    wall = time.perf_counter() - started
    print(f"\n(virtual {result.end:.3f} s in {wall:.3f} s of wall time)")
    return 1 if result.failed else 0
