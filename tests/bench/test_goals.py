"""The issue 21 item 6 table and note: each figure against its goal, from the figures given."""

from __future__ import annotations

import os
import statistics
from typing import Any

import pytest

from bench import goals
from bench.concurrency import Round


def tp(seconds: float = 0.5, ceiling: float = 0.4, sdk: float = 0.45) -> dict[str, Any]:
    return {
        "messages": 300,
        "seconds": seconds,
        "ceiling_seconds": ceiling,
        "sdk_seconds": sdk,
        "per_second": 300 / seconds,
        "ceiling_per_second": 300 / ceiling,
        "share_of_ceiling": ceiling / seconds,
        "sdk_share_of_ceiling": ceiling / sdk,
        "requests_per_message": 4.0,
        "cpu_ms": {"fake": 1.2, "ceiling_fake": 1.0},
        "fake_cpu_ratio": 1.2,
    }


def day(wall: float = 30.0, ok: bool = True) -> dict[str, Any]:
    return {
        "plan": "handler_day.yaml",
        "users": 50,
        "wall_s": wall,
        "cpu_s": 12.0,
        "load_before": 1.0,
        "load_after": 2.0,
        "ok": ok,
        "failed": {} if ok else {"lost": "lost = 1"},
        "figures": {"questions": 2800, "duration": 28800.0},
    }


def paced(makespan: float) -> Round:
    return Round(30, "real", True, makespan, 0, 0, 0, 0.1, 0.2, makespan, answer_s=1.2)


def test_each_figure_is_judged_against_its_goal() -> None:
    rows = goals.table(tp(), [paced(2.80)], [2.70], day())
    a, b, c, d = rows[2:]
    assert "1.20x (1.20 / 1.00 ms)" in a and a.endswith("| met |")
    assert "30.0 s wall" in b and "8 virtual hours" in b and b.endswith("| met |")
    assert "80.0%" in c and c.endswith("| met |")  # 0.4 / 0.5
    assert "1.037" in d and d.endswith("| met |")  # 2.80 / 2.70


def test_a_figure_past_its_goal_says_not_met() -> None:
    slow = {**tp(seconds=1.0), "fake_cpu_ratio": 1.8}
    rows = goals.table(slow, [paced(3.0)], [2.70], day(wall=61.0))
    assert all(row.endswith("| not met |") for row in rows[2:]), rows


def test_a_day_that_fails_its_plan_is_not_met_however_fast() -> None:
    [b] = [r for r in goals.table(tp(), [], [], day(wall=5.0, ok=False)) if "(b)" in r]
    assert "FAILED lost" in b and b.endswith("| not met |")


def test_the_sdk_share_of_the_gap_is_computed_from_the_rounds() -> None:
    robot, sdk, part = goals.sdk_gap(tp(seconds=0.6, ceiling=0.4, sdk=0.5))
    assert (round(robot, 3), round(sdk, 3), round(part or 0, 3)) == (0.2, 0.1, 0.5)
    text = goals.note(tp(seconds=0.6, ceiling=0.4, sdk=0.5), day())
    assert "0.10 s (50%) is already there with the SDK alone" in text


def test_an_sdk_no_slower_than_the_ceiling_leaves_the_gap_to_the_robot() -> None:
    text = goals.note(tp(seconds=0.6, ceiling=0.4, sdk=0.39), day())
    assert "The SDK's path is not the limit" in text and "0.20 s gap" in text


def test_the_robot_s_pace_bounds_the_short_answers_ratio_from_below() -> None:
    assert goals.pace_bound(1.2, 100, 18.0) == 1.2 + 100 / 18
    text = goals.pace_note([paced(2.9)], [2.7], 18.0, 20.0)
    assert "1.062 at 30" in text  # (1.2 + 30 / 18) / 2.7
    assert goals.pace_note([], [], 18.0, 20.0) == ""


def test_a_robot_paced_by_a_window_is_bounded_by_its_bursts() -> None:
    assert goals.pace_bound(1.2, 100, 18.5, burst=20) == 1.2 + 4 * 20 / 18.5  # 5 bursts, 4 windows apart
    assert goals.pace_bound(1.2, 20, 18.5, burst=20) == 1.2  # one burst: no wait
    text = goals.pace_note([paced(2.5)], [2.7], 18.5, 20.0, burst=20)
    assert "at most 20 in any 1.081 s" in text and "0.845 at 30" in text  # (1.2 + 1.081) / 2.7


def test_the_headroom_note_puts_the_fake_s_cpu_per_request_beside_the_goal_s() -> None:
    text = goals.headroom_note({**tp(), "cpu_ms": {"fake": 0.9, "ceiling_fake": 0.4}})
    assert "the bare echo spends 0.40 ms per message" in text and "the fake spends 0.90 ms" in text
    assert "180 microseconds a request where the goal allows 104 (0.52 ms a message)" in text  # over 5
    # 20 updates/s at 3 updates an answer: about 7 answers/s, 7 x 0.9 ms = 0.6% of a core
    assert "about 1111 messages per CPU-second" in text and "about 0.6% of one core" in text


def test_no_headroom_note_without_the_fake_s_cpu() -> None:
    assert goals.headroom_note({**tp(), "cpu_ms": {"fake": None, "ceiling_fake": 0.4}}) == ""


def test_the_note_says_how_much_room_the_goal_leaves_the_robot_over_the_sdk() -> None:
    # at 70%, a round of 0.4 s ceiling may take 0.571 s; the SDK's 0.45 s leaves 0.121 s / 300
    text = goals.note(tp(seconds=0.6, ceiling=0.4, sdk=0.45), day())
    assert "at most 0.57 s" in text and "0.40 ms of wall time a message; it took 0.50 ms" in text


def test_the_note_says_when_the_sdk_alone_is_past_the_goal() -> None:
    text = goals.note(tp(seconds=0.7, ceiling=0.4, sdk=0.6), day())
    assert "the SDK alone already takes longer, so no robot on it can meet (c)" in text


def test_the_day_s_load_says_whether_other_work_shared_the_machine() -> None:
    cores = os.cpu_count() or 1
    quiet = goals.note(tp(), {**day(), "load_before": 0.1, "load_after": 0.2})
    busy = goals.note(tp(), {**day(), "load_before": cores + 1.0, "load_after": 0.2})
    assert "(a quiet machine)" in quiet and "(other work shared them)" in busy


def test_a_share_just_under_its_goal_does_not_read_as_the_goal() -> None:
    [c] = [r for r in goals.table(tp(seconds=0.4 / 0.6953), [], [], day()) if "(c)" in r]
    assert "69.5%" in c and c.endswith("| not met |"), c


def test_a_share_whose_rounds_straddle_the_goal_says_so() -> None:
    straddling = {**tp(seconds=0.4 / 0.72), "share_interval": (0.66, 0.78)}
    [c] = [r for r in goals.table(straddling, [], [], day()) if "(c)" in r]
    assert "72.0%" in c and "90% interval from the rounds' spread: 66.0-78.0%" in c, c
    assert c.endswith("| met, within the rounds' noise |"), c
    clear = {**tp(seconds=0.4 / 0.72), "share_interval": (0.71, 0.74)}
    [c] = [r for r in goals.table(clear, [], [], day()) if "(c)" in r]
    assert c.endswith("| met |"), c


def test_the_share_interval_follows_from_the_rounds_spread() -> None:
    from bench.throughput import share_interval

    steady = share_interval([1.0] * 9, [0.7] * 9)
    assert steady == pytest.approx((0.7, 0.7))
    actual = [1.0, 1.3, 0.9, 1.1, 1.6, 1.0, 1.2, 0.95, 1.05]
    ceiling = [0.7, 0.72, 0.69, 0.75, 0.7, 0.8, 0.71, 0.68, 0.73]
    low, high = share_interval(actual, ceiling)
    median_share = statistics.median(ceiling) / statistics.median(actual)
    assert low < median_share < high and high - low > 0.05
    assert share_interval(actual, ceiling) == (low, high)  # seeded: a report follows from its rounds
    with pytest.raises(ValueError, match="as many ceiling rounds as actual ones"):
        share_interval(actual, ceiling[:-1])
