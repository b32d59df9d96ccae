"""Per-user conversation memory: passed to the agent, kept apart per user, and expiring."""

from __future__ import annotations

import pytest

from bot.agents.base import Turn
from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import open_harness
from tests.bot.robot_kit import events

PLANS = "What plans do you offer?"
PLANS_ANSWER = "Free, Team and Business."
TEAMS = "And for teams?"


async def two_questions(
    *, gap: float, second_user: str = "alice", robot: dict[str, object] | None = None
) -> ScriptedAgent:
    agent = ScriptedAgent(
        [
            {"chunks": ["Free, ", "Team and Business."], "match": "plans"},
            {"chunks": ["Team is $8 per user."], "match": "teams"},
        ]
    )

    async with open_harness(agent=agent, robot=robot) as h:
        h.fake.send_message(PLANS, conversation_id="cidA", staff_id="alice")
        await h.settle()
        assert len(events(h, "card.final")) == 1
        await h.sleep_until(h.now + gap)
        h.fake.send_message(TEAMS, conversation_id="cidA", staff_id=second_user)
        await h.settle()
        assert len(events(h, "card.final")) == 2

    return agent


@pytest.mark.fakeding_virtual
async def test_the_second_question_carries_the_first_exchange_as_history() -> None:
    agent = await two_questions(gap=60.0)
    assert [q for q, _ in agent.calls] == [PLANS, TEAMS]
    assert agent.histories == [[], [Turn("user", PLANS), Turn("assistant", PLANS_ANSWER)]]


@pytest.mark.fakeding_virtual
async def test_another_user_does_not_see_the_first_users_memory() -> None:
    agent = await two_questions(gap=1.0, second_user="bob")
    assert agent.calls == [(PLANS, "alice"), (TEAMS, "bob")]
    assert agent.histories == [[], []]


@pytest.mark.fakeding_virtual
async def test_memory_in_a_group_and_one_to_one_follows_the_user() -> None:
    agent = ScriptedAgent([{"chunks": [PLANS_ANSWER]}, {"chunks": ["Team is $8."]}, {"chunks": ["Sure."]}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message(PLANS, conversation_id="cidGroup", staff_id="alice")
        await h.settle()
        h.fake.send_message(
            "Is there a free trial?", conversation_id="cidBob", conversation_type="single", staff_id="bob"
        )
        await h.settle()
        h.fake.send_message(TEAMS, conversation_id="cidAlice", conversation_type="single", staff_id="alice")
        await h.settle()

    assert agent.histories[1] == []
    assert agent.histories[2] == [Turn("user", PLANS), Turn("assistant", PLANS_ANSWER)]


@pytest.mark.fakeding_virtual
async def test_memory_expires_after_memory_ttl() -> None:
    agent = await two_questions(gap=601.0, robot={"memory_ttl": 600.0})
    assert agent.histories == [[], []]


@pytest.mark.fakeding_virtual
async def test_memory_is_still_there_just_before_memory_ttl() -> None:
    agent = await two_questions(gap=590.0, robot={"memory_ttl": 600.0})
    assert agent.histories[1] == [Turn("user", PLANS), Turn("assistant", PLANS_ANSWER)]


@pytest.mark.fakeding_virtual
async def test_memory_keeps_only_the_last_memory_turns() -> None:
    agent = ScriptedAgent([{"chunks": [f"Answer {n}."]} for n in range(1, 5)])

    async with open_harness(agent=agent, robot={"memory_turns": 2}) as h:
        for n in range(1, 5):
            h.fake.send_message(f"Question {n}?", conversation_id="cidA", staff_id="alice")
            await h.settle()

    assert agent.histories[3] == [Turn("user", "Question 3?"), Turn("assistant", "Answer 3.")]


@pytest.mark.fakeding_virtual
async def test_a_failed_answer_is_not_remembered() -> None:
    agent = ScriptedAgent([{"chunks": ["Half"], "error": "boom"}, {"chunks": ["Fine."]}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message(PLANS, conversation_id="cidA", staff_id="alice")
        await h.settle()
        h.fake.send_message(TEAMS, conversation_id="cidA", staff_id="alice")
        await h.settle()

    assert agent.histories == [[], []]


@pytest.mark.fakeding_virtual
async def test_expired_memory_is_pruned_from_the_store_hourly() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": ["an answer"]}])) as h:
        h.fake.send_message("first question", staff_id="alice")
        await h.settle()
        assert h.robot.store is not None
        assert len(h.robot.store.history("alice", ttl=10_000)) == 2
        await h.sleep_until(3700.0)  # past memoryTtl (1800 s) and the hourly prune
        pruned = [r for r in h.fake.recorder.records if r.kind == "bot.store.pruned"]
        assert pruned and pruned[0].fields["rows"] >= 2
        assert h.robot.store.history("alice", ttl=10_000) == []
