"""An agent that answers from a markdown FAQ, so the robot works with no LLM at all.

The FAQ file is plain markdown: every ``## Question`` heading starts an entry and the text
up to the next ``##`` heading is its answer (text before the first heading is ignored, and
headings inside fenced code blocks are not entries). Entries are ranked against the
question with BM25 (``bm25s``): words are lowercased with plurals folded, Chinese is indexed
as single characters plus character pairs, and common function words are ignored.

History: when a question is very short (at most ``FOLLOW_UP_TERMS`` content terms, e.g.
"and for teams?"), the previous user question's terms are added to it at a third of the
weight, so a follow-up keeps its context. Longer questions are ranked on their own.

The best entry's answer is streamed in chunks of ``words_per_chunk`` words (a Chinese
character counts as a word), whitespace kept, so the chunks join to the answer exactly.
A good match shares at least one word (or CJK character pair) with the question and has a
relevance (BM25 score over the question's total idf, see ``FaqAgent._rank``) of at least
``min_score``. Without one the agent answers the ``no_match`` text with up to 3 suggested
questions. Everything is deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s

from bot.agents.base import OnChunk, Turn, chunk
from bot.core.i18n import LOCALES, text
from bot.errors import ConfigError

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

FOLLOW_UP_TERMS = 2
MIN_RELEVANCE = 0.25  # see FaqAgent._rank; unrelated questions score about 0.2 or less
SUGGESTIONS = 3

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_IS_CJK = re.compile(f"[{_CJK}]")
_RUNS = re.compile(rf"[{_CJK}]+|[^\W{_CJK}_]+")
_PIECE = re.compile(rf"\s*(?:[{_CJK}]|[^\s{_CJK}]+)\s*")
_HEADING = re.compile(r"^##(?!#)\s+(.*?)(?:\s+#+)?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")

# English function words that say nothing about the topic of a question.
_STOP_TEXT = """
    a about am an and any are as at be been but by can could did do does for from get had
    has have hello hi how i if in is it its just know like me my need no not of on or our
    please should so some tell thank thanks that the there these this those to us want was
    we were what when where which who why will with would yes you your
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())
_STOP_CJK = frozenset("的了吗呢吧啊呀我你您是在和与请如何怎么样什可以能要想一下个有")


@dataclass(frozen=True)
class FaqEntry:
    """One question of the FAQ with its answer and the line its heading is on."""

    question: str
    answer: str
    line: int


def _fold(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text_: str) -> list[str]:
    """Search terms of a text: folded words, and CJK characters and character pairs."""
    terms: list[str] = []
    for run in _RUNS.findall(text_.lower()):
        if _IS_CJK.match(run):
            terms.extend(ch for ch in run if ch not in _STOP_CJK)
            terms.extend(
                a + b for a, b in zip(run, run[1:], strict=False) if a not in _STOP_CJK and b not in _STOP_CJK
            )
        elif run not in _STOP_WORDS:
            terms.append(_fold(run))
    return terms


def _idf(documents: int, frequency: int) -> float:
    """Inverse document frequency as bm25s's default (Lucene) scoring computes it."""
    return math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))


def _strong(term: str) -> bool:
    """Whether a term can make a match on its own: any word, but not a lone CJK character
    (lone characters like 天 are shared by unrelated Chinese sentences; they only help rank)."""
    return not (len(term) == 1 and _IS_CJK.match(term))


def content_terms(text_: str) -> int:
    """How many content words (or CJK characters) a text has; pairs are not counted."""
    return sum(1 for term in tokenize(text_) if not (_IS_CJK.match(term) and len(term) > 1))


def pieces(answer: str, words_per_chunk: int) -> list[str]:
    """The answer cut into chunks of ``words_per_chunk`` words; they join to ``answer``."""
    words = _PIECE.findall(answer)
    if "".join(words) != answer:  # only an all-whitespace answer has no words
        return [answer] if answer else []
    return ["".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]


def unwrap(markdown: str) -> str:
    """Join hard-wrapped lines of a paragraph, as a markdown renderer would: DingTalk cards
    render a single newline as a line break, which would cut sentences in the middle. Blank
    lines, list items, headings, quotes, tables and code blocks keep their line breaks."""
    out: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
            continue
        starts_block = in_fence or not line.strip() or re.match(r"\s*([-*+>|#]|\d+[.)])\s", line)
        previous = out[-1] if out else ""
        joinable = previous.strip() and not _FENCE.match(previous) and not re.match(r"\s*(#|\|)", previous)
        if out and not starts_block and joinable and not in_fence:
            out[-1] = previous.rstrip() + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def parse_faq(path: Path) -> list[FaqEntry]:
    """The entries of a markdown FAQ file; ConfigError says what is wrong and where."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"FAQ file {path} does not exist: expected a markdown file with '## Question' "
            "headings; create it or point the agent's 'faq' setting at an existing file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"could not read FAQ file {path} as UTF-8 text ({type(exc).__name__}: {exc}); "
            "fix the file or its permissions"
        ) from None
    entries: list[FaqEntry] = []
    current: tuple[str, int] | None = None
    body: list[str] = []
    in_fence = False

    def close() -> None:
        if current is None:
            return
        question, line = current
        answer = unwrap("\n".join(body)).strip()
        if not answer:
            raise ConfigError(
                f"FAQ entry {question!r} at line {line} of {path} has no answer: expected "
                "answer text below the heading; write one or remove the heading"
            )
        entries.append(FaqEntry(question, answer, line))

    for number, line in enumerate(source.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading is None:
            body.append(line)
            continue
        close()
        question = heading.group(1).strip()
        if not question:
            raise ConfigError(
                f"empty '##' heading at line {number} of {path}: expected the question text after '## '"
            )
        current, body = (question, number), []
    close()
    if not entries:
        raise ConfigError(
            f"FAQ file {path} has no entries: expected '## Question' headings each followed by its answer"
        )
    return entries


class FaqAgent:
    """Answers with the best-matching entry of a markdown FAQ (see the module docstring)."""

    name = "faq"

    def __init__(
        self,
        faq_path: Path,
        *,
        locale: str = "en",
        words_per_chunk: int = 4,
        delay: float = 0.0,
        min_score: float = MIN_RELEVANCE,
    ) -> None:
        if locale not in LOCALES:
            raise ValueError(f"locale must be one of {', '.join(LOCALES)}, found {locale!r}")
        if words_per_chunk < 1:
            raise ValueError(f"words_per_chunk must be >= 1, found {words_per_chunk}")
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, found {delay}")
        if min_score < 0:
            raise ValueError(f"min_score must be >= 0, found {min_score}")
        self.path = Path(faq_path)
        self.locale = locale
        self.words_per_chunk = words_per_chunk
        self.delay = delay
        self.min_score = min_score
        self.entries: tuple[FaqEntry, ...] = tuple(parse_faq(self.path))
        documents = [tokenize(e.question) * 2 + tokenize(e.answer) for e in self.entries]
        self._strong = [{t for t in document if _strong(t)} for document in documents]
        frequency = Counter(term for document in documents for term in set(document))
        self._idf = {term: _idf(len(documents), df) for term, df in frequency.items()}
        self._unseen_idf = _idf(len(documents), 0)
        self._index = bm25s.BM25()
        self._index.index(documents, show_progress=False)

    def _query(self, question: str, history: Sequence[Turn]) -> list[str]:
        terms = tokenize(question)
        if content_terms(question) <= FOLLOW_UP_TERMS:
            previous = next((t.content for t in reversed(history) if t.role == "user"), None)
            if previous is not None and previous.strip() != question.strip():
                # Tripling the new terms gives the earlier question a third of their weight.
                terms = terms * 3 + tokenize(previous)
        return terms

    def _rank(self, query: list[str]) -> list[tuple[int, float]]:
        """``(entry index, relevance)`` of entries sharing terms with the query, best first.

        Relevance is the BM25 score divided by the summed idf of all query terms (terms the
        FAQ never uses count as the rarest), so it does not grow with the FAQ's size: about
        1 when every term of the question is in an entry's question, less when only some
        (or only common) terms match.
        """
        known = [term for term in query if term in self._idf]
        if not known:
            return []
        weight = sum(self._idf.get(term, self._unseen_idf) for term in query)
        scores = [float(s) / weight for s in self._index.get_scores(known)]
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        return [(i, scores[i]) for i in order if scores[i] > 0]

    def ranked(self, question: str, history: Sequence[Turn] = ()) -> list[tuple[FaqEntry, float]]:
        """Entries that share terms with the question and their relevance, best first (ties
        in file order)."""
        return [(self.entries[i], score) for i, score in self._rank(self._query(question, history))]

    def best(self, question: str, history: Sequence[Turn] = ()) -> FaqEntry | None:
        """The best entry that shares a word (or a CJK character pair) with the question
        and has relevance ``min_score`` or more; None when there is no such entry."""
        query = self._query(question, history)
        strong = {term for term in query if _strong(term)}
        for i, score in self._rank(query):
            if score < self.min_score:
                break
            if strong & self._strong[i]:
                return self.entries[i]
        return None

    def top_entries(self, question: str, k: int = 3) -> list[tuple[str, str]]:
        """Up to ``k`` ``(question, answer)`` pairs most related to the question."""
        return [(e.question, e.answer) for e, _ in self.ranked(question)[:k]]

    def suggestions(self, question: str, history: Sequence[Turn] = ()) -> list[str]:
        """Up to 3 FAQ questions to offer when nothing matches: related ones first, then
        the first questions written in the same script (Chinese or not) as the question."""
        chosen = [e.question for e, _ in self.ranked(question, history)]
        cjk = bool(_IS_CJK.search(question))
        chosen += [e.question for e in self.entries if bool(_IS_CJK.search(e.question)) == cjk]
        chosen += [e.question for e in self.entries]
        return list(dict.fromkeys(chosen))[:SUGGESTIONS]

    def reply(self, question: str, history: Sequence[Turn] = ()) -> str:
        """The full answer text for a question (no streaming)."""
        entry = self.best(question, history)
        if entry is not None:
            return entry.answer
        listed = "\n".join(f"- {q}" for q in self.suggestions(question, history))
        return text(self.locale, "no_match", suggestions=listed)

    async def answer(
        self,
        question: str,
        *,
        chat_id: str,
        history: Sequence[Turn],
        on_chunk: OnChunk,
    ) -> str:
        full = self.reply(question, history)
        for number, piece in enumerate(pieces(full, self.words_per_chunk)):
            if number and self.delay > 0:
                await asyncio.sleep(self.delay)
            await on_chunk(chunk(piece))
        return full
