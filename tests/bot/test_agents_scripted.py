"""The scripted agent: plays turns in order, honours match/delay/error/hang, validates."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.agents import build_agent
from bot.agents.base import Chunk, Turn
from bot.agents.scripted import ScriptedAgent
from bot.errors import AgentError, ConfigError


class Sink:
    def __init__(self) -> None:
        self.pieces: list[str] = []

    async def __call__(self, item: Chunk) -> None:
        self.pieces.append(item["data"]["content"])


async def ask(agent: ScriptedAgent, question: str, sink: Sink, chat_id: str = "c") -> str:
    return await agent.answer(question, chat_id=chat_id, history=[], on_chunk=sink)


def test_turns_play_in_order_and_record_calls() -> None:
    agent = ScriptedAgent([{"chunks": ["Hel", "lo"]}, {"chunks": ["Bye"]}])
    first, second = Sink(), Sink()

    async def run() -> tuple[str, str]:
        history = [Turn("user", "earlier")]
        a = await agent.answer("hi", chat_id="c1", history=history, on_chunk=first)
        b = await ask(agent, "bye", second, chat_id="c2")
        return a, b

    assert asyncio.run(run()) == ("Hello", "Bye")
    assert first.pieces == ["Hel", "lo"]
    assert second.pieces == ["Bye"]
    assert agent.calls == [("hi", "c1"), ("bye", "c2")]
    assert agent.histories == [[Turn("user", "earlier")], []]
    assert agent.remaining == 0


def test_exhausted_script_says_how_many_turns_there_were() -> None:
    agent = ScriptedAgent([{"chunks": ["a"]}])
    sink = Sink()
    asyncio.run(ask(agent, "one", sink))
    with pytest.raises(AgentError, match=r"exhausted: 1 turn\(s\) were scripted"):
        asyncio.run(ask(agent, "two", sink))
    assert agent.calls == [("one", "c"), ("two", "c")]


def test_matching_turns_take_precedence_over_unmatched_ones() -> None:
    agent = ScriptedAgent(
        [
            {"chunks": ["generic 1"]},
            {"chunks": ["about refunds"], "match": "REFUND"},
            {"chunks": ["generic 2"]},
        ]
    )
    sink = Sink()

    async def run() -> list[str]:
        return [
            await ask(agent, "hello", sink),
            await ask(agent, "can I get a refund?", sink),
            await ask(agent, "another refund?", sink),
        ]

    assert asyncio.run(run()) == ["generic 1", "about refunds", "generic 2"]


def test_a_turn_that_only_matches_other_questions_is_not_played() -> None:
    agent = ScriptedAgent([{"chunks": ["x"], "match": "refund"}])
    with pytest.raises(AgentError, match="1 unused but none matches"):
        asyncio.run(ask(agent, "hello", Sink()))
    assert agent.remaining == 1


def test_error_is_raised_after_the_chunks() -> None:
    agent = ScriptedAgent([{"chunks": ["partial "], "error": "model crashed"}])
    sink = Sink()
    with pytest.raises(AgentError, match="model crashed"):
        asyncio.run(ask(agent, "q", sink))
    assert sink.pieces == ["partial "]


def test_hang_never_returns_until_cancelled() -> None:
    agent = ScriptedAgent([{"chunks": ["a", "b"], "hang": True}])
    sink = Sink()

    async def run() -> None:
        await asyncio.wait_for(ask(agent, "q", sink), timeout=0.05)

    with pytest.raises(TimeoutError):
        asyncio.run(run())
    assert sink.pieces == ["a", "b"]


def test_delays_are_slept_before_each_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[tuple[float, int]] = []
    sink = Sink()
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float) -> None:
        slept.append((delay, len(sink.pieces)))
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    agent = ScriptedAgent([{"chunks": ["a", "b"], "delay": 1.5}, {"chunks": ["c", "d"], "delays": [0, 3]}])

    async def run() -> None:
        await ask(agent, "one", sink)
        await ask(agent, "two", sink)

    asyncio.run(run())
    # (seconds, chunks already sent): each wait happens before its chunk; zero waits skipped.
    assert slept == [(1.5, 0), (1.5, 1), (3.0, 3)]


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        (["nope"], "turn 0: expected a dict"),
        ([{"chunks": "abc"}], "turn 0: field 'chunks'"),
        ([{}, {"chunk": ["a"]}], "turn 1: unknown field"),
        ([{"chunks": ["a"], "delay": -1}], "turn 0: field 'delay'"),
        ([{"chunks": ["a"], "delay": True}], "turn 0: field 'delay'"),
        ([{"chunks": ["a"], "delays": [1, 2]}], "turn 0: field 'delays' needs one entry"),
        ([{"chunks": ["a"], "delay": 1, "delays": [1]}], "turn 0: give field 'delay'"),
        ([{"error": 3}], "turn 0: field 'error'"),
        ([{"hang": "yes"}], "turn 0: field 'hang'"),
        ([{"error": "x", "hang": True}], "turn 0: fields 'error' and 'hang'"),
        ([{"match": ""}], "turn 0: field 'match'"),
    ],
)
def test_bad_turns_are_rejected_up_front(turns: list[Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScriptedAgent(turns)


def test_build_agent_scripted(tmp_path: Path) -> None:
    agent = build_agent({"name": "scripted", "turns": [{"chunks": ["x"]}]}, base_dir=tmp_path)
    assert isinstance(agent, ScriptedAgent)
    assert asyncio.run(ask(agent, "q", Sink())) == "x"


def test_build_agent_scripted_reports_the_bad_turn(tmp_path: Path) -> None:
    spec = {"name": "scripted", "turns": [{"chunks": ["ok"]}, {"delay": -2}]}
    with pytest.raises(ConfigError, match="agent 'scripted': scripted turn 1: field 'delay'"):
        build_agent(spec, base_dir=tmp_path)
