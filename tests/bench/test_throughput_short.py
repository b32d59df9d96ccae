"""The throughput bench's CPU figures and its before/after robot processes, at a tiny size,
and one real round of short answers against the platform's floor."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import concurrency, throughput

HAS_PROC = Path(f"/proc/{os.getpid()}/stat").exists()


@pytest.mark.skipif(not HAS_PROC, reason="no /proc on this system")
def test_proc_cpu_reads_the_same_cpu_time_the_process_sees_itself() -> None:
    sum(i * i for i in range(300_000))  # some CPU to read
    mine, seen = throughput.proc_cpu(os.getpid()), time.process_time()
    assert mine is not None and mine > 0
    assert abs(mine - seen) < 0.1  # clock ticks are 10 ms; not a timing, two readings of one


def test_proc_cpu_of_a_process_that_is_gone_is_none() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert throughput.proc_cpu(gone.pid) is None
    assert throughput.on_cpu(gone.pid) is None


@pytest.mark.skipif(not HAS_PROC, reason="no /proc on this system")
def test_on_cpu_reads_a_round_s_cpu_as_the_process_does() -> None:
    before, seen = throughput.on_cpu(os.getpid()), time.process_time()
    sum(i * i for i in range(1_000_000))  # about 50 ms of this thread's CPU
    mine, seen = throughput.on_cpu(os.getpid()), time.process_time() - seen
    assert before is not None and mine is not None
    # not a timing: two readings of one quantity, the other threads idle; ticks would be 10 ms
    assert abs((mine - before) - seen) < 0.2 * seen + 0.005


def test_extract_baseline_says_why_when_there_is_no_such_commit(tmp_path: Path) -> None:
    why = throughput.extract_baseline(tmp_path / "out", commit="0" * 40)
    assert why is not None and why.startswith(f"git archive {'0' * 40} failed")
    assert not (tmp_path / "out" / "bot").exists()


def test_a_robot_process_refuses_a_root_where_import_bot_finds_another_robot(tmp_path: Path) -> None:
    with pytest.raises(throughput.RobotProcessError, match=f"expected under {tmp_path}"):
        throughput.RobotProcess(tmp_path)  # no bot/ there: the installed robot answers


def test_a_tiny_throughput_run_reports_cpu_per_message_before_and_after() -> None:
    tp = throughput.run(n=5, rounds=1)
    cpu, why = tp["cpu_ms"], tp["not_measured"]
    assert tp["messages"] == 5 and tp["requests_per_message"] >= 2
    # the ceiling makes the robot's own calls of one answer bare: the card's send, then updates
    calls = tp["bare_calls"]
    assert len(calls) == round(tp["requests_per_message"]), calls
    assert calls[0].startswith("POST /v1.0/im/v1.0/robot/interactiveCards/send (")
    assert all(c.startswith("PUT /v1.0/im/robots/interactiveCards (") for c in calls[1:]), calls
    assert cpu["robot"] > 0 and cpu["sends"] > 0 and cpu["ceiling"] > 0 and cpu["sdk"] > 0
    assert tp["sdk_seconds"] > 0 and tp["sdk_share_of_ceiling"] > 0
    low, high = tp["share_interval"]  # (one round: its share alone)
    assert low == pytest.approx(tp["share_of_ceiling"]) == pytest.approx(high)
    if HAS_PROC:
        assert cpu["fake"] is not None and cpu["ceiling_fake"] is not None
        assert tp["fake_cpu_ratio"] is None or tp["fake_cpu_ratio"] > 0  # None: a side had no CPU tick
    assert cpu["after"] is not None and cpu["after"] > 0, why
    if "before" in why:  # only a tree without the baseline commit may skip it
        assert why["before"].startswith(f"git archive {throughput.BASELINE} failed"), why
    else:
        assert cpu["before"] is not None and cpu["before"] > 0


def test_short_answers_at_the_platform_s_limits_finish_near_the_floor() -> None:
    rounds = concurrency.paced((3,), answer_s=1.2)
    [r] = rounds
    [fl] = concurrency.floors(rounds, concurrency.platform_rate())
    assert fl == pytest.approx(1.2 + 3 / 20)
    assert r.answer_s == 1.2 and r.limits and r.clock == "real"
    assert r.unfinished == 0 and r.user_errors == 0
    # Nothing ends before the last answer's chunks (a causal bound, not a timing). The floor's
    # size / rate is an estimate: the fake's sliding window lets a round of 3 <= 20 calls pass
    # at once, so a makespan a little under it is possible (seen: 1.21 s against 1.35 s).
    assert r.answer_s <= r.makespan
