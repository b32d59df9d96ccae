"""The short process soak: robot processes on one Redis, killed, stopped, restarted, their
store locked and a second replica joining, lose, double and strand nothing."""

from __future__ import annotations

from pathlib import Path

from bench.soak_processes import run_processes


def test_short_process_soak_loses_nothing_doubles_nothing_strands_nothing(tmp_path: Path) -> None:
    result = run_processes(messages=80, users=20, duration=16.0, seed=3, keep=tmp_path, settle_limit=40.0)
    logs = f"see the logs in {tmp_path}: {result}"
    assert result["messages_sent"] == 80
    assert result["replicas"] == 2, logs
    assert (result["sigkills"], result["sigterms"], result["store_locks"]) == (2, 3, 1), logs
    assert result["robot_starts"] == 5, logs
    assert result["sigterm_exit_codes"] == [0, 0, 0], logs
    assert result["recoveries"] >= 1, "a killed replica's answers were taken over: " + logs
    assert result["lost"] == 0, logs
    assert result["duplicates"] == 0, logs
    assert result["unfinished_cards"] == 0, logs
    assert result["answers_delivered"] == 80, logs
    assert result["violations"] == 0, logs
