"""Which message a card answers (``generic.answers``) when a message was pushed again: a robot
that deduplicates the redelivery answers it once, and the next question's card is that
question's; a robot that answers the redelivery too is charged with a doubled answer. Pure:
hand-made records in the order the fake writes them."""

from __future__ import annotations

from typing import Any

from fakeding.core.recorder import Record
from fakeding.testing.scenarios.generic import answers


def records(*events: tuple[str, dict[str, Any]]) -> list[Record]:
    return [Record(n, float(n), kind, fields) for n, (kind, fields) in enumerate(events, 1)]


def ask(msg: str) -> tuple[str, dict[str, Any]]:
    return ("message", {"msgId": msg, "conversation": "cidG", "sender": "ann", "delivered": True})


def card(n: int) -> tuple[str, dict[str, Any]]:
    return ("card.send", {"card": f"c{n}", "conversation": "cidG"})


REDELIVER_A = ("redeliver", {"key": "A"})


def test_a_deduplicated_redelivery_leaves_the_next_card_to_the_next_question() -> None:
    # A's ack came late: A is pushed again, the robot answers A once, then B: one each.
    # (The old attribution queued A again, gave B's card to A, and called A doubled and B lost.)
    assert answers(records(ask("A"), REDELIVER_A, card(1), ask("B"), card(2))) == {"A": 1, "B": 1}
    assert answers(records(ask("A"), card(1), REDELIVER_A, ask("B"), card(2))) == {"A": 1, "B": 1}


def test_a_redelivery_answered_twice_is_a_doubled_answer() -> None:
    assert answers(records(ask("A"), card(1), REDELIVER_A, card(2))) == {"A": 2}
    assert answers(records(ask("A"), card(1), REDELIVER_A, ask("B"), card(2), card(3))) == {"A": 2, "B": 1}
