"""One version for both distributions: the kit's, the robot's and the installed metadata agree,
and the changelog has a section for it (or for what is unreleased)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import bot._version
import fakeding

ROOT = Path(__file__).resolve().parents[2]


def test_the_kit_and_the_robot_share_one_version() -> None:
    assert fakeding.__version__ == bot._version.__version__
    assert version("fakeding") == fakeding.__version__
    assert version("fakeding-bot") == fakeding.__version__


def test_the_changelog_covers_the_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    release = fakeding.__version__.split(".dev")[0]
    assert "## [Unreleased]" in text or f"## [{release}]" in text
