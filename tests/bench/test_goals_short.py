"""Short versions of issue 21 item 6's measures: the SDK-only round and a virtual business day
of the SDK example robot under ``fakeding load``, bounded, figures produced and sane (no
wall-clock asserts)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import goals, sdk_round

ROBOTS = Path(goals.__file__).resolve().parent / "plans" / "robots"


@pytest.fixture
def fake_server() -> Iterator[tuple[int, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ports = json.loads(proc.stdout.readline())
        yield ports["http"], proc.pid
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def test_the_sdk_alone_acks_every_message_and_makes_the_bare_requests(fake_server: tuple[int, int]) -> None:
    http, pid = fake_server
    got = asyncio.run(sdk_round.sdk_only(http, 8, 3, pid))  # returns only once all 8 are done
    assert got["seconds"] > 0 and got["cpu_s"] > 0
    assert got["fake_cpu_s"] is None or got["fake_cpu_s"] >= 0


def test_a_short_virtual_day_of_the_sdk_example_robot_is_timed_and_passes(tmp_path: Path) -> None:
    plan = tmp_path / "day.yaml"
    plan.write_text(
        (goals.PLAN.read_text(encoding="utf-8"))
        .replace('path: ["robots"]', f'path: ["{ROBOTS}"]')
        .replace("users: 50", "users: 6")
        .replace("duration: 28800", "duration: 600"),
        encoding="utf-8",
    )
    day = goals.handler_day(plan)
    f = day["figures"]
    assert day["ok"], day["failed"]
    assert f["questions"] > 0 and f["answers"] == f["questions"] and f["lost"] == 0
    assert day["wall_s"] > 0 and day["cpu_s"] > 0
    row = goals.day_row(day)
    assert f"{f['questions']} questions from 6 users" in row


def test_a_plan_that_cannot_run_is_named(tmp_path: Path) -> None:
    plan = tmp_path / "bad.yaml"
    plan.write_text("name: x\nrobot: bot\n", encoding="utf-8")
    with pytest.raises(goals.HandlerDayError, match="bad.yaml: load: expected a mapping"):
        goals.handler_day(plan)
