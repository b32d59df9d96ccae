"""Oracles that hold for any robot, from what users saw: no cross-talk (串台).

A robot that keeps "the latest message" on a shared handler answers one user's question in
another user's chat: the asker's conversation stays silent while another gets two answers, or
an answer lands where nobody asked, or a card is addressed to someone who did not ask. None of
that needs to know the robot's words; it needs only who asked where and what arrived where.
Pure: it reads the platform's transcript, records and cards.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fakeding.core.cards.model import Card
from fakeding.core.record_kinds import RecordKind
from fakeding.core.recorder import Record


@dataclass(frozen=True)
class CrossTalk:
    """One way answers crossed, with the messages and conversations involved."""

    kind: str  # "starved-and-flooded" | "answer-where-nobody-asked" | "addressed-to-a-stranger"
    message: str
    messages: tuple[str, ...] = field(default=())  # msgIds involved
    conversations: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "messages": list(self.messages),
            "conversations": list(self.conversations),
        }


def cross_talk(
    records: Iterable[Record], transcript: Iterable[Any], cards: Iterable[Card] = ()
) -> list[CrossTalk]:
    """Every sign of answers delivered to the wrong conversation or the wrong person.

    ``transcript`` entries have ``conversation_id``, ``who`` ("user:<id>" or "bot"), ``t`` and
    ``ref`` (a user message's msgId); ``records`` give which user messages were delivered.
    """
    delivered = {
        str(r.fields.get("msgId")): r
        for r in records
        if r.kind == RecordKind.MESSAGE and r.fields.get("delivered")
    }
    asked: dict[str, list[str]] = defaultdict(list)  # conversation -> delivered msgIds
    askers: dict[str, set[str]] = defaultdict(set)  # conversation -> staff ids who asked
    answers: dict[str, int] = defaultdict(int)
    for entry in transcript:
        conv = str(entry.conversation_id)
        if entry.who.startswith("user:") and entry.ref in delivered:
            asked[conv].append(str(entry.ref))
            askers[conv].add(entry.who.removeprefix("user:"))
        elif entry.who == "bot" and not str(entry.kind).startswith("custom:"):
            answers[conv] += 1
    found: list[CrossTalk] = []
    nowhere = sorted(c for c, n in answers.items() if n and not asked.get(c))
    if nowhere and asked:
        found.append(
            CrossTalk(
                "answer-where-nobody-asked",
                f"answers arrived in {nowhere} where nobody asked the robot anything, while "
                f"questions were asked in {sorted(asked)}: an answer went to the wrong chat",
                conversations=tuple(nowhere),
            )
        )
    per_question = _answers_per_question(asked, answers)
    starved = sorted(c for c, ids in asked.items() if not answers.get(c))
    flooded = sorted(
        c for c, ids in asked.items() if per_question and answers.get(c, 0) > per_question * len(ids)
    )
    if starved and flooded:
        lost = tuple(m for c in starved for m in asked[c])
        counts = ", ".join(f"{c}: {answers[c]} for {len(asked[c])}" for c in flooded)
        found.append(
            CrossTalk(
                "starved-and-flooded",
                f"{len(lost)} question(s) in {starved} got no answer while {flooded} got more "
                f"answers than questions ({counts}; {per_question} per question is this robot's "
                "norm): answers crossed between conversations (a handler keeping the latest "
                "message?)",
                messages=lost,
                conversations=tuple(starved + flooded),
            )
        )
    found += _strangers(cards, askers)
    return found


def _answers_per_question(asked: dict[str, list[str]], answers: dict[str, int]) -> int:
    """The robot's answers per question overall, rounded (a robot may send two: a text and a
    card). Answers that crossed keep the total, so a conversation left with none beside one
    with extra is crossing; answers that were merely lost lower the total below one per
    question, which is 0 here: then nothing is called crossed."""
    questions = sum(len(ids) for ids in asked.values())
    total = sum(answers.get(c, 0) for c in asked)
    return round(total / questions) if questions else 0


def _strangers(cards: Iterable[Card], askers: dict[str, set[str]]) -> Sequence[CrossTalk]:
    out = []
    for card in cards:
        conv = card.conversation_id
        if conv is None or conv not in askers:
            continue
        strangers = sorted(set(card.at_users) - askers[conv] - {"@ALL"})
        if strangers:
            out.append(
                CrossTalk(
                    "addressed-to-a-stranger",
                    f"card {card.id} in {conv} @-mentions {strangers}, who asked nothing there "
                    f"(the askers were {sorted(askers[conv])})",
                    conversations=(conv,),
                )
            )
    return out
