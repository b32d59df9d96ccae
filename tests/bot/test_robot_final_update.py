"""The final answer always reaches the user: retried, by webhook, or with a notice."""

from __future__ import annotations

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import open_harness
from tests.bot.robot_kit import (
    AGENT_ERROR,
    SEND_ROUTE,
    UPDATE_ROUTE,
    agent_timeout_notice,
    api_calls,
    events,
    is_final,
    markdown,
    only_card,
    violations,
    webhook_texts,
)

QUESTION = "How do I export my data?"


@pytest.mark.fakeding_virtual
async def test_a_500_on_the_final_update_is_retried_and_the_card_ends_final() -> None:
    agent = ScriptedAgent([{"chunks": ["Settings → Data → Export."]}])

    async with open_harness(agent=agent) as h:
        h.fake.fault({"kind": "api", "route": UPDATE_ROUTE, "status": 500, "code": "unknownError"})
        h.fake.send_message(QUESTION, conversation_id="cidG", staff_id="alice")
        await h.settle()
        failed, succeeded = api_calls(h, UPDATE_ROUTE)
        assert (failed.fields["status"], succeeded.fields["status"]) == (500, 200)
        [retry] = events(h, "api.retry")
        assert retry.fields["status"] == 500 and retry.fields["route"] == UPDATE_ROUTE
        card = only_card(h)
        assert is_final(card.current)
        assert markdown(card.current, "answer") == "Settings → Data → Export."
        assert len(events(h, "card.final")) == 1
        assert events(h, "card.final.failed") == [] and webhook_texts(h, "cidG") == []
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_when_the_card_cannot_be_updated_the_answer_comes_by_session_webhook() -> None:
    agent = ScriptedAgent([{"chunks": ["Go to ", "Settings → Data → Export."]}])

    async with open_harness(agent=agent) as h:
        h.fake.fault(
            {"kind": "api", "route": UPDATE_ROUTE, "status": 500, "code": "unknownError", "count": 20}
        )
        h.fake.send_message(QUESTION, conversation_id="cidG", staff_id="alice")
        await h.settle()
        assert len(events(h, "card.final.failed")) == 1
        assert len(events(h, "reply.fallback")) == 1
        [text] = webhook_texts(h, "cidG")
        assert "Go to Settings → Data → Export." in text
        assert QUESTION in text
        [hook] = [r for r in h.fake.recorder.records if r.kind == "webhook"]
        assert hook.fields["errcode"] == 0 and hook.fields["msgtype"] == "markdown"
        assert hook.fields["request"]["at"] == {"atUserIds": ["alice"]}
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_an_agent_error_ends_in_a_final_card_keeping_the_partial_answer() -> None:
    agent = ScriptedAgent([{"chunks": ["Go to ", "Settings "], "error": "model crashed"}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        data = only_card(h).current
        assert is_final(data)
        assert markdown(data, "answer") == "Go to Settings "
        assert markdown(data, "notice") == AGENT_ERROR
        assert [e["type"] for e in data["contents"]] == ["markdown", "markdown", "divider", "action"]
        assert len(events(h, "agent.error")) == 1 and events(h, "agent.crash") == []
        [final] = events(h, "card.final")
        assert final.fields["notice"] is True
        assert violations(h) == []


class Broken:
    """An agent with a plain bug (not an AgentError)."""

    name = "broken"

    async def answer(self, question: str, **_: object) -> str:
        raise KeyError("oops")


@pytest.mark.fakeding_virtual
async def test_an_agent_bug_also_ends_in_a_final_card_with_the_error_notice() -> None:
    async with open_harness(agent=Broken()) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        data = only_card(h).current
        assert is_final(data) and markdown(data, "notice") == AGENT_ERROR
        assert len(events(h, "agent.crash")) == 1
        assert h.robot_task is not None and not h.robot_task.done()


@pytest.mark.fakeding_virtual
async def test_an_agent_hanging_past_agent_timeout_gets_a_final_card_at_the_timeout() -> None:
    agent = ScriptedAgent([{"chunks": ["Partial "], "delay": 1.0, "hang": True}])

    async with open_harness(agent=agent, robot={"agent_timeout": 30}) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        [timeout] = events(h, "agent.timeout")
        assert 30.0 <= timeout.t < 30.5
        [final] = events(h, "card.final")
        assert 30.0 <= final.t < 31.0
        data = only_card(h).current
        assert is_final(data)
        assert markdown(data, "answer") == "Partial "
        assert markdown(data, "notice") == agent_timeout_notice("30")
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_when_the_thinking_card_cannot_be_sent_the_answer_comes_by_webhook() -> None:
    agent = ScriptedAgent([{"chunks": ["Settings → Data → Export."]}])

    async with open_harness(agent=agent) as h:
        h.fake.fault({"kind": "api", "route": SEND_ROUTE, "status": 500, "code": "unknownError", "count": 20})
        h.fake.send_message(QUESTION, conversation_id="cidG", staff_id="alice")
        await h.settle()
        assert len(events(h, "card.thinking.failed")) == 1
        assert api_calls(h, UPDATE_ROUTE) == [], "no update of a card that does not exist"
        [text] = webhook_texts(h, "cidG")
        assert "Settings → Data → Export." in text
        assert len(events(h, "reply.fallback")) == 1
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_an_answer_too_long_for_the_card_continues_as_a_message() -> None:
    paragraphs = [f"Paragraph {n}: " + "word " * 15 for n in range(1, 5)]
    answer = "\n\n".join(p.strip() for p in paragraphs)
    agent = ScriptedAgent([{"chunks": [answer]}])

    async with open_harness(agent=agent, robot={"max_card_chars": 200}) as h:
        h.fake.send_message(QUESTION, conversation_id="cidG", staff_id="alice")
        await h.settle()
        data = only_card(h).current
        shown = str(markdown(data, "answer"))
        assert is_final(data) and 0 < len(shown) <= 200
        assert markdown(data, "notice") is not None
        rest = webhook_texts(h, "cidG")
        assert rest, "the rest of the answer follows by webhook"
        joined = " ".join([shown, *rest]).split()
        assert joined == answer.split(), "nothing of the answer is lost or repeated"


@pytest.mark.fakeding_virtual
async def test_a_token_expiring_before_the_final_update_is_refreshed_and_the_card_ends_final() -> None:
    agent = ScriptedAgent([{"chunks": ["Settings → Data → Export."], "delay": 5.0}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.sleep_until(2.0)
        h.fake.fault({"kind": "expire_token"})
        await h.settle()
        rejected, *accepted = api_calls(h, UPDATE_ROUTE)
        assert rejected.fields["status"] == 400
        assert rejected.fields["response"]["code"] == "InvalidAuthentication"
        # the streaming update is retried once with the new token, then the final update
        assert [r.fields["status"] for r in accepted] == [200, 200]
        [refresh] = events(h, "token.refresh")
        assert refresh.fields["route"] == UPDATE_ROUTE
        assert is_final(only_card(h).current)
        assert events(h, "card.final.failed") == [] and violations(h) == []


@pytest.mark.fakeding_virtual
async def test_an_empty_answer_ends_in_a_final_card_that_says_so() -> None:
    agent = ScriptedAgent([{"chunks": ["  "]}])

    async with open_harness(agent=agent) as h:
        h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        data = only_card(h).current
        assert is_final(data)
        assert markdown(data, "notice") == (
            "⚠️ Sorry, the assistant returned an empty answer. Please rephrase your question or try again."
        )
        assert markdown(data, "thinking") is None, "the card no longer says it is thinking"
