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

import aiohttp
import pytest

from bench import goals, sdk_round, throughput

ROBOTS = Path(goals.__file__).resolve().parent / "plans" / "robots"


@pytest.fixture
def fake_server() -> Iterator[tuple[dict[str, int], int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ports = json.loads(proc.stdout.readline())
        yield ports, proc.pid
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def test_the_sdk_alone_acks_every_message_and_makes_the_bare_requests(
    fake_server: tuple[dict[str, int], int],
) -> None:
    ports, pid = fake_server
    calls = (("PUT", "/v1.0/im/robots/interactiveCards", b'{"cardBizId": "c"}'),) * 3
    bare = throughput.Bare(f"http://127.0.0.1:{ports['bare']}", calls)
    got = asyncio.run(sdk_round.sdk_only(ports["http"], 8, bare, pid))  # returns once all 8 are done
    assert got["seconds"] > 0 and got["cpu_s"] > 0
    assert got["fake_cpu_s"] is None or got["fake_cpu_s"] >= 0


def test_the_bare_echo_answers_each_request_with_its_body(fake_server: tuple[dict[str, int], int]) -> None:
    ports, _ = fake_server

    async def put() -> tuple[int, bytes]:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{ports['bare']}/v1.0/im/robots/interactiveCards"
            async with session.put(url, data=b'{"a": 1}', headers=throughput.TOKEN_HEADER) as resp:
                return resp.status, await resp.read()

    assert asyncio.run(put()) == (200, b'{"a": 1}')


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
