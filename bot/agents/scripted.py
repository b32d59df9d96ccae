"""An agent that plays a fixed script, so tests and scenarios control every chunk and delay.

Each turn is a dict::

    {"chunks": ["Hel", "lo"],   # pieces to stream, in order (default: none)
     "delay": 0.5,              # seconds to wait before each chunk (default 0), or
     "delays": [0.1, 3.0],      # one wait per chunk (not both)
     "error": "boom",           # after the chunks, raise AgentError("boom")
     "hang": True,              # after the chunks, never return (until cancelled)
     "match": "refund"}         # only answer questions containing this text (case-insensitive)

A call plays the first unused turn whose ``match`` is in the question, else the first unused
turn without ``match``. Waits use ``asyncio.sleep``, so a virtual-time loop skips them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.agents.base import OnChunk, Turn, chunk
from bot.errors import AgentError

FIELDS = ("chunks", "delay", "delays", "error", "hang", "match")


@dataclass(frozen=True)
class ScriptTurn:
    """One validated turn of a script."""

    chunks: tuple[str, ...]
    delays: tuple[float, ...]
    error: str | None
    hang: bool
    match: str | None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def parse_turn(index: int, raw: object) -> ScriptTurn:
    """Validate one turn; ValueError names the turn index and the field."""
    where = f"scripted turn {index}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a dict, found {type(raw).__name__}")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; expected only {', '.join(FIELDS)}"
        )
    chunks = raw.get("chunks", [])
    if not isinstance(chunks, list | tuple) or not all(isinstance(c, str) for c in chunks):
        raise ValueError(f"{where}: field 'chunks' must be a list of strings, found {chunks!r}")
    if "delay" in raw and "delays" in raw:
        raise ValueError(f"{where}: give field 'delay' or field 'delays', not both")
    delay = raw.get("delay", 0.0)
    if not _number(delay):
        raise ValueError(f"{where}: field 'delay' must be a number >= 0, found {delay!r}")
    delays = raw.get("delays", [delay] * len(chunks))
    if not isinstance(delays, list | tuple) or not all(_number(d) for d in delays):
        raise ValueError(f"{where}: field 'delays' must be numbers >= 0, found {delays!r}")
    if len(delays) != len(chunks):
        raise ValueError(
            f"{where}: field 'delays' needs one entry per chunk: {len(chunks)} chunk(s), "
            f"found {len(delays)} delay(s)"
        )
    error = raw.get("error")
    if error is not None and not isinstance(error, str):
        raise ValueError(f"{where}: field 'error' must be a string or None, found {error!r}")
    hang = raw.get("hang", False)
    if not isinstance(hang, bool):
        raise ValueError(f"{where}: field 'hang' must be true or false, found {hang!r}")
    if error is not None and hang:
        raise ValueError(f"{where}: fields 'error' and 'hang' exclude each other; pick one")
    match = raw.get("match")
    if match is not None and (not isinstance(match, str) or not match):
        raise ValueError(f"{where}: field 'match' must be a non-empty string, found {match!r}")
    return ScriptTurn(tuple(chunks), tuple(float(d) for d in delays), error, hang, match)


class ScriptedAgent:
    """Plays scripted turns (see the module docstring) and records how it was called."""

    name = "scripted"

    def __init__(self, turns: Sequence[dict[str, Any]]) -> None:
        if isinstance(turns, str | bytes) or not isinstance(turns, Sequence):
            raise ValueError(f"turns must be a list of dicts, found {type(turns).__name__}")
        self.turns = [parse_turn(i, raw) for i, raw in enumerate(turns)]
        self._used = [False] * len(self.turns)
        self.calls: list[tuple[str, str]] = []
        self.histories: list[list[Turn]] = []

    @property
    def remaining(self) -> int:
        """How many turns have not been played yet."""
        return self._used.count(False)

    def _pick(self, question: str) -> ScriptTurn:
        wanted = question.casefold()
        candidates = [i for i, t in enumerate(self.turns) if t.match is not None]
        candidates += [i for i, t in enumerate(self.turns) if t.match is None]
        for i in candidates:
            match = self.turns[i].match
            if not self._used[i] and (match is None or match.casefold() in wanted):
                self._used[i] = True
                return self.turns[i]
        raise AgentError(
            f"the script is exhausted: {len(self.turns)} turn(s) were scripted, "
            f"{self.remaining} unused but none matches question {question[:80]!r}; "
            "add a turn to the script"
        )

    async def answer(
        self,
        question: str,
        *,
        chat_id: str,
        history: Sequence[Turn],
        on_chunk: OnChunk,
    ) -> str:
        self.calls.append((question, chat_id))
        self.histories.append(list(history))
        turn = self._pick(question)
        for piece, delay in zip(turn.chunks, turn.delays, strict=True):
            if delay > 0:
                await asyncio.sleep(delay)
            await on_chunk(chunk(piece))
        if turn.error is not None:
            raise AgentError(turn.error)
        if turn.hang:
            await asyncio.Event().wait()
        return "".join(turn.chunks)
