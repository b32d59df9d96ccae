"""How this robot's records and cards read in a scenario report, and its expectations (pure).

The robot records its decisions as ``bot.<kind>`` (see ``session.observer``); its cards are
StandardCards whose element ids say the stage: ``thinking``, then ``answer`` while streaming,
then ``feedback`` buttons once final (``notice`` and ``vote`` when present). In AI-card mode
(``cardMode: "ai"``) a card is an instance whose ``flowStatus`` and ``content`` say the stage
(variables in ``bot.core.ai_cards``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fakeding.core.render import element_ids, markdown_chars
from fakeding.testing.scenarios.robots import Foldable

if TYPE_CHECKING:
    from fakeding.core.cards import Card
    from fakeding.core.recorder import Record
    from fakeding.testing.scenarios.robots import RunFacts

PREFIX = "bot."
SUMMARY_KINDS = {
    "bot.card.final": "card.final",
    "bot.card.stream.skipped": "card.stream.skipped",
    "bot.api.retry": "api.retry",
}
_COUNT = {"type": "integer", "minimum": 0}
EXPECTATION_SCHEMA: dict[str, dict[str, Any]] = {
    "platform_errors_to_users": _COUNT,
    "answers_per_message": _COUNT,
    "unfinished_cards": _COUNT,
    "feedback": _COUNT,
}
PLATFORM_ERRORS = ("bot.card.final.failed", "bot.reply.lost", "bot.card.thinking.failed")
Refs = Callable[[str, Any], str]


_AI_STATES = {"1": "streaming", "2": "streaming", "3": "final", "4": "streaming", "5": "failed"}


def is_final(card: Card) -> bool:
    """Final once the feedback buttons are on the card; an AI card once closed (finished or
    failed: either way it is no longer streaming)."""
    if card.kind == "instance":
        return card.finalized or card.failed
    contents = card.current.get("contents") if isinstance(card.current, dict) else None
    return any(isinstance(c, dict) and c.get("id") == "feedback" for c in contents or [])


def card_state(data: Any) -> str:
    if isinstance(data, dict) and "flowStatus" in data and "contents" not in data:
        return _ai_card_state(data)
    ids = element_ids(data)
    if "thinking" in ids:
        return "thinking"
    chars = markdown_chars(data, "answer")
    parts = ["final" if "feedback" in ids else "streaming", f"answer={chars} chars"]
    if "notice" in ids:
        parts.append("notice")
    if "vote" in ids:
        parts.append("vote")
    return " ".join(parts)


def _ai_card_state(data: dict[str, Any]) -> str:
    status = str(data.get("flowStatus"))
    chars = len(str(data.get("content") or ""))
    if status == "1" and not chars:
        return "thinking"
    parts = [_AI_STATES.get(status, f"flowStatus={status}"), f"content={chars} chars"]
    if data.get("tally"):
        parts.append("tally")
    return " ".join(parts)


def describe(record: Record, refs: Refs) -> str | None:
    """Throttle holds fold into one line per run; routine steps (connected, thinking card,
    final card: the platform's card records show them) are hidden."""
    f = record.fields
    kind = record.kind.removeprefix(PREFIX)
    msg = refs("msg", f["msg"]) if "msg" in f else ""
    if kind == "throttle":
        if not f.get("update"):
            what = "wait" if f.get("reason") == "wait" else "no update (cap of updates reached)"
            return Foldable(f"throttle {msg} {what}")
        return f"throttle {msg} {f['reason']} → update ({f['chars']} chars)"
    if kind == "message":
        return f"robot got {msg} → {f['plan']}"
    if kind in ("stream.connected", "card.thinking", "card.final", "card.closed"):
        return None
    fields = " ".join(f"{a}={_short(b, refs)}" for a, b in sorted(f.items()) if a != "msg")
    return f"robot {kind} {msg} {fields}".replace("  ", " ").rstrip()


def _short(value: Any, refs: Refs) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return refs("card", value)
    return str(value)


def expectations(result: RunFacts) -> dict[str, int]:
    bot = [rec for rec in result.records if rec.kind.startswith(PREFIX)]
    thinking: dict[str, int] = defaultdict(int)
    for rec in bot:
        if rec.kind == "bot.card.thinking":
            thinking[rec.fields["msg"]] += 1
    return {
        "platform_errors_to_users": sum(1 for rec in bot if rec.kind in PLATFORM_ERRORS),
        "answers_per_message": max(thinking.values(), default=0),
        "unfinished_cards": sum(1 for c in result.cards if not is_final(c)),
        "feedback": sum(1 for rec in bot if rec.kind == "bot.feedback"),
    }
