"""The scenario files of ``fakeding serve --scenarios DIR``, for the emulator's Replay pane.

Why: a team keeps its scenarios in a folder of the project; the page lists them so anyone
with the page open replays one without finding the file on disk first. Each file comes with
its text (scenario files are small), so the page loads one through the same checked route as
a picked file (``POST /_fakeding/scenario/steps``) and the server keeps no state per page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fakeding.core.exceptions import ConfigError

MAX_FILES = 200  # a folder bigger than a scenario library (a whole repository?) is cut here
MAX_BYTES = 256 * 1024  # a scenario file is a few KB; a larger one is listed, not sent
SUFFIXES = (".yaml", ".yml")


def check_folder(folder: Path) -> Path:
    """``--scenarios DIR`` as a folder that exists, or a ``ConfigError`` saying what to pass."""
    if not folder.is_dir():
        found = "a file" if folder.exists() else "nothing"
        raise ConfigError(
            f"--scenarios: expected a folder of scenario .yaml files, found {found} at {folder}"
        )
    return folder.resolve()


def listing(folder: Path | None) -> dict[str, Any]:
    """Every scenario file below ``folder`` (sorted, paths relative to it) with its text; a file
    too large or unreadable is listed with why instead of its text."""
    if folder is None:
        return {
            "folder": None,
            "scenarios": [],
            "note": "start the fake with `fakeding serve --scenarios DIR` to list DIR's scenario files here",
        }
    # a link out of the folder is not the folder's: never served
    paths = sorted(p for p in folder.rglob("*") if _is_scenario(folder, p))
    out = [_entry(folder, path) for path in paths[:MAX_FILES]]
    answer: dict[str, Any] = {"folder": str(folder), "scenarios": out}
    if len(paths) > MAX_FILES:
        answer["note"] = f"the first {MAX_FILES} of {len(paths)} files; point --scenarios at a smaller folder"
    return answer


def _is_scenario(folder: Path, path: Path) -> bool:
    return path.suffix in SUFFIXES and path.is_file() and path.resolve().is_relative_to(folder)


def _entry(folder: Path, path: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {"file": path.relative_to(folder).as_posix()}
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            entry["error"] = f"expected a scenario file of at most {MAX_BYTES} bytes, found {size}"
        else:
            entry["yaml"] = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        entry["error"] = f"cannot read it: {exc}"
    return entry
