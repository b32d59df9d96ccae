"""``fakeding load --capacity``: the plan at doubled (or halved) rates, then between the last
that held and the first that failed; the capacity is the highest rate that held, and the
breaking run's bottleneck says what gave. The search itself is pure (any run function); SDK
robots run it end to end in virtual time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fakeding.testing.load import report
from fakeding.testing.load.capacity import at_rate, base_rate, search
from fakeding.testing.load.command import run
from fakeding.testing.load.measure import Verdict, bottleneck
from fakeding.testing.load.plan import LoadPlan, load_plan

ROBOTS = Path(__file__).resolve().parent / "load_robots"
ROOT = Path(__file__).resolve().parents[2]


def write_plan(tmp_path: Path, robot: str, load: str, thresholds: str = "") -> Path:
    path = tmp_path / f"{robot.lower()}.yaml"
    path.write_text(
        f'name: {robot.lower()}\nrobot: {{handler: "robots:{robot}", path: ["{ROBOTS}"]}}\n'
        f"load: {load}\nthresholds: {{{thresholds}}}\n",
        encoding="utf-8",
    )
    return path


def holds_up_to(limit: float, tried: list[float]) -> object:
    """A run function for the pure tests: every threshold holds up to ``limit`` questions/s."""

    def run_at(plan: LoadPlan) -> Verdict:
        rate = base_rate(plan)
        tried.append(rate)
        verdict = Verdict({"questions": round(rate * 100), "rate_403": 0.0})
        if rate > limit:
            verdict.failed["p95_first_answer"] = f"p95_first_answer at {rate:g}/s"
        return verdict

    return run_at


def test_the_search_doubles_then_halves_the_gap(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path, "Correct", "{users: 5, duration: 60, rate: 0.2}"))
    tried: list[float] = []
    found = search(plan, holds_up_to(1.0, tried), max_runs=8)  # type: ignore[arg-type]
    assert tried == [0.2, 0.4, 0.8, 1.6, 1.2, 1.0]  # up by doubling, then two halvings of the gap
    assert found.rate == 1.0 and found.breaking is not None and found.breaking.rate == 1.2
    assert [s.rate for s in found.steps] == sorted(tried)


def test_a_plan_whose_own_rate_fails_is_searched_downward(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path, "Correct", "{users: 5, duration: 60, rate: 4}"))
    tried: list[float] = []
    found = search(plan, holds_up_to(0.6, tried), max_runs=8)  # type: ignore[arg-type]
    assert tried[:4] == [4, 2, 1, 0.5]  # halved until one holds
    assert found.rate is not None and 0.5 <= found.rate <= 0.6
    assert found.breaking is not None and found.breaking.rate > 0.6


def test_the_search_stops_at_its_run_count(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path, "Correct", "{users: 5, duration: 60, rate: 0.1}"))
    tried: list[float] = []
    found = search(plan, holds_up_to(1e9, tried), max_runs=3)  # type: ignore[arg-type]
    assert tried == [0.1, 0.2, 0.4] and found.breaking is None and found.rate == 0.4
    with pytest.raises(ValueError, match="max_runs must be at least 1, found 0"):
        search(plan, holds_up_to(1, []), max_runs=0)  # type: ignore[arg-type]


def test_a_burst_keeps_its_window_and_scales_its_count(tmp_path: Path) -> None:
    plan = load_plan(
        write_plan(tmp_path, "Correct", "{users: 5, duration: 60, burst: {count: 30, within: 60}}")
    )
    assert base_rate(plan) == 0.5
    faster = at_rate(plan, 2.0)
    assert faster.workload.burst == (120, 60.0) and faster.workload.rate is None
    assert at_rate(plan, 0.001).workload.burst == (1, 60.0)  # at least one question


def test_an_sdk_robot_breaks_at_the_platforms_webhook_limit(tmp_path: Path) -> None:
    """The SDK's echo style answers every question by its session webhook; DingTalk refuses a
    robot's 21st message in a minute (errcode 130101), so its answers are lost past about 1/3
    questions a second, and the report says the platform's limit gave, not the robot."""
    plan = load_plan(
        write_plan(tmp_path, "Correct", "{users: 30, duration: 180, rate: 0.1, groups: 0.5, seed: 4}")
    )
    found = search(plan, run, max_runs=6)
    assert found.rate is not None and 0.1 <= found.rate < 0.4, [
        (s.rate, s.verdict.failed) for s in found.steps
    ]
    breaking = found.breaking
    assert breaking is not None and "lost" in breaking.verdict.failed
    assert breaking.verdict.figures["webhook_too_fast"] > 0
    assert "errcode 130101" in bottleneck(breaking.verdict.figures)


def test_a_serialising_robot_gives_sooner_and_the_robot_is_named(tmp_path: Path) -> None:
    # long questions: each answer takes 4.5-5.5 s, one at a time in the serialising robot
    load = "{users: 30, duration: 600, rate: 0.05, groups: 0, words: [80, 100], seed: 4}"
    fair = search(load_plan(write_plan(tmp_path, "Correct", load, "p95_first_answer: 8")), run, max_runs=5)
    serial = search(load_plan(write_plan(tmp_path, "Serial", load, "p95_first_answer: 8")), run, max_runs=5)
    assert fair.rate is not None
    assert serial.rate is None or serial.rate < fair.rate, (serial.rate, fair.rate)
    breaking = serial.breaking
    assert breaking is not None and "p95_first_answer" in breaking.verdict.failed
    assert bottleneck(breaking.verdict.figures).startswith("the robot: questions waited")


def test_a_cards_answer_is_complete_at_its_last_version(tmp_path: Path) -> None:
    verdict = run(
        load_plan(
            write_plan(tmp_path, "CardAnswer", "{users: 6, duration: 60, rate: 0.1, groups: 1, seed: 2}")
        )
    )
    f = verdict.figures
    assert verdict.ok, verdict.failed
    assert len(f["finals"]) == f["questions"] > 0
    assert f["p95_final_answer"] is not None and f["p95_final_answer"] >= f["p95_first_answer"]
    assert all(final >= first for (_, first), (_, final) in zip(f["latencies"], f["finals"], strict=True))


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        ({"rate_403": 0.1}, "the platform's limits: calls were refused with 403"),
        ({"rate_403": 0.0, "webhook_too_fast": 3}, "the platform's limits: 3 webhook replies"),
        ({"lost": 2, "p95_first_answer": 1, "p95_final_answer": 1}, "the robot: it lost"),
        ({"p95_first_answer": 7.5, "p95_final_answer": 9}, "the robot: questions waited 7.5 s"),
        ({"p95_first_answer": 0.2, "p95_final_answer": 12}, "the agent: first answers came within 0.2 s"),
        ({"p95_first_answer": 0.2, "p95_final_answer": 1.0}, "no limit reached at this load"),
    ],
)
def test_the_bottleneck_names_the_platform_the_robot_or_its_agent(
    figures: dict[str, float], expected: str
) -> None:
    assert bottleneck(figures).startswith(expected)


def test_the_command_reports_the_capacity_and_exits_by_the_plans_own_rate(tmp_path: Path) -> None:
    path = write_plan(
        tmp_path, "Correct", "{users: 20, duration: 120, rate: 0.1, seed: 1}", "p95_first_answer: 5"
    )
    out, page = tmp_path / "cap.json", tmp_path / "cap.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fakeding.cli",
            "load",
            str(path),
            "--capacity",
            "4",
            "--json",
            str(out),
            "--html",
            str(page),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr  # the plan's own rate holds
    capacity = json.loads(out.read_text())["capacity"]
    assert [s["rate"] for s in capacity["steps"]] == [0.1, 0.2, 0.4, 0.8]  # 4 runs: no halving left
    assert capacity["plan_rate"] == 0.1 and capacity["rate"] == 0.4 and capacity["breaking_rate"] == 0.8
    assert "lost" in capacity["breaking_failed"]  # 96 questions in 2 minutes: past 20 replies a minute
    assert "0.8 questions/s: failed lost" in done.stderr  # each run said as it ends
    assert "capacity of correct:" in done.stdout and "bottleneck there: the platform's limits" in done.stdout
    html = page.read_text()
    assert "<h2>Capacity:" in html and "seconds to the complete answer" in html


def test_a_capacity_of_no_runs_is_refused_by_name(tmp_path: Path) -> None:
    path = write_plan(tmp_path, "Correct", "{users: 2, duration: 10, rate: 0.1}")
    done = subprocess.run(
        [sys.executable, "-m", "fakeding.cli", "load", str(path), "--capacity", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        done.returncode == 2 and "--capacity: expected a number of runs of at least 1, found 0" in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_a_plan_short_of_users_says_so_and_the_search_names_the_rate(tmp_path: Path) -> None:
    # 3 users each in a session for 5-10 s: about 0.4 sessions a second at most
    plan = load_plan(
        write_plan(tmp_path, "Correct", "{users: 3, duration: 120, rate: 0.05, think: [5, 10], seed: 1}")
    )
    found = search(plan, run, max_runs=4)  # 0.05, 0.1, 0.2, 0.4 questions/s
    waited = {s.rate: s.verdict.figures["sessions_waited"] for s in found.steps}
    assert waited[0.05] == 0 and waited[0.4] > 0, waited
    top = found.steps[-1].verdict
    assert "3 users in a session and waited" in report.text(plan, top)
    assert "could not keep the rate" in report.capacity_text(plan, found)
    assert "waited" not in report.text(plan, found.steps[0].verdict)
