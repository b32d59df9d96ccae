"""Each kind of agent answers through the real robot: FAQ, OpenAI-compatible, scripted, custom."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.scenario_adapter import DEMO_INSTANCE, BotHarness, open_harness, run_virtual
from tests.bot.openai_fake import FakeOpenAI
from tests.bot.robot_kit import (
    events,
    is_final,
    markdown,
    only_card,
    records,
    updates,
    violations,
)

FAQ_FILE = DEMO_INSTANCE / "faq.md"


def faq_answer(question: str, path: Path = FAQ_FILE) -> str:
    """The answer written under ``## question`` in the FAQ file, read independently,
    with its line wrapping ignored."""
    source = path.read_text(encoding="utf-8")
    found = re.search(rf"^## {re.escape(question)}\n(.*?)(?=^## |\Z)", source, re.M | re.S)
    assert found is not None, f"{question!r} is not a heading of {path}"
    return words(found.group(1))


def words(text: str) -> str:
    """Text with its line wrapping ignored (the robot may re-flow hard-wrapped lines)."""
    return " ".join(text.split())


def final_answers(h: BotHarness) -> list[str]:
    return [str(markdown(c.current, "answer")) for c in h.fake.platform.cards.all() if is_final(c.current)]


@pytest.mark.fakeding_virtual
async def test_faq_agent_answers_a_faq_question_with_its_entry() -> None:
    question = "How do I reset my password?"

    async with open_harness(robot={"agent": "faq"}) as h:
        h.fake.send_message(question, staff_id="alice")
        await h.settle()
        data = only_card(h).current
        assert is_final(data)
        assert words(str(markdown(data, "answer"))) == faq_answer(question)
        assert markdown(data, "notice") is None
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_faq_agent_answers_a_reworded_question_with_the_right_entry() -> None:
    async with open_harness(robot={"agent": "faq"}) as h:
        h.fake.send_message("i forgot my password, how can i reset it", staff_id="alice")
        await h.settle()
        assert [words(a) for a in final_answers(h)] == [faq_answer("How do I reset my password?")]


@pytest.mark.fakeding_virtual
async def test_faq_agent_answers_an_unrelated_question_with_the_no_match_text() -> None:
    async with open_harness(robot={"agent": "faq"}) as h:
        h.fake.send_message("What is the weather like on Mars tomorrow?", staff_id="alice")
        await h.settle()
        [answer] = final_answers(h)
        assert answer.startswith(
            "Sorry, I couldn't find a good answer to that in our FAQ. You could ask me about:\n\n- "
        )
        assert answer.endswith("\n\nor rephrase your question.")
        headings = set(re.findall(r"^## (.+)$", FAQ_FILE.read_text(encoding="utf-8"), re.M))
        suggested = re.findall(r"^- (.+)$", answer, re.M)
        assert 1 <= len(suggested) <= 3 and set(suggested) <= headings
        assert events(h, "agent.error") == []


def test_openai_agent_streams_from_an_openai_compatible_server_into_the_card() -> None:
    ai = FakeOpenAI(pieces=["Open the ", "sign-in page ", "and click Forgot password."])

    async def main() -> tuple[list[str], str]:
        async with ai:
            agent = {"name": "openai", "base_url": ai.base_url, "model": "m", "api_key": "sk-test"}
            async with open_harness(robot={"agent": agent}) as h:
                h.fake.send_message("How do I reset my password?", staff_id="alice")
                await h.settle()
                h.fake.send_message("And if the email never comes?", staff_id="alice")
                await h.settle()
                assert violations(h) == []
                recorded = json.dumps([r.to_dict() for r in records(h)], ensure_ascii=False)
                return final_answers(h), recorded

    answers, recorded = run_virtual(main)
    assert answers == ["Open the sign-in page and click Forgot password."] * 2
    first, second = ai.requests
    assert first.headers["Authorization"] == "Bearer sk-test"
    assert first.body["model"] == "m" and first.body["stream"] is True
    assert first.body["messages"][-1] == {"role": "user", "content": "How do I reset my password?"}
    assert second.body["messages"][1:] == [
        {"role": "user", "content": "How do I reset my password?"},
        {"role": "assistant", "content": "Open the sign-in page and click Forgot password."},
        {"role": "user", "content": "And if the email never comes?"},
    ]
    assert "sk-test" not in recorded


def test_openai_agent_failure_ends_in_an_error_card() -> None:
    ai = FakeOpenAI(status=500)

    async def main() -> str | None:
        async with ai:
            agent = {"name": "openai", "base_url": ai.base_url, "model": "m", "api_key": "sk-test"}
            async with open_harness(robot={"agent": agent}) as h:
                h.fake.send_message("Hello?", staff_id="alice")
                await h.settle()
                assert len(events(h, "agent.error")) == 1
                data = only_card(h).current
                assert is_final(data)
                return markdown(data, "notice")

    notice = run_virtual(main)
    assert notice is not None and notice.startswith("⚠️ Sorry, the assistant ran into an error.")


@pytest.mark.fakeding_virtual
async def test_scripted_agent_from_the_robot_config() -> None:
    agent = {"name": "scripted", "turns": [{"chunks": ["From ", "the ", "config."], "delay": 1.0}]}

    async with open_harness(robot={"agent": agent}) as h:
        h.fake.send_message("Anything?", staff_id="alice")
        await h.settle()
        card = only_card(h)
        assert markdown(card.current, "answer") == "From the config."
        assert len(updates(card)) >= 2, "streamed, then final"


@pytest.mark.fakeding_virtual
async def test_custom_dotted_path_agent_answers_and_remembers() -> None:
    async with open_harness(robot={"agent": "bot.agents.examples:echo"}) as h:
        h.fake.send_message("How do I reset my password?", staff_id="alice")
        await h.settle()
        h.fake.send_message("Thanks", staff_id="alice")
        await h.settle()
        assert sorted(final_answers(h)) == [
            "You said: How do I reset my password?",
            "You said: Thanks (I remember 2 earlier message(s).)",
        ]
        assert violations(h) == []
