from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .venvs import ROOT, build_wheel, copy_tree


@pytest.fixture(scope="session")
def kit_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kit's wheel, built from a copy of the checkout (its build leaves nothing behind)."""
    src = tmp_path_factory.mktemp("kit-src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    copy_tree(ROOT / "fakeding", src / "fakeding")
    return build_wheel(src, tmp_path_factory.mktemp("kit-dist"))
