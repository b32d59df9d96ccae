"""The robot acks every message at once and answers each robotCode+msgId exactly once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import open_harness
from fakeding.core.settings import Settings
from fakeding.core.stream import protocol
from tests.bot.robot_kit import (
    cards,
    events,
    is_final,
    only_card,
    records,
    restart_robot,
    stop_robot,
    violations,
)


@pytest.mark.fakeding_virtual
async def test_ack_comes_at_the_push_time_and_before_the_thinking_card_for_a_60_s_agent() -> None:
    agent = ScriptedAgent([{"chunks": ["It took a minute."], "delay": 60.0}])

    async with open_harness(agent=agent) as h:
        await h.sleep_until(3.0)
        sent = h.fake.send_message("Why so slow?", staff_id="alice")
        await h.settle()
        [push] = [r for r in records(h, "push") if r.fields["key"] == sent.msg_id]
        [ack] = [r for r in records(h, "ack") if r.fields["key"] == sent.msg_id]
        [send] = records(h, "card.send")
        [thinking] = events(h, "card.thinking")
        [final] = events(h, "card.final")
        assert push.t == 3.0
        assert ack.t == push.t and ack.fields["after"] == 0.0
        assert ack.fields["code"] == 200 and ack.fields["messageId"] == sent.message_id
        assert ack.seq < send.seq < thinking.seq, "the ack must precede the thinking card"
        assert final.t >= 63.0, "the agent really took 60 virtual seconds"
        assert records(h, "redeliver") == [], "an acked message is never redelivered"
        assert is_final(only_card(h).current)
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_frame_pushed_twice_is_answered_once(caplog: pytest.LogCaptureFixture) -> None:
    agent = ScriptedAgent([{"chunks": ["Once."]}, {"chunks": ["Twice!"]}])
    caplog.set_level(logging.INFO, logger="bot.handlers")

    async with open_harness(agent=agent) as h:
        h.fake.fault({"kind": "frame", "action": "duplicate"})
        sent = h.fake.send_message("Hello?", staff_id="alice")
        await h.settle()
        assert len(cards(h)) == 1
        assert [r.fields["msg"] for r in events(h, "card.thinking")] == [sent.msg_id]
        assert [r.fields["msg"] for r in events(h, "dedup.skip")] == [sent.msg_id]
        [skipped] = [r for r in caplog.records if "skipped message" in r.getMessage()]
        assert skipped.levelno == logging.INFO and sent.msg_id in skipped.getMessage()
        assert "already answered or being answered" in skipped.getMessage()
        assert len(events(h, "message")) == 1
        assert agent.calls == [("Hello?", "alice")]
        assert len(records(h, "ack")) == 2, "both copies of the frame are acked"
        assert violations(h) == []


@pytest.mark.parametrize("new_message_id", [False, True], ids=["same-messageId", "new-messageId"])
@pytest.mark.fakeding_virtual
async def test_a_redelivery_racing_a_late_original_is_answered_once(new_message_id: bool) -> None:
    agent = ScriptedAgent([{"chunks": ["Once."]}, {"chunks": ["Twice!"]}])
    settings = Settings(redelivery_delay=2.0, redelivery_new_message_id=new_message_id)

    async with open_harness(agent=agent, settings=settings) as h:
        h.fake.fault({"kind": "frame", "action": "delay", "delay": 5.0})
        sent = h.fake.send_message("Hello?", staff_id="alice")
        await h.sleep_until(6.0)  # the delayed original frame lands at t=5
        await h.settle()
        [redelivery] = records(h, "redeliver")
        assert redelivery.t == 2.0 and redelivery.fields["key"] == sent.msg_id
        [thinking] = events(h, "card.thinking")
        assert thinking.t >= 2.0 and thinking.fields["msg"] == sent.msg_id
        [skip] = events(h, "dedup.skip")
        assert skip.t == pytest.approx(5.0) and skip.fields["msg"] == sent.msg_id
        assert len(cards(h)) == 1 and is_final(only_card(h).current)
        assert agent.calls == [("Hello?", "alice")]
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_dedup_survives_a_restart_with_the_same_sqlite_file(tmp_path: Path) -> None:
    first_agent = ScriptedAgent([{"chunks": ["First answer."]}])
    second_agent = ScriptedAgent([{"chunks": ["Second answer."]}, {"chunks": ["Again!"]}])

    async with open_harness(agent=first_agent, store_dir=tmp_path) as h:
        sent = h.fake.send_message("First question?", staff_id="alice")
        await h.settle()
        assert len(cards(h)) == 1
        [delivery] = [d for d in h.fake.stream.deliveries.values() if d.key == sent.msg_id]
        robot, task = await restart_robot(h, second_agent)
        try:
            # The platform delivers the same robot message again (same robotCode and msgId).
            h.fake.stream.push(
                delivery.client_id, protocol.TOPIC_BOT_MESSAGE, dict(delivery.data), key=sent.msg_id
            )
            later = h.fake.send_message("Second question?", staff_id="bob")
            await h.settle()
            restarted = [r for r in records(h) if r.fields.get("robot") == "restarted"]
            skips = [r.fields["msg"] for r in restarted if r.kind == "bot.dedup.skip"]
            answered = [r.fields["msg"] for r in restarted if r.kind == "bot.card.thinking"]
            assert skips == [sent.msg_id]
            assert answered == [later.msg_id], "the restarted robot still answers new messages"
            assert second_agent.calls == [("Second question?", "bob")]
            assert len(cards(h)) == 2
            assert violations(h) == []
        finally:
            await stop_robot(robot, task)

    assert (tmp_path / "robot.sqlite3").is_file()
