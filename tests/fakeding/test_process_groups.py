"""A robot started through ``sh -c`` (or any launcher) is stopped whole: its grandchild, the
real robot (the official SDK's echo robot), is gone by its pid after the run or the test."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from fakeding.testing.scenarios.runner import run_scenario

ROBOT = Path(__file__).resolve().parents[2] / "scenarios" / "byo" / "robots" / "sdk_echo_robot.py"


def launcher(pidfile: Path) -> list[str]:
    """``sh`` starts the robot in the background, writes its pid and waits for it."""
    return ["sh", "-c", f"'{sys.executable}' '{ROBOT}' & echo $! > '{pidfile}'; wait"]


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a PID 1 that never reaps)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def gone_soon(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_scenario_leaves_no_grandchild(tmp_path: Path) -> None:
    pidfile = tmp_path / "robot.pid"
    argv = ", ".join(f'"{a}"' for a in launcher(pidfile))
    path = tmp_path / "s.yaml"
    path.write_text(
        f"name: t\nrobot: {{command: [{argv}]}}\nusers: {{alice: {{}}}}\n"
        "conversations: {g: {type: group}}\n"
        "steps:\n  - {at: 0.1, say: {user: alice, in: g, text: hi}}\n"
        "expect: {answers: 1}\n",
        encoding="utf-8",
    )
    result = run_scenario(path)
    assert not result.failed, result.failed  # the grandchild was the robot that answered
    pid = int(pidfile.read_text())
    assert gone_soon(pid), f"robot pid {pid} still runs after the scenario"


def test_the_fixture_stops_the_whole_group(
    fakeding: Any, tmp_path: Path, fakeding_robot_command: Any
) -> None:
    pidfile = tmp_path / "robot.pid"
    robot = fakeding_robot_command(launcher(pidfile))
    fakeding.send_message("hi", conversation_id="cidG", staff_id="alice")
    fakeding.wait_for("webhook")
    pid = int(pidfile.read_text())
    assert running(pid)
    robot.stop()
    assert gone_soon(pid), f"robot pid {pid} still runs after stop()"
