"""Builds the robot's DingTalk "StandardCard" card data, and reads feedback clicks back.

Each builder returns a plain dict shaped like the official SDK's StandardCard samples; the
caller ``json.dumps`` it into ``cardData``. The card's life: a thinking card, streaming
updates of the answer, then a final card with four feedback buttons. ``render_text`` shows
a card the way a person reads it, for tests and snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.i18n import text

RATINGS = ("very_helpful", "helpful", "somewhat_helpful", "not_helpful")
FEEDBACK_ACTION = "feedback"
MAX_MSG_ID = 256

Card = dict[str, Any]


def title_for(question: str, limit: int = 60) -> str:
    """The question on one line, at most ``limit`` characters (cut ends with "…")."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1 character, found {limit}")
    line = " ".join(question.split())
    if len(line) <= limit:
        return line
    return line[: limit - 1].rstrip() + "…"


def _card(question: str, locale: str, contents: list[dict[str, Any]]) -> Card:
    title = title_for(question) or text(locale, "untitled")
    return {
        "config": {"autoLayout": True, "enableForward": True},
        "header": {"title": {"type": "text", "text": title}},
        "contents": contents,
    }


def _markdown(element_id: str, body: str) -> dict[str, Any]:
    return {"type": "markdown", "text": body, "id": element_id}


def _feedback_row(msg_id: str, locale: str) -> dict[str, Any]:
    buttons = [
        {
            "type": "button",
            "label": {
                "type": "text",
                "text": text(locale, rating),
                "id": f"feedback_{rating}_label",
            },
            "actionType": "request",
            "status": "normal",
            "id": f"feedback_{rating}",
            "value": {"action": FEEDBACK_ACTION, "rating": rating, "msgId": msg_id},
        }
        for rating in RATINGS
    ]
    return {"type": "action", "id": "feedback", "actions": buttons}


def thinking_card(question: str, locale: str) -> Card:
    """The card sent as soon as a question arrives, before any answer text."""
    return _card(question, locale, [_markdown("thinking", text(locale, "thinking"))])


def streaming_card(question: str, answer_so_far: str, locale: str) -> Card:
    """The card while the answer streams in (thinking text until the first words arrive)."""
    body = answer_so_far if answer_so_far.strip() else text(locale, "thinking")
    return _card(question, locale, [_markdown("answer", body)])


def final_card(
    question: str,
    answer: str,
    msg_id: str,
    locale: str,
    *,
    notice: str | None = None,
    vote: str | None = None,
    tally: Mapping[str, int] | None = None,
) -> Card:
    """The finished card: answer, optional notice, divider, optional vote line, 4 buttons.

    The answer block is left out only when it is blank and a notice explains why. The
    buttons stay after a vote so the user can change it. ``vote`` ("You rated") suits a 1:1
    chat; in a group everyone sees the same card, so ``tally`` shows the counts instead.
    """
    if vote is not None and vote not in RATINGS:
        raise ValueError(f"vote must be one of {', '.join(RATINGS)}, found {vote!r}")
    unknown = sorted(set(tally or {}) - set(RATINGS))
    if unknown:
        raise ValueError(f"tally ratings must be among {', '.join(RATINGS)}, found {unknown}")
    contents: list[dict[str, Any]] = []
    if answer.strip() or not notice:
        contents.append(_markdown("answer", answer))
    if notice:
        contents.append(_markdown("notice", notice))
    contents.append({"type": "divider", "id": "divider"})
    if tally:
        counts = " · ".join(f"{text(locale, r)} {tally[r]}" for r in RATINGS if tally.get(r))
        contents.append(_markdown("vote", text(locale, "tally", counts=counts)))
    elif vote is not None:
        contents.append(_markdown("vote", text(locale, "voted", label=text(locale, vote))))
    contents.append(_feedback_row(msg_id, locale))
    return _card(question, locale, contents)


def fit_answer(answer: str, limit: int) -> tuple[str, str]:
    """Split ``answer`` so the shown part has at most ``limit`` characters.

    Cuts at the last paragraph break, else line break, in the second half of the allowed
    text, else at the last space, else exactly at ``limit``. Whitespace at the cut is
    dropped; an answer that fits comes back whole with an empty rest.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1 character, found {limit}")
    if len(answer) <= limit:
        return answer, ""
    cut = -1
    for separator, floor in (("\n\n", limit // 2), ("\n", limit // 2), (" ", 1)):
        found = answer.rfind(separator, 0, limit + len(separator))
        if found >= max(floor, 1):
            cut = found
            break
    if cut < 0:
        return answer[:limit], answer[limit:]
    return answer[:cut].rstrip(), answer[cut:].lstrip()


def feedback_from_params(params: object) -> tuple[str, str] | None:
    """``(rating, msgId)`` from a feedback button's click params, or None if it is not one."""
    if not isinstance(params, Mapping) or params.get("action") != FEEDBACK_ACTION:
        return None
    rating = params.get("rating")
    msg_id = params.get("msgId")
    if rating not in RATINGS or not isinstance(rating, str):
        return None
    if not isinstance(msg_id, str) or not msg_id or len(msg_id) > MAX_MSG_ID:
        return None
    return rating, msg_id


def _label(button: Mapping[str, Any]) -> str:
    label = button.get("label")
    if isinstance(label, Mapping):
        return str(label.get("text", ""))
    return str(label or "")


def render_text(card: Mapping[str, Any]) -> str:
    """The card as a person reads it: title, markdown blocks, ``---``, ``[ button ]`` rows."""
    lines: list[str] = []
    header = card.get("header")
    title = header.get("title") if isinstance(header, Mapping) else None
    if isinstance(title, Mapping):
        lines.append(str(title.get("text", "")))
    for element in card.get("contents") or []:
        if not isinstance(element, Mapping):
            lines.append(f"<{type(element).__name__}>")
            continue
        kind = element.get("type")
        if kind == "markdown":
            lines.append(str(element.get("text", "")))
        elif kind == "divider":
            lines.append("---")
        elif kind == "action":
            lines.append(" ".join(f"[ {_label(b)} ]" for b in element.get("actions", [])))
        else:
            lines.append(f"<{kind}>")
    return "\n".join(lines)
