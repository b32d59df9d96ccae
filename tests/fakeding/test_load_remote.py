"""A run judged from afar (``fakeding load --judge URL``, the Locust path) reads the fake's
records through the control API; rebuilt, they give the oracles the same verdict as the
records read in-process. Checked on runs in virtual time: our robot's cards, and a robot
that crosses answers."""

from __future__ import annotations

from pathlib import Path

import yaml

from fakeding.server import card_summary
from fakeding.testing.load.measure import measure
from fakeding.testing.load.plan import load_plan
from fakeding.testing.load.remote import (
    Evidence,
    asked_of,
    card_of,
    judge,
    pending,
    records_of,
    transcript_of,
)
from fakeding.testing.load.workload import questions, scenario
from fakeding.testing.scenarios.runner import run_scenario

ROBOTS = Path(__file__).resolve().parent / "load_robots"
SAME = ("questions", "answers", "lost", "doubled", "unfinished", "cross_talk", "out_of_order")


def both_ways(tmp_path: Path, robot: str, load: str) -> tuple[dict, dict, Evidence]:  # type: ignore[type-arg]
    path = tmp_path / "plan.yaml"
    path.write_text(f"name: remote\nrobot: {robot}\nload: {load}\n", encoding="utf-8")
    plan = load_plan(path)
    asked = questions(plan.workload)
    twin = tmp_path / "twin.yaml"
    twin.write_text(yaml.safe_dump(scenario(plan, asked), sort_keys=False), encoding="utf-8")
    result = run_scenario(twin)
    direct = measure(plan, asked, result.records, result.transcript, result.cards, result.end)
    evidence = Evidence(
        records_of([r.to_dict() for r in result.records]),
        transcript_of([dict(e.to_dict(), conversation=e.conversation_id) for e in result.transcript]),
        [card_of(card_summary(c)) for c in result.cards],
    )
    assert [q.text for q in asked_of(plan, evidence)] == [q.text for q in asked]
    return direct.figures, judge(plan, evidence).figures, evidence


def test_our_robots_cards_judged_from_afar_as_in_process(tmp_path: Path) -> None:
    load = "{users: 6, duration: 120, rate: 0.1, groups: 0.5, turns: [1, 2], think: [5, 10], seed: 4}"
    direct, remote, evidence = both_ways(tmp_path, "bot", load)
    assert len(evidence.cards) == direct["questions"]  # a card per answer, updated to final
    assert {k: remote[k] for k in SAME} == {k: direct[k] for k in SAME}
    assert remote["p95_first_answer"] == direct["p95_first_answer"]
    assert remote["metered_calls"] == direct["metered_calls"] > 0
    assert direct["questions"] > 5 and direct["lost"] == 0 and pending(evidence) == 0


def test_crossed_answers_judged_from_afar_as_in_process(tmp_path: Path) -> None:
    robot = f'{{handler: "robots:Crossing", path: ["{ROBOTS}"]}}'
    load = "{users: 8, duration: 30, burst: {count: 8, within: 1}, groups: 0, seed: 5}"
    direct, remote, evidence = both_ways(tmp_path, robot, load)
    assert direct["cross_talk"] >= 1 and direct["lost"] >= 1
    assert {k: remote[k] for k in SAME} == {k: direct[k] for k in SAME}
    assert pending(evidence) == direct["lost"]  # settling would wait for the lost ones
