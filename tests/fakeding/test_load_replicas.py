"""``robot: {command: [...], replicas: N}``: a load plan runs N processes of one robot, as a
deployment does; the platform gives each message to one of their connections. Real time."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from fakeding.core.exceptions import ConfigError
from fakeding.testing.load.command import run
from fakeding.testing.load.plan import load_plan

ROBOTS = Path(__file__).resolve().parent / "load_robots"


def write_plan(tmp_path: Path, robot: str, replicas: int) -> Path:
    path = tmp_path / "replicas.yaml"
    path.write_text(
        f"name: {robot.lower()} in {replicas} replicas\n"
        f'robot: {{command: ["{sys.executable}", "run_robot.py", "{robot}"], cwd: "{ROBOTS}", '
        f"replicas: {replicas}, quiet: 2}}\n"
        "load: {users: 8, duration: 6, rate: 2, groups: 0.5, seed: 7}\n"
        "thresholds: {p95_first_answer: 5}\n",
        encoding="utf-8",
    )
    return path


def test_three_replicas_share_the_messages_and_answer_them_all(tmp_path: Path) -> None:
    verdict = run(load_plan(write_plan(tmp_path, "Correct", 3)))
    f = verdict.figures
    assert verdict.ok, verdict.failed
    assert f["questions"] >= 6 and f["answers"] == f["questions"]
    assert f["robot_connections"] == 3, "every replica got messages (seeded routing)"
    assert f["reconnects"] == 0, "three first connections are not reconnects"


SECOND_SILENT = (
    "import os, runpy, sys, time\n"
    "if os.environ['FAKEDING_REPLICA'] == '1':\n"
    "    time.sleep(30)\n"
    "sys.argv = ['run_robot.py', 'Correct']\n"
    "runpy.run_path('run_robot.py', run_name='__main__')\n"
)


def test_a_replica_that_never_connects_is_named(tmp_path: Path) -> None:
    plan = tmp_path / "one_silent.yaml"
    plan.write_text(
        "name: the second replica never connects\n"
        f"robot: {{command: [{json.dumps(sys.executable)}, -c, {json.dumps(SECOND_SILENT)}], "
        f"cwd: {json.dumps(str(ROBOTS))}, replicas: 2, connect_timeout: 3}}\n"
        "load: {users: 2, duration: 2, rate: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="replica 1 of the robot did not connect within 3 s"):
        run(load_plan(plan))


def test_replicas_are_bounded(tmp_path: Path) -> None:
    path = write_plan(tmp_path, "Correct", 99)
    with pytest.raises(
        ConfigError, match=r"replicas\.yaml: robot\.replicas: 99 is greater than the maximum of 16"
    ):
        run(load_plan(path))  # named in the plan's words, not the compiled scenario's
