"""Custom agents loaded by import path: every accepted form, and clear errors otherwise.

The targets below are loaded through ``tests.bot.test_agents_custom:<name>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from bot.agents import build_agent
from bot.agents.base import Agent, Chunk, OnChunk, Turn, chunk
from bot.agents.custom import load_custom
from bot.errors import AgentError, ConfigError

HERE = "tests.bot.test_agents_custom"


async def streaming_fn(question: str, *, chat_id: str, history: Sequence[Turn], on_chunk: OnChunk) -> str:
    await on_chunk(chunk("A:"))
    await on_chunk(chunk(question))
    return "A:" + question


async def async_plain(question: str, *, chat_id: str, history: Sequence[Turn]) -> str:
    return f"async {question} in {chat_id}"


def sync_fn(question: str, *, chat_id: str, history: Sequence[Turn]) -> str:
    return f"{question.upper()} ({len(history)})"


def sync_returns_int(question: str, *, chat_id: str, history: Sequence[Turn]) -> int:
    return 42


async def yields_bytes(question: str, *, chat_id: str, history: Sequence[Turn]) -> AsyncIterator[object]:
    yield b"raw"


async def ignores_on_chunk(question: str, **options: object) -> str:
    return "quiet answer"


def wrong_signature(text: str) -> str:
    return text


class ClassAgent:
    name = "class-agent"

    async def answer(self, question: str, *, chat_id: str, history: Sequence[Turn], on_chunk: OnChunk) -> str:
        await on_chunk(chunk("from class"))
        return "from class"


class NamelessAgent:
    async def answer(self, question: str, *, chat_id: str, history: Sequence[Turn], on_chunk: OnChunk) -> str:
        await on_chunk(chunk("nameless"))
        return "nameless"


class NeedsArgs:
    def __init__(self, token: str) -> None:
        self.token = token

    async def answer(self, question: str, *, chat_id: str, history: Sequence[Turn], on_chunk: OnChunk) -> str:
        return ""


class Sink:
    def answer(self, question: str) -> str:
        return question


INSTANCE = ClassAgent()
NOT_CALLABLE = 42


def run(agent: Agent, question: str = "hi", history: Sequence[Turn] = ()) -> tuple[str, list[str]]:
    pieces: list[str] = []

    async def sink(item: Chunk) -> None:
        pieces.append(item["data"]["content"])

    async def main() -> str:
        return await agent.answer(question, chat_id="c9", history=history, on_chunk=sink)

    return asyncio.run(main()), pieces


def test_example_echo_generator_streams_each_piece() -> None:
    agent = load_custom("bot.agents.examples:echo")
    answer, pieces = run(agent, "reset my password", [Turn("user", "x")])
    assert pieces == [
        "You said:",
        " reset",
        " my",
        " password",
        " (I remember 1 earlier message(s).)",
    ]
    assert answer == "".join(pieces)
    assert agent.name == "bot.agents.examples:echo"


def test_dotted_path_form_works_too() -> None:
    answer, _ = run(load_custom("bot.agents.examples.echo"), "a b")
    assert answer == "You said: a b"


def test_async_function_with_on_chunk_streams_itself() -> None:
    assert run(load_custom(f"{HERE}:streaming_fn"), "q") == ("A:q", ["A:", "q"])


def test_async_function_without_on_chunk_is_one_chunk() -> None:
    assert run(load_custom(f"{HERE}:async_plain"), "q") == ("async q in c9", ["async q in c9"])


def test_async_function_that_never_streams_still_shows_its_answer() -> None:
    assert run(load_custom(f"{HERE}:ignores_on_chunk")) == ("quiet answer", ["quiet answer"])


def test_plain_function_is_streamed_as_one_chunk() -> None:
    answer, pieces = run(load_custom(f"{HERE}.sync_fn"), "q", [Turn("user", "a")])
    assert (answer, pieces) == ("Q (1)", ["Q (1)"])


def test_class_is_instantiated_and_instance_used_as_is() -> None:
    from_class = load_custom(f"{HERE}:ClassAgent")
    assert isinstance(from_class, ClassAgent)
    assert run(from_class) == ("from class", ["from class"])
    assert load_custom(f"{HERE}:INSTANCE") is INSTANCE


def test_object_without_a_name_gets_its_path_as_name() -> None:
    agent = load_custom(f"{HERE}:NamelessAgent")
    assert agent.name == f"{HERE}:NamelessAgent"
    assert run(agent) == ("nameless", ["nameless"])


def test_wrong_return_types_are_agent_errors() -> None:
    with pytest.raises(AgentError, match="returned int, expected str"):
        run(load_custom(f"{HERE}:sync_returns_int"))
    with pytest.raises(AgentError, match="yielded bytes, expected str"):
        run(load_custom(f"{HERE}:yields_bytes"))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nodots", "is not 'package.module:attribute'"),
        ("pkg.module:", "is not 'package.module:attribute'"),
        ("no_such_package_xyz.mod:fn", "could not import module 'no_such_package_xyz.mod'"),
        (f"{HERE}:missing", "has no attribute 'missing'"),
        (
            f"{HERE}:wrong_signature",
            r"found function with signature \(text\), which is not supported",
        ),
        (f"{HERE}:NOT_CALLABLE", "found int"),
        (f"{HERE}:NeedsArgs", "could not be instantiated with no arguments"),
        (f"{HERE}:Sink", "found class Sink without an async answer method"),
        ("bot.agents", "found module"),
    ],
)
def test_bad_paths_say_what_was_found_and_what_is_accepted(path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_custom(path)
    text = str(info.value)
    assert "'package.module" in text or "accepted forms" in text


def test_build_agent_loads_custom_paths(tmp_path: Path) -> None:
    agent = build_agent("bot.agents.examples:echo", base_dir=tmp_path)
    assert run(agent, "x") == ("You said: x", ["You said:", " x"])
    assert isinstance(build_agent({"name": f"{HERE}:ClassAgent"}, base_dir=tmp_path), ClassAgent)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gpt", "unknown agent 'gpt': expected one of faq, openai, scripted"),
        ({"faq": "x.md"}, "needs a 'name' string, found None"),
        ({"name": "bot.agents.examples:echo", "delay": 1}, "takes no options, found delay"),
        (["faq"], "must be a name or a mapping"),
    ],
)
def test_build_agent_rejects_bad_specs(tmp_path: Path, spec: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_agent(spec, base_dir=tmp_path)  # type: ignore[arg-type]
