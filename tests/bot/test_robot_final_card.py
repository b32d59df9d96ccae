"""The final card: question, answer, divider and four feedback request buttons."""

from __future__ import annotations

from typing import Any

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import open_harness
from tests.bot.robot_kit import LABELS, RATINGS, events, only_card, violations

QUESTION = "Can I get a refund?"
ANSWER = "Yes, within **14 days** on yearly plans.\n\nWrite to billing@acme.example."


def ids_of(value: Any) -> list[str]:
    """Every ``id`` in a card's element tree."""
    found: list[str] = []
    if isinstance(value, dict):
        if isinstance(value.get("id"), str):
            found.append(value["id"])
        for child in value.values():
            found += ids_of(child)
    elif isinstance(value, list):
        for child in value:
            found += ids_of(child)
    return found


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.fakeding_virtual
async def test_final_card_has_answer_divider_and_four_feedback_buttons(locale: str) -> None:
    agent = ScriptedAgent(
        [{"chunks": ["Yes, within **14 days** on yearly plans.\n\n", "Write to billing@acme.example."]}]
    )

    async with open_harness(agent=agent, robot={"locale": locale}) as h:
        sent = h.fake.send_message(QUESTION, staff_id="alice")
        await h.settle()
        card = only_card(h)
        data = card.current
        assert data["header"]["title"]["text"] == QUESTION
        answer, divider, action = data["contents"]
        assert answer == {"type": "markdown", "text": ANSWER, "id": "answer"}
        assert divider["type"] == "divider"
        assert action["type"] == "action"
        buttons = action["actions"]
        assert [b["label"]["text"] for b in buttons] == LABELS[locale]
        assert [b["actionType"] for b in buttons] == ["request"] * 4
        assert [b["value"] for b in buttons] == [
            {"action": "feedback", "rating": rating, "msgId": sent.msg_id} for rating in RATINGS
        ]
        ids = ids_of(data["contents"])
        assert len(ids) == len(set(ids)), f"element ids repeat: {ids}"
        # The platform sees four clickable request buttons on the card.
        assert [b.label for b in card.buttons()] == LABELS[locale]
        [final] = events(h, "card.final")
        assert final.fields["notice"] is False
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_every_card_gets_its_own_message_id_in_the_buttons() -> None:
    agent = ScriptedAgent([{"chunks": ["A."]}, {"chunks": ["B."]}])

    async with open_harness(agent=agent) as h:
        first = h.fake.send_message("First?", conversation_id="cidA", staff_id="alice")
        second = h.fake.send_message("Second?", conversation_id="cidB", staff_id="bob")
        await h.settle()
        by_conversation = {c.conversation_id: c for c in h.fake.platform.cards.all()}
        for cid, sent in (("cidA", first), ("cidB", second)):
            buttons = by_conversation[cid].current["contents"][-1]["actions"]
            assert {b["value"]["msgId"] for b in buttons} == {sent.msg_id}
