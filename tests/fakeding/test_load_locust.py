"""The Locust path of ``fakeding load``: a fake (``fakeding serve``), an SDK robot in its own
process, and a Locust master with one worker process on loopback, in real time; the master
judges the fake's records with the plan's thresholds (the same measure as ``fakeding load``)
and exits 0 or 1. A robot that crosses answers fails naming cross-talk."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROBOTS = Path(__file__).resolve().parent / "load_robots"
ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "fakeding" / "testing" / "load" / "locustfile.py"
EXPORT = re.compile(r"export DINGTALK_OPENAPI_ENDPOINT=(http://127\.0\.0\.1:\d+)")

pytestmark = pytest.mark.timeout(240)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def started(
    cmd: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A process of ours in its own session, its output in ``log``; stopped by its pid."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)


def wait_for(what: str, check: object, limit: float = 30.0) -> object:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = check()  # type: ignore[operator]
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting {limit:g} s for {what}")


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def plan(tmp_path: Path, load: str, thresholds: str = "") -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(f"name: locust\nload: {load}\nthresholds: {{{thresholds}}}\n", encoding="utf-8")
    return path


def locust_run(tmp_path: Path, robot: str, plan_path: Path, users: int, *, settle: float) -> tuple[int, str]:
    """fake + robot + master + one worker; the master's exit code and output."""
    with started(
        [sys.executable, "-m", "fakeding.cli", "serve", "--port", "0"], tmp_path / "fake.log"
    ) as fake:
        found = wait_for("the fake's URL", lambda: EXPORT.search((tmp_path / "fake.log").read_text()))
        assert fake.poll() is None
        url = found.group(1)  # type: ignore[attr-defined]
        env = dict(
            os.environ,
            DINGTALK_OPENAPI_ENDPOINT=url,
            DINGTALK_CLIENT_ID="fakeding-client",
            DINGTALK_CLIENT_SECRET="fakeding-secret",
        )
        robot_cmd = [sys.executable, str(ROBOTS / "run_robot.py"), robot]
        with started(robot_cmd, tmp_path / "robot.log", env):
            wait_for("the robot's connection", lambda: get(f"{url}/_fakeding/timeline?kind=connect"))
            port = free_port()
            common = ["-f", str(LOCUSTFILE), "--fakeding-plan", str(plan_path)]
            master_cmd = [
                sys.executable, "-m", "locust", *common, "--headless", "--master",
                "--expect-workers", "1", "--master-bind-host", "127.0.0.1", "--master-bind-port",
                str(port), "-u", str(users), "-r", "100", "-t", "6s", "-H", url,
                "--fakeding-settle", str(settle), "--only-summary",
            ]  # fmt: skip
            worker_cmd = [
                sys.executable, "-m", "locust", *common, "--worker", "--master-host", "127.0.0.1",
                "--master-port", str(port),
            ]  # fmt: skip
            with (
                started(master_cmd, tmp_path / "master.log") as master,
                started(worker_cmd, tmp_path / "worker.log") as worker,
            ):
                code = master.wait(timeout=150)
                worker.wait(timeout=30)  # it quits when its master does
            worker_log = (tmp_path / "worker.log").read_text(errors="replace")
            assert "Traceback" not in worker_log, worker_log
            return code, (tmp_path / "master.log").read_text(errors="replace")


def test_a_locust_master_and_worker_drive_a_correct_robot_and_it_passes(tmp_path: Path) -> None:
    path = plan(
        tmp_path,
        "{users: 4, duration: 6, rate: 1, groups: 0.5, group_count: 1, think: [0.3, 0.8], "
        "words: [3, 8], seed: 1}",
        "p95_first_answer: 10, out_of_order: 0",
    )
    code, out = locust_run(tmp_path, "Correct", path, users=4, settle=20)
    assert code == 0, out
    assert "PASSED" in out and "FAILED" not in out
    questions = int(re.search(r"load locust: (\d+) questions", out).group(1))  # type: ignore[union-attr]
    assert questions >= 8  # four users asking for six seconds
    assert re.search(r"  lost: 0 \(at most 0\) ok", out) and re.search(r"  cross_talk: 0 ", out)
    assert "first answer" in out  # Locust's own figure of it, from the worker's users


def test_a_robot_that_crosses_answers_fails_naming_cross_talk_under_locust(tmp_path: Path) -> None:
    # six users in their 1:1 chats ask at once: the robot answers the latest asker six times
    path = plan(tmp_path, "{users: 6, duration: 6, rate: 1, groups: 0, think: [0.5, 1], seed: 2}")
    code, out = locust_run(tmp_path, "Crossing", path, users=6, settle=4)
    assert code == 1, out
    assert "FAILED cross_talk" in out and "answers crossed between conversations" in out
    assert re.search(r"^FAILED: .*cross_talk", out, re.M)  # the verdict line names it
