"""Cards rendered from templates are byte for byte the builders' dicts serialised."""

from __future__ import annotations

import json
from itertools import product

import pytest

from bot.core import card_json, cards
from bot.core.i18n import LOCALES

TEXTS = [
    "",
    "   ",
    "plain",
    'say "hi"',
    "back\\slash",
    "line\nbreak\ttab",
    "控制\x00\x1f字符",
    "日本語と中文 ✅ 🚀",
    "\u2028\u2029",
    "@@title@@",
    '"@@msg@@"',
    "a" * 3000,
    "   What   is\n the   capital  of a country with a very long name, please tell me now?",
]


def dumps(card: cards.Card) -> str:
    return json.dumps(card, ensure_ascii=False)


@pytest.mark.parametrize("locale", LOCALES)
def test_thinking_and_streaming_cards_match_their_builders(locale: str) -> None:
    for question, so_far in product(TEXTS, TEXTS):
        assert card_json.thinking(question, locale) == dumps(cards.thinking_card(question, locale))
        assert card_json.streaming(question, so_far, locale) == dumps(
            cards.streaming_card(question, so_far, locale)
        )


@pytest.mark.parametrize("locale", LOCALES)
def test_final_cards_match_their_builder_in_every_shape(locale: str) -> None:
    notices: list[str | None] = [None, "", "the agent timed out", '"@@answer@@"']
    for question, answer, notice in product(TEXTS[:8], TEXTS, notices):
        msg_id = f'msg-{len(answer)}-"{question[:3]}"'
        assert card_json.final(question, answer, msg_id, locale, notice=notice) == dumps(
            cards.final_card(question, answer, msg_id, locale, notice=notice)
        ), (question, answer, notice)


def test_a_rendered_card_reads_back_as_the_card() -> None:
    text = card_json.final("Q?", "the answer", "m1", "en", notice="note")
    assert cards.render_text(json.loads(text)).splitlines()[:3] == ["Q?", "the answer", "note"]


@pytest.mark.parametrize("locale", LOCALES)
def test_quoted_cards_are_the_cards_written_as_json_strings(locale: str) -> None:
    """What an update's body holds: ``json.dumps`` of the card's text, from escaped pieces."""
    for question, so_far in product(TEXTS, TEXTS):
        assert card_json.streaming_quoted(question, so_far, locale).json == json.dumps(
            card_json.streaming(question, so_far, locale), ensure_ascii=False
        )
    for question, answer, notice in product(TEXTS[:8], TEXTS, [None, "", "note", '"@@msg@@"\n']):
        msg_id = f'msg-{len(answer)}-"{question[:3]}"\\'
        assert card_json.final_quoted(question, answer, msg_id, locale, notice=notice).json == json.dumps(
            card_json.final(question, answer, msg_id, locale, notice=notice), ensure_ascii=False
        ), (question, answer, notice)
