"""The workload a load plan compiles to (pure, seeded): Poisson arrivals at the rate, a burst
within its window, the group/1:1 mix, sessions of several turns with think time between,
question lengths (and long ones), a share of answers clicked after a while; the same seed
gives the same workload."""

from __future__ import annotations

import random
from collections import defaultdict
from statistics import mean

from fakeding.testing.load.plan import Workload
from fakeding.testing.load.workload import Question, arrivals, clicks, questions

BASE = Workload(users=40, duration=3600, rate=0.1, seed=11)


def test_poisson_arrivals_come_at_the_rate_with_exponential_gaps() -> None:
    times = arrivals(BASE, random.Random(1))
    assert 300 <= len(times) <= 420  # 360 expected in an hour at 0.1/s
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert 8 <= mean(gaps) <= 12.5
    assert sum(g < 2 for g in gaps) > len(gaps) / 10  # memoryless: many short gaps, not a metronome
    assert all(0 <= t < BASE.duration for t in times)


def test_a_burst_lands_within_its_window() -> None:
    w = Workload(users=30, duration=600, burst=(30, 60.0), seed=3)
    times = arrivals(w, random.Random(3))
    assert len(times) == 30 and all(0 <= t <= 60 for t in times)


def test_the_group_mix_sessions_think_time_and_lengths() -> None:
    w = Workload(
        users=40,
        duration=3600,
        rate=0.05,
        groups=0.5,
        group_count=3,
        turns=(2, 4),
        think=(10.0, 30.0),
        words=(3, 9),
        long_share=0.2,
        long_words=50,
        seed=5,
    )
    asked = questions(w)
    homes = {q.user: q.conversation for q in asked}
    in_groups = [u for u, c in homes.items() if c.startswith("group")]
    assert 0.3 <= len(in_groups) / len(homes) <= 0.7
    assert {homes[u] for u in in_groups} <= {"group1", "group2", "group3"}
    assert all(c == f"dm_{u}" for u, c in homes.items() if u not in in_groups)
    by_user: dict[str, list[float]] = defaultdict(list)
    for q in asked:
        by_user[q.user].append(q.at)
    gaps = [b - a for ts in by_user.values() for a, b in zip(ts, ts[1:], strict=False)]
    assert gaps and min(gaps) >= 10 - 0.01  # a user thinks before the next turn
    assert sum(10 <= g <= 30.01 for g in gaps) > len(gaps) / 2  # most gaps are within a session
    sizes = [len(q.text.split()) for q in asked if not q.long]
    assert min(sizes) >= 3 and max(sizes) <= 9
    longs = [q for q in asked if q.long]
    assert 0.1 <= len(longs) / len(asked) <= 0.3 and all(len(q.text.split()) == 50 for q in longs)
    assert len(asked) >= 2 * len(arrivals(w, random.Random(5))) * 0.9  # 2-4 turns each


def test_a_share_of_answers_is_clicked_after_a_while_and_the_questions_stay() -> None:
    w = Workload(users=20, duration=3600, rate=0.05, seed=8, clicks=0.25, click_after=(5.0, 15.0))
    asked = questions(w)
    made = clicks(w, asked)
    assert 0.15 <= len(made) / len(asked) <= 0.35
    at = {(q.user, q.conversation): q.at for q in asked}
    assert all((c.user, c.conversation) in at for c in made)
    without = Workload(users=20, duration=3600, rate=0.05, seed=8)
    assert questions(without) == asked  # clicks draw from a stream of their own
    assert clicks(without, asked) == []


def test_the_same_seed_gives_the_same_workload() -> None:
    assert questions(BASE) == questions(BASE)
    assert questions(BASE) != questions(Workload(users=40, duration=3600, rate=0.1, seed=12))


def _sessions(asked: list[Question], think: tuple[float, float]) -> dict[str, list[tuple[float, float]]]:
    """Each user's sessions as (first question, last question), split where a gap is longer
    than a session's think time."""
    by_user: dict[str, list[float]] = defaultdict(list)
    for q in asked:
        by_user[q.user].append(q.at)
    out: dict[str, list[tuple[float, float]]] = {}
    for user, times in by_user.items():
        spans = [[times[0], times[0]]]
        for t in times[1:]:
            if t - spans[-1][1] > think[1] + 0.01:
                spans.append([t, t])
            else:
                spans[-1][1] = t
        out[user] = [(a, b) for a, b in spans]
    return out


def test_sessions_keep_the_plans_rate_when_the_users_suffice() -> None:
    # 60 users, a question a second: each session goes to a user not in one, so every question
    # comes at its arrival, within the plan's minute (picking a busy user again delayed it by
    # that user's session and think: questions came up to half a minute after the plan's end)
    w = Workload(users=60, duration=60, rate=1.0, turns=(1, 1), think=(5.0, 30.0), seed=0)
    asked = questions(w)
    assert 40 <= len(asked) <= 80  # 60 expected
    assert all(q.waited == 0.0 for q in asked)
    assert max(q.at for q in asked) < w.duration
    by_user: dict[str, list[float]] = defaultdict(list)
    for q in asked:
        by_user[q.user].append(q.at)
    gaps = [b - a for ts in by_user.values() for a, b in zip(ts, ts[1:], strict=False)]
    assert gaps and min(gaps) >= 5 - 0.01  # a user asks again only after thinking


def test_too_few_users_make_sessions_wait_and_say_how_long() -> None:
    w = Workload(users=3, duration=60, rate=1.0, turns=(1, 2), think=(5.0, 10.0), seed=2)
    asked = questions(w)
    waited = [q for q in asked if q.waited > 0]
    assert len(waited) > len(asked) / 2  # 3 users cannot ask one session a second
    assert max(q.at for q in asked) > 2 * w.duration  # the questions fell behind the rate
    for spans in _sessions(asked, w.think).values():  # one session at a time, a think apart
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start - end >= w.think[0] - 0.01
