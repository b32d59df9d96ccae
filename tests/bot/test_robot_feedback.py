"""Feedback buttons: stored per user and card, acked within 2 s, shown on the card."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import BotHarness, open_harness
from fakeding.core.stream import protocol
from tests.bot.robot_kit import (
    LABELS,
    events,
    is_final,
    markdown,
    only_card,
    records,
    restart_robot,
    stop_robot,
    violations,
    wall,
)

QUESTION = "Can I get a refund?"
ANSWER = "Within 14 days on yearly plans."


def agent() -> ScriptedAgent:
    return ScriptedAgent([{"chunks": ["Within 14 days ", "on yearly plans."]}])


def click_acks(h: BotHarness) -> list[float]:
    return [r.fields["after"] for r in records(h, "ack") if r.fields["topic"] == protocol.TOPIC_CARD_CALLBACK]


@pytest.mark.fakeding_virtual
async def test_a_click_stores_the_vote_acks_in_time_and_shows_it_on_the_card() -> None:
    async with open_harness(agent=agent()) as h:
        sent = h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        await h.sleep_until(40.0)
        h.fake.click(card.id, staff_id="alice", button_id="feedback_helpful")
        await h.settle()
        assert h.robot.store is not None
        [vote] = h.robot.store.feedback()
        assert (vote.user_id, vote.rating, vote.card_id, vote.msg_id) == (
            "alice",
            "helpful",
            card.id,
            sent.msg_id,
        )
        assert (vote.question, vote.answer) == (QUESTION, ANSWER)
        assert vote.at == wall(40.0)
        [after] = click_acks(h)
        assert after < 2.0
        assert h.fake.settings.card_callback_timeout == 2.0
        [event] = events(h, "feedback")
        assert event.fields["changed"] is False and event.fields["rating"] == "helpful"
        data = card.current
        assert markdown(data, "vote") == f"Feedback so far: {LABELS['en'][1]} 1"
        assert markdown(data, "answer") == ANSWER
        assert is_final(data), "the buttons stay so the vote can be changed"
        assert len(events(h, "card.vote")) == 1
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_the_vote_is_shown_in_chinese_on_a_chinese_card() -> None:
    async with open_harness(agent=agent(), robot={"locale": "zh"}) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        h.fake.click(card.id, staff_id="alice", button_id="feedback_not_helpful")
        await h.settle()
        assert markdown(card.current, "vote") == f"目前的反馈：{LABELS['zh'][3]} 1"


@pytest.mark.fakeding_virtual
async def test_a_second_click_by_the_same_user_changes_the_vote() -> None:
    async with open_harness(agent=agent()) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        h.fake.click(card.id, staff_id="alice", button_id="feedback_helpful")
        await h.settle()
        await h.sleep_until(h.now + 5.0)
        h.fake.click(card.id, staff_id="alice", button_id="feedback_not_helpful")
        await h.settle()
        assert h.robot.store is not None
        [vote] = h.robot.store.feedback()
        assert (vote.user_id, vote.rating) == ("alice", "not_helpful")
        assert [e.fields["changed"] for e in events(h, "feedback")] == [False, True]
        assert markdown(card.current, "vote") == f"Feedback so far: {LABELS['en'][3]} 1"
        assert all(after < 2.0 for after in click_acks(h)) and len(click_acks(h)) == 2
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_two_users_voting_on_one_card_make_two_rows() -> None:
    async with open_harness(agent=agent()) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        h.fake.click(card.id, staff_id="alice", button_id="feedback_very_helpful")
        h.fake.click(card.id, staff_id="bob", button_id="feedback_somewhat_helpful")
        await h.settle()
        assert h.robot.store is not None
        votes = {(v.user_id, v.rating) for v in h.robot.store.feedback()}
        assert votes == {("alice", "very_helpful"), ("bob", "somewhat_helpful")}
        assert [e.fields["changed"] for e in events(h, "feedback")] == [False, False]
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_click_after_a_robot_restart_still_knows_the_answer(tmp_path: Path) -> None:
    async with open_harness(agent=agent(), store_dir=tmp_path) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        robot, task = await restart_robot(h, ScriptedAgent([]))
        try:
            h.fake.click(card.id, staff_id="alice", button_id="feedback_very_helpful")
            await h.settle()
            [vote] = robot.store.feedback()
            assert (vote.user_id, vote.rating) == ("alice", "very_helpful")
            assert (vote.question, vote.answer) == (QUESTION, ANSWER)
            assert markdown(card.current, "vote") == f"Feedback so far: {LABELS['en'][0]} 1"
            assert markdown(card.current, "answer") == ANSWER
            assert violations(h) == []
        finally:
            await stop_robot(robot, task)


@pytest.mark.fakeding_virtual
async def test_a_one_to_one_card_says_you_rated_and_a_group_card_tallies_everyone() -> None:
    async with open_harness(agent=ScriptedAgent([{"chunks": [ANSWER]}, {"chunks": [ANSWER]}])) as h:
        h.fake.send_message(
            QUESTION, conversation_id="cidDirectAlice==", conversation_type="single", staff_id="alice"
        )
        h.fake.send_message(QUESTION + " (group)", conversation_id="cidGroupRoom==", staff_id="bob")
        await h.settle()
        direct, group = h.fake.platform.cards.all()
        h.fake.click(direct.id, staff_id="alice", button_id="feedback_helpful")
        h.fake.click(group.id, staff_id="bob", button_id="feedback_helpful")
        h.fake.click(group.id, staff_id="carol", button_id="feedback_not_helpful")
        await h.settle()
        assert markdown(direct.current, "vote") == f"You rated: {LABELS['en'][1]}"
        assert markdown(group.current, "vote") == (
            f"Feedback so far: {LABELS['en'][1]} 1 · {LABELS['en'][3]} 1"
        )
        assert violations(h) == []
