"""The OpenAI-compatible agent against a real local HTTP server imitating the API."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.agents import build_agent
from bot.agents.base import Chunk, Turn
from bot.agents.faq import FaqAgent
from bot.agents.openai_compat import OpenAICompatAgent
from bot.errors import AgentError, AgentTimeout, ConfigError
from tests.bot.openai_fake import FakeOpenAI

SHIPPED = Path(__file__).resolve().parents[2] / "bot/elements/imRobots.dingTalkDemo/faq.md"
KEY = "sk-test-SECRET-0123456789"
T = TypeVar("T")


def run_with(fake: FakeOpenAI, body: Callable[[FakeOpenAI], Awaitable[T]]) -> T:
    async def main() -> T:
        async with fake:
            return await body(fake)

    return asyncio.run(main())


class Sink:
    def __init__(self) -> None:
        self.pieces: list[str] = []

    async def __call__(self, item: Chunk) -> None:
        self.pieces.append(item["data"]["content"])


def test_streams_pieces_and_returns_the_whole_answer() -> None:
    sink = Sink()

    async def body(fake: FakeOpenAI) -> str:
        agent = OpenAICompatAgent(base_url=fake.base_url, model="m1", api_key=KEY)
        return await agent.answer("Hi?", chat_id="c", history=[], on_chunk=sink)

    fake = FakeOpenAI(pieces=["Hel", "lo ", "wörld", "！"])
    assert run_with(fake, body) == "Hello wörld！"
    assert sink.pieces == ["Hel", "lo ", "wörld", "！"]
    [request] = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "m1"
    assert request.body["stream"] is True
    assert "temperature" not in request.body


def test_messages_carry_system_history_and_question() -> None:
    history = [Turn("user", "What plans exist?"), Turn("assistant", "Free, Team, Business.")]

    async def body(fake: FakeOpenAI) -> str:
        agent = OpenAICompatAgent(
            base_url=fake.base_url + "/",
            model="m",
            api_key=None,
            system_prompt="Be nice.",
            temperature=0.2,
        )
        return await agent.answer("And for teams?", chat_id="c", history=history, on_chunk=Sink())

    fake = FakeOpenAI(pieces=["ok"])
    run_with(fake, body)
    [request] = fake.requests
    assert "Authorization" not in request.headers
    assert request.body["temperature"] == 0.2
    assert request.body["messages"] == [
        {"role": "system", "content": "Be nice."},
        {"role": "user", "content": "What plans exist?"},
        {"role": "assistant", "content": "Free, Team, Business."},
        {"role": "user", "content": "And for teams?"},
    ]


def test_faq_entries_ground_the_system_prompt() -> None:
    faq = FaqAgent(SHIPPED)

    async def body(fake: FakeOpenAI) -> str:
        agent = OpenAICompatAgent(base_url=fake.base_url, model="m", api_key=None, faq=faq)
        return await agent.answer("Can I get a refund?", chat_id="c", history=[], on_chunk=Sink())

    fake = FakeOpenAI(pieces=["ok"])
    run_with(fake, body)
    system = fake.requests[0].body["messages"][0]["content"]
    assert "FAQ excerpts" in system
    assert "### Can I get a refund?" in system
    assert "billing@acme.example" in system
    assert system.count("### ") <= 3


def test_done_stops_the_stream_and_comments_are_ignored() -> None:
    sink = Sink()

    async def body(fake: FakeOpenAI) -> str:
        agent = OpenAICompatAgent(base_url=fake.base_url, model="m", api_key=KEY)
        return await agent.answer("q", chat_id="c", history=[], on_chunk=sink)

    fake = FakeOpenAI(pieces=["a", "b"], after_done=["IGNORED"], comments=True)
    assert run_with(fake, body) == "ab"
    assert sink.pieces == ["a", "b"]


def test_stream_without_done_still_answers() -> None:
    async def body(fake: FakeOpenAI) -> str:
        agent = OpenAICompatAgent(base_url=fake.base_url, model="m", api_key=KEY)
        return await agent.answer("q", chat_id="c", history=[], on_chunk=Sink())

    assert run_with(FakeOpenAI(pieces=["x", "y"], done=False), body) == "xy"


def test_non_streaming_json_reply_is_forwarded_as_one_chunk() -> None:
    sink = Sink()

    async def body(fake: FakeOpenAI) -> str:
        agent = OpenAICompatAgent(base_url=fake.base_url, model="m", api_key=KEY)
        return await agent.answer("q", chat_id="c", history=[], on_chunk=sink)

    assert run_with(FakeOpenAI(json_reply="whole answer"), body) == "whole answer"
    assert sink.pieces == ["whole answer"]


def test_error_status_is_reported_without_the_key() -> None:
    async def body(fake: FakeOpenAI) -> str:
        agent = OpenAICompatAgent(base_url=fake.base_url, model="m", api_key=KEY)
        return await agent.answer("q", chat_id="c", history=[], on_chunk=Sink())

    # Real servers echo the rejected key back in the error body.
    fake = FakeOpenAI(status=401, error_body=f'{{"error": "Incorrect API key {KEY}"}}')
    with pytest.raises(AgentError) as info:
        run_with(fake, body)
    message = str(info.value)
    assert "HTTP 401" in message
    assert "Incorrect API key" in message
    assert KEY not in message
    assert KEY not in repr(OpenAICompatAgent(base_url=fake.base_url, model="m", api_key=KEY))


def test_error_event_mid_stream_raises() -> None:
    sink = Sink()

    async def body(fake: FakeOpenAI) -> str:
        agent = OpenAICompatAgent(base_url=fake.base_url, model="m", api_key=KEY)
        return await agent.answer("q", chat_id="c", history=[], on_chunk=sink)

    fake = FakeOpenAI(raw_events=[FakeOpenAI.event("par"), '{"error": {"message": "overloaded"}}'])
    with pytest.raises(AgentError, match="overloaded"):
        run_with(fake, body)
    assert sink.pieces == ["par"]


def test_garbage_event_is_an_agent_error() -> None:
    async def body(fake: FakeOpenAI) -> str:
        agent = OpenAICompatAgent(base_url=fake.base_url, model="m", api_key=KEY)
        return await agent.answer("q", chat_id="c", history=[], on_chunk=Sink())

    with pytest.raises(AgentError, match="not JSON"):
        run_with(FakeOpenAI(raw_events=["{not json"]), body)


def test_silent_server_times_out() -> None:
    async def body(fake: FakeOpenAI) -> str:
        agent = OpenAICompatAgent(base_url=fake.base_url, model="m", api_key=KEY, timeout=0.2)
        return await agent.answer("q", chat_id="c", history=[], on_chunk=Sink())

    with pytest.raises(AgentTimeout, match="sent nothing for 0.2 s"):
        run_with(FakeOpenAI(hang=True), body)


def test_unreachable_server_is_an_agent_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    agent = OpenAICompatAgent(base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key=KEY)
    coro = agent.answer("q", chat_id="c", history=[], on_chunk=Sink())
    with pytest.raises(AgentError, match="could not talk to") as info:
        asyncio.run(coro)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "api.openai.com"}, "base_url must start with http"),
        ({"model": " "}, "model must name a model"),
        ({"timeout": 0}, "timeout must be > 0"),
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict[str, object], message: str) -> None:
    settings: dict[str, object] = {"base_url": "http://127.0.0.1:1/v1", "model": "m"}
    settings.update(kwargs)
    with pytest.raises(ConfigError, match=message):
        OpenAICompatAgent(api_key=None, **settings)  # type: ignore[arg-type]


def test_build_agent_openai_takes_the_key_from_the_environment() -> None:
    async def body(fake: FakeOpenAI) -> str:
        spec = {"name": "openai", "base_url": fake.base_url, "model": "m", "faq": True}
        agent = build_agent(spec, base_dir=SHIPPED.parent, env={"OPENAI_API_KEY": KEY})
        assert isinstance(agent, OpenAICompatAgent)
        assert agent.faq is not None
        return await agent.answer("refund?", chat_id="c", history=[], on_chunk=Sink())

    fake = FakeOpenAI(pieces=["ok"])
    assert run_with(fake, body) == "ok"
    assert fake.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    assert "### Can I get a refund?" in fake.requests[0].body["messages"][0]["content"]


def test_build_agent_openai_without_any_key_sends_none() -> None:
    spec = {"name": "openai", "base_url": "http://127.0.0.1:1/v1", "model": "m"}
    agent = build_agent(spec, base_dir=SHIPPED.parent, env={})
    assert isinstance(agent, OpenAICompatAgent)
    assert "api_key=none" in repr(agent)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "openai", "model": "m"}, "option 'base_url' is missing"),
        ({"name": "openai", "base_url": "http://127.0.0.1:1/v1"}, "option 'model' is missing"),
        (
            {"name": "openai", "base_url": "http://x/v1", "model": "m", "api_key_env": "MY_KEY"},
            "environment variable 'MY_KEY' .* is not set",
        ),
        (
            {"name": "openai", "base_url": "http://x/v1", "model": "m", "timeout": "soon"},
            "option 'timeout' must be int or float",
        ),
    ],
)
def test_build_agent_openai_errors(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        build_agent(spec, base_dir=SHIPPED.parent, env={"OPENAI_API_KEY": KEY})
    assert KEY not in str(info.value)
