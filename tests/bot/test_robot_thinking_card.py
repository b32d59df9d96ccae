"""The thinking card: sent at once, titled with the question, @mentioning the asker."""

from __future__ import annotations

import json

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import open_harness
from fakeding.core.settings import DEFAULT_CLIENT_ID
from tests.bot.robot_kit import (
    SEND_ROUTE,
    THINKING,
    api_calls,
    api_request,
    card_data_of,
    only_card,
    violations,
)

QUESTION = "How do I reset my password?"


def slow_agent() -> ScriptedAgent:
    return ScriptedAgent([{"chunks": ["Use the sign-in page."], "delay": 30.0}])


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.fakeding_virtual
async def test_thinking_card_is_a_standard_card_titled_with_the_question(locale: str) -> None:
    async with open_harness(agent=slow_agent(), robot={"locale": locale}) as h:
        h.fake.send_message(
            QUESTION, conversation_id="cidSupport", title="Support", staff_id="alice", nick="Alice"
        )
        await h.sleep_until(1.0)
        card = only_card(h)
        assert [v.source for v in card.versions] == ["send"], "still thinking at t=1"
        data = card.current
        assert data["header"]["title"] == {"type": "text", "text": QUESTION}
        assert data["contents"] == [{"type": "markdown", "text": THINKING[locale], "id": "thinking"}]
        [call] = api_calls(h, SEND_ROUTE, status=200)
        assert call.t == 0.0
        request = api_request(call)
        assert request["cardTemplateId"] == "StandardCard"
        assert request["robotCode"] == DEFAULT_CLIENT_ID
        assert card_data_of(request) == data
        await h.settle()
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_group_thinking_card_goes_to_the_conversation_and_mentions_the_sender() -> None:
    async with open_harness(agent=slow_agent()) as h:
        h.fake.send_message(
            QUESTION, conversation_id="cidSupport", title="Support", staff_id="alice", nick="Alice"
        )
        await h.sleep_until(1.0)
        request = api_request(api_calls(h, SEND_ROUTE, status=200)[0])
        assert request["openConversationId"] == "cidSupport"
        assert "singleChatReceiver" not in request
        mentioned = json.loads(request["sendOptions"]["atUserListJson"])
        assert mentioned == [{"nickName": "Alice", "userId": "alice"}]
        card = only_card(h)
        assert card.conversation_id == "cidSupport" and card.single_user is None
        assert card.at_users == ["alice"]
        [entry] = [e for e in h.fake.transcript("cidSupport") if e["who"] == "bot"]
        assert entry["kind"] == "card" and entry["text"] == QUESTION
        await h.settle()


@pytest.mark.fakeding_virtual
async def test_one_to_one_thinking_card_goes_to_the_single_chat_receiver() -> None:
    async with open_harness(agent=slow_agent()) as h:
        h.fake.send_message(
            QUESTION, conversation_id="cidBob", conversation_type="single", staff_id="bob", nick="Bob"
        )
        await h.sleep_until(1.0)
        request = api_request(api_calls(h, SEND_ROUTE, status=200)[0])
        assert "openConversationId" not in request
        assert json.loads(request["singleChatReceiver"]) == {"userId": "bob"}
        card = only_card(h)
        assert card.single_user == "bob" and card.conversation_id is None
        assert card.current["header"]["title"]["text"] == QUESTION
        await h.settle()
        assert violations(h) == []
