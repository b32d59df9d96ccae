"""The robot's cards as ``cardData`` JSON text, from templates made once per shape and locale.

Every message sends a thinking card, streaming updates and a final card; building each as a
dict and serialising it repeats the same work (the header, the four feedback buttons, the
localised labels) every time. Here the dict builders of ``bot.core.cards`` run once per card
shape with markers in place of the variable texts, the result is serialised once and cut at
the markers, and a card is then the fixed pieces joined with its escaped texts. The output is
byte for byte ``json.dumps(builder(...), ensure_ascii=False)``: the builders stay the one
definition of what a card holds, and the tests compare the two.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring  # the JSON string escaper json.dumps itself uses

from bot.core import cards
from bot.core.i18n import text

_MARK = re.compile(r'"@@(\w+)@@"')


def _escaped(text: str) -> str:
    """``text`` as inside a JSON string (without the quotes)."""
    return encode_basestring(text)[1:-1]


@dataclass(frozen=True, slots=True)
class Quoted:
    """A card's JSON text written as a JSON string, quotes and escapes included: ``cardData``
    as a request body holds it (``json.dumps(text)``, minus escaping the whole card again for
    every request)."""

    json: str


class Template:
    """A card's JSON text with slots: ``render(values)`` fills each slot with a JSON string."""

    def __init__(self, build: Callable[[Mapping[str, str]], cards.Card], names: tuple[str, ...]) -> None:
        text = json.dumps(build({name: f"@@{name}@@" for name in names}), ensure_ascii=False)
        parts = _MARK.split(text)
        self.pieces = parts[0::2]
        self.slots = parts[1::2]
        # JSON escapes one character at a time, so the card escaped whole is its pieces escaped
        # (once, here) joined with its escaped slot texts escaped again
        self.quoted_pieces = [_escaped(piece) for piece in self.pieces]
        unknown = set(self.slots) - set(names)
        if unknown:  # a marker the builder made up itself: a bug in this module
            raise ValueError(f"template slots must be among {names}, found {sorted(unknown)}")

    def render(self, values: Mapping[str, str]) -> str:
        out = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            out.append(encode_basestring(values[slot]))
            out.append(piece)
        return "".join(out)

    def render_quoted(self, values: Mapping[str, str]) -> Quoted:
        """``render(values)`` written as a JSON string."""
        out = ['"', self.quoted_pieces[0]]
        for slot, piece in zip(self.slots, self.quoted_pieces[1:], strict=True):
            out.append(_escaped(encode_basestring(values[slot])))
            out.append(piece)
        out.append('"')
        return Quoted("".join(out))


def _title(question: str, locale: str) -> str:
    return cards.title_for(question) or text(locale, "untitled")


@functools.lru_cache(maxsize=64)
def _thinking(locale: str) -> Template:
    return Template(lambda v: cards.thinking_card(v["title"], locale), ("title",))


@functools.lru_cache(maxsize=64)
def _streaming(locale: str) -> Template:
    return Template(lambda v: cards.streaming_card(v["title"], v["body"], locale), ("title", "body"))


@functools.lru_cache(maxsize=256)
def _final(locale: str, with_answer: bool, with_notice: bool) -> Template:
    def build(v: Mapping[str, str]) -> cards.Card:
        return cards.final_card(
            v["title"],
            v["answer"] if with_answer else "",
            v["msg"],
            locale,
            notice=v["notice"] if with_notice else None,
        )

    return Template(build, ("title", "answer", "msg", "notice"))


def thinking(question: str, locale: str) -> str:
    """``json.dumps(cards.thinking_card(question, locale))``, from its template."""
    return _thinking(locale).render({"title": _title(question, locale)})


def _streaming_values(question: str, answer_so_far: str, locale: str) -> dict[str, str]:
    body = answer_so_far if answer_so_far.strip() else text(locale, "thinking")
    return {"title": _title(question, locale), "body": body}


def streaming(question: str, answer_so_far: str, locale: str) -> str:
    """``json.dumps(cards.streaming_card(question, answer_so_far, locale))``."""
    return _streaming(locale).render(_streaming_values(question, answer_so_far, locale))


def streaming_quoted(question: str, answer_so_far: str, locale: str) -> Quoted:
    """``streaming(...)`` written as a JSON string, as an update's body holds it."""
    return _streaming(locale).render_quoted(_streaming_values(question, answer_so_far, locale))


def _final_of(
    question: str, answer: str, msg_id: str, locale: str, notice: str | None
) -> tuple[Template, dict[str, str]]:
    with_answer = bool(answer.strip()) or not notice
    values = {"title": _title(question, locale), "answer": answer, "msg": msg_id, "notice": notice or ""}
    return _final(locale, with_answer, bool(notice)), values


def final(question: str, answer: str, msg_id: str, locale: str, *, notice: str | None = None) -> str:
    """``json.dumps(cards.final_card(question, answer, msg_id, locale, notice=notice))``
    (the card before any vote; votes are rare and built as dicts)."""
    template, values = _final_of(question, answer, msg_id, locale, notice)
    return template.render(values)


def final_quoted(
    question: str, answer: str, msg_id: str, locale: str, *, notice: str | None = None
) -> Quoted:
    """``final(...)`` written as a JSON string, as an update's body holds it."""
    template, values = _final_of(question, answer, msg_id, locale, notice)
    return template.render_quoted(values)
