"""The scenario runner: validation with file/line/field, determinism, one shared virtual clock."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from fakeding.testing.scenarios.render import render
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.testing.scenarios.schema import ScenarioError, load_scenario

BASE = """\
name: {name}
users:
  alice: {{nick: Alice}}
conversations:
  g: {{type: group}}
steps:
"""


def write(tmp_path: Path, name: str, steps: str, extra: str = "") -> Path:
    path = tmp_path / "scenarios" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(BASE.format(name=name) + steps + extra)
    return path


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "bad", "  - at: 0\n    say: {user: alice, in: g, text: hi, colour: red}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message and ":8:" in message
    assert "steps[0].say" in message and "colour" in message


def test_unknown_user_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "bad", "  - at: 0\n    say: {user: zoe, in: g, text: hi}\n")
    with pytest.raises(ScenarioError, match=r"steps\[0\]\.say\.user: unknown user 'zoe'"):
        load_scenario(path)


def test_yaml_syntax_error_has_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad", "  - at: 0\n    say: {user: alice, in: g, text: a: b}\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml:8: not valid YAML"):
        load_scenario(path)


def test_a_step_needs_exactly_one_action(tmp_path: Path) -> None:
    path = write(tmp_path, "bad", "  - at: 0\n")
    with pytest.raises(ScenarioError, match=r"steps\[0\]"):
        load_scenario(path)


STEADY = """\
  - at: 0
    say: {user: alice, in: g, text: "q one"}
    answer: {chunks: ["a ", "b ", "c ", "d "], delays: [1.5, 2.5, 0.1, 0.1]}
"""


def test_virtual_time_is_shared_by_fake_robot_and_agent(tmp_path: Path) -> None:
    result = run_scenario(write(tmp_path, "clock", STEADY))
    throttle = [r for r in result.records if r.kind == "bot.throttle"]
    # the agent's delays put chunks at 1.5, 4.0, 4.1, 4.2 on the robot's clock...
    assert [round(r.t, 6) for r in throttle] == [1.5, 4.0, 4.1, 4.2]
    # ...the fake stamps the card update the robot made at 4.0 (2.5 s after the last one)...
    updates = [r for r in result.records if r.kind == "card.update"]
    assert round(updates[0].t, 6) == 4.0
    assert throttle[1].fields["reason"] == "interval"
    # ...and the card's first version carries the fake's epoch-based time in the same run.
    assert result.cards[0].versions[0].t == 0.0


def test_redelivery_and_token_expiry_follow_the_same_clock(tmp_path: Path) -> None:
    steps = """\
  - at: 0
    say: {user: alice, in: g, text: "slow ack"}
    answer: {chunks: ["x"], delay: 70}
"""
    extra = "platform: {redelivery_delay: 60, token_ttl: 400}\n"
    path = write(tmp_path, "timers", steps.replace("slow ack", "slow ack"), extra)
    result = run_scenario(path)
    # The robot acks at once, so nothing is redelivered even though the answer takes 70 s.
    assert not [r for r in result.records if r.kind == "redeliver"]
    final = [r for r in result.records if r.kind == "bot.card.final"]
    assert final and 70.0 <= final[0].t < 71.0
    # token_ttl 400 minus the 300 s safety margin: the robot refreshes after 100 s, not before.
    assert not [r for r in result.records if r.kind == "bot.token.refresh"]


def test_the_same_scenario_renders_byte_identical_reports(tmp_path: Path) -> None:
    path = write(tmp_path, "same", STEADY)
    reports = {render(run_scenario(path)) for _ in range(3)}
    assert len(reports) == 1


def test_order_of_runs_does_not_change_reports(tmp_path: Path) -> None:
    library = Path(__file__).resolve().parents[2] / "scenarios"
    files = sorted(library.glob("*.yaml"))[:4]
    assert files, "the scenario library is empty"
    first = {f.name: render(run_scenario(f)) for f in files}
    shuffled = files[:]
    random.Random(3).shuffle(shuffled)
    second = {f.name: render(run_scenario(f)) for f in reversed(shuffled)}
    assert first == second


def test_unrelated_timers_do_not_reorder_a_crowded_scenario() -> None:
    """Equal-time timers run in creation order, so adding timers elsewhere changes nothing."""
    import asyncio

    from fakeding.testing.scenarios import runner
    from fakeding.testing.scenarios.harness import run_virtual

    library = Path(__file__).resolve().parents[2] / "scenarios"
    scenario = load_scenario(library / "thirty_conversations_qps.yaml")
    plain = render(runner.run_scenario(scenario))

    async def with_noise() -> runner.ScenarioResult:
        loop = asyncio.get_running_loop()
        for i in range(50):
            loop.call_later(1000.0 + i, lambda: None)
        return await runner._play(scenario)

    assert render(run_virtual(with_noise)) == plain
