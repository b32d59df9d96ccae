"""Fresh venvs for the packaging tests: the kit as a wheel of this checkout, installed with pip
as a robot's project would install it, and commands run there with a user's environment.

pip's cache is the user's own (``~/.cache/pip``), shared by every venv here, so reruns download
nothing. Venvs are created without pip (faster); this interpreter's pip acts on them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = "Scripts" if os.name == "nt" else "bin"
# what the outer test session sets and a user's shell would not: the checkout on PYTHONPATH
# (it would make `bot` importable), our plugin's endpoint, pytest and venv state
SCRUB = (
    "PYTHONPATH",
    "PYTHONHOME",
    "VIRTUAL_ENV",
    "DINGTALK_OPENAPI_ENDPOINT",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
)
ENV = {k: v for k, v in os.environ.items() if k not in SCRUB} | {
    "NO_PROXY": "127.0.0.1,localhost",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}


def run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )


def ok(argv: list[str], cwd: Path) -> str:
    """``argv``'s stdout; fails with its exit code and output tails unless it exited 0."""
    done = run(argv, cwd)
    assert done.returncode == 0, (
        f"{' '.join(argv)} exited {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


def pip(python: Path, *args: str) -> str:
    """This interpreter's pip acting on ``python``'s venv."""
    return ok([sys.executable, "-m", "pip", "--python", str(python), *args], python.parent)


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(
        src,
        dst,
        ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", "build", "*.egg-info", ".mypy_cache", ".ruff_cache"
        ),
    )


def build_wheel(src: Path, out: Path) -> Path:
    ok([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)], src)
    (wheel,) = out.glob("*.whl")
    return wheel


def make_venv(where: Path, *requirements: str) -> Path:
    """A venv at ``where`` holding ``requirements``; returns its python."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / BIN / "python"
    if requirements:
        pip(python, "install", "-q", *requirements)
    return python


def kit(wheel: Path, extras: str = "") -> str:
    """The requirement that installs the kit from ``wheel`` with ``extras`` (``"a,b"``)."""
    return f"fakeding{f'[{extras}]' if extras else ''} @ {wheel.as_uri()}"


def make_project(where: Path, files: dict[str, str]) -> Path:
    where.mkdir()
    for name, text in files.items():
        (where / name).write_text(text)
    return where


def run_pytest(python: Path, project: Path) -> str:
    """pytest in ``project``; fails unless every collected test passed."""
    out = ok([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert " passed" in out and "failed" not in out and "error" not in out, out
    return out
