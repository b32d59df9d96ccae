"""Wall time of the README's test command (``python3 dev.py test``), run as a subprocess."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run() -> dict[str, float | int | str]:
    # the first call creates .venv and installs: not part of the suite's time
    subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), "test", "--collect-only", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), "test", "-p", "no:randomly"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    return {"seconds": elapsed, "exit": proc.returncode, "summary": last}
