"""The robot's process (``python -m bot run``) and the fake's (``fakeding serve``) tune their own
garbage collector; importing the robot or the kit changes nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = (
    "import gc; before = gc.get_threshold(); import {package}; "
    "assert gc.get_threshold() == before, 'importing changed the GC'; "
    "from {module} import GC_THRESHOLDS, tune_gc; tune_gc(); "
    "print(gc.get_threshold() == GC_THRESHOLDS, gc.get_freeze_count() > 1000)"
)


@pytest.mark.parametrize(
    ("package", "module"),
    [("bot.im_robots.dingtalk_stream.robot", "bot.runtime"), ("fakeding.server", "fakeding.process")],
)
def test_tune_gc_freezes_start_up_and_collects_less_often(package: str, module: str) -> None:
    probe = PROBE.format(package=package, module=module)
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["True", "True"], out.stderr
