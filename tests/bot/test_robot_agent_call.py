"""What the agent is given: the stripped question, the sender as chat id, a live callback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from bot.agents.base import OnChunk, Turn, chunk
from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import BotHarness, open_harness
from tests.bot.robot_kit import events, markdown, only_card, play, streaming_texts, updates


@pytest.mark.fakeding_virtual
async def test_group_question_reaches_the_agent_stripped_with_the_sender_as_chat_id() -> None:
    agent = ScriptedAgent([{"chunks": ["Sure."]}])

    async with open_harness(agent=agent) as h:
        # The platform strips the @mention and leaves a leading space; the user added more.
        h.fake.send_message(
            "   How do I reset my password?  \n", conversation_id="cidG", staff_id="alice", nick="Alice"
        )
        await h.settle()

    assert agent.calls == [("How do I reset my password?", "alice")]
    assert agent.histories == [[]]


@pytest.mark.fakeding_virtual
async def test_one_to_one_question_uses_the_staff_id_as_chat_id() -> None:
    agent = ScriptedAgent([{"chunks": ["Sure."]}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message(
            "\tWhat plans do you offer?", conversation_id="cidBob", conversation_type="single", staff_id="bob"
        )
        await h.settle()

    assert agent.calls == [("What plans do you offer?", "bob")]


@pytest.mark.fakeding_virtual
async def test_chunks_streamed_through_the_callback_show_up_while_the_agent_still_runs() -> None:
    agent = ScriptedAgent([{"chunks": ["One. ", "Two. ", "Three. ", "Four."], "delay": 1.0}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message("Count for me", staff_id="alice")
        await h.sleep_until(2.5)
        assert events(h, "card.final") == [], "the agent is still streaming at t=2.5"
        assert streaming_texts(only_card(h)) == ["One. Two. "]
        await h.settle()
        assert markdown(updates(only_card(h))[-1], "answer") == "One. Two. Three. Four."


class CallbackProbe:
    """Checks the callback it is given is awaitable and returns None for every chunk."""

    name = "probe"

    def __init__(self) -> None:
        self.results: list[Any] = []

    async def answer(self, question: str, *, chat_id: str, history: Sequence[Turn], on_chunk: OnChunk) -> str:
        for piece in ("a", "b"):
            self.results.append(await on_chunk(chunk(piece)))
        return "ab"


@pytest.mark.fakeding_virtual
async def test_the_streaming_callback_accepts_sdk_style_chunks() -> None:
    probe = CallbackProbe()

    async with open_harness(agent=probe) as h:
        h.fake.send_message("probe", staff_id="alice")
        await h.settle()
        assert markdown(only_card(h).current, "answer") == "ab"
        assert [r.fields["chars"] for r in events(h, "throttle")] == [1, 2]

    assert probe.results == [None, None]


def test_play_still_runs_a_body_on_the_virtual_clock_and_returns_its_result() -> None:
    """``play(body)``, the helper the marker replaced, keeps working for code that uses it."""
    agent = ScriptedAgent([{"chunks": ["Sure."], "delay": 30.0}])

    async def body(h: BotHarness) -> float:
        h.fake.send_message("Slow one?", conversation_id="cidP", staff_id="alice")
        await h.settle()
        return h.now

    assert play(body, agent=agent) >= 30.0
    assert agent.calls == [("Slow one?", "alice")]
