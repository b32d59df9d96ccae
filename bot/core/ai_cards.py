"""Card data for AI-card mode (``cardMode: "ai"``): one card instance per answer (pure).

A DingTalk AI card is a card instance whose template binds variables; the robot only sends
values (all strings, as ``cardParamMap`` requires). Our template ``AI_CARD_TEMPLATE`` ships as
a card-platform export in ``bot/templates/`` (import it into your app's card platform and set
``aiCardTemplateId`` to the id it gets; bot/README.md, "AI-card mode") and uses:

==================== ======= ==============================================================
variable             scope   meaning
==================== ======= ==============================================================
``title``            shared  the question on one line (the card's header)
``thinking``         shared  the text shown while ``flowStatus`` is "1" (processing)
``content``          shared  markdown: the answer so far, then the final answer and any
                             notice; the streaming key (``PUT /v1.0/card/streaming``)
``flowStatus``       shared  "1" processing, "2" inputting, "3" finished, "5" failed
``msgId``            shared  the robot message answered; the buttons send it back
``feedback_<rating>`` shared the label of each of the four feedback buttons, whose ids are
                             ``feedback_<rating>`` and whose callback params are
                             ``{"action": "feedback", "rating": "<rating>",
                             "msgId": "${msgId}"}`` (shown once the card is closed)
``tally``            shared  the group's votes so far ("" until someone votes in a group)
``vote``             private "You rated ..." for the user who clicked (per-user data)
==================== ======= ==============================================================

The answer streams into ``content`` with full text each time; the last streaming call closes
the card (``isFinalize`` → "3", or ``isError`` → "5" for agent errors, timeouts and
interruptions), so a card is closed exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.cards import RATINGS, feedback_from_params, fit_answer, title_for
from bot.core.i18n import text

AI_CARD_TEMPLATE = "fakeding.ai-answer.v1.schema"
CONTENT_KEY = "content"
FLOW_PROCESSING, FLOW_INPUTTING, FLOW_FINISHED, FLOW_FAILED = "1", "2", "3", "5"
MAX_CONTENT_BYTES = 3000  # DingTalk recommends at most 3 KB of streamed content in all
FAILURE_NOTICES = ("agent_error", "agent_timeout", "interrupted")

Params = dict[str, str]


def thinking_params(question: str, msg_id: str, locale: str) -> Params:
    """The card as created: processing, no answer yet, button labels and the message id."""
    params = {
        "title": title_for(question) or text(locale, "untitled"),
        "thinking": text(locale, "thinking"),
        CONTENT_KEY: "",
        "flowStatus": FLOW_PROCESSING,
        "msgId": msg_id,
        "tally": "",
    }
    params.update({f"feedback_{rating}": text(locale, rating) for rating in RATINGS})
    return params


def final_content(answer: str, notice: str | None) -> str:
    """The closing ``content``: the answer, then the notice (either may be missing)."""
    return "\n\n".join(part for part in (answer.rstrip(), notice or "") if part.strip())


def fit_bytes(answer: str, max_chars: int, max_bytes: int = MAX_CONTENT_BYTES) -> tuple[str, str]:
    """``fit_answer`` that also keeps the shown part within ``max_bytes`` of UTF-8."""
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be >= 1, found {max_bytes}")
    limit = max(1, min(max_chars, max_bytes))
    shown, rest = fit_answer(answer, limit)
    while len(shown.encode()) > max_bytes:
        size = len(shown.encode())
        limit = max(1, min(limit - 1, limit * max_bytes // size))
        shown, rest = fit_answer(answer, limit)
    return shown, rest


def is_failure(notice: str | None, locale: str) -> bool:
    """Whether a kept notice says the answer failed (error, timeout, interruption)."""
    if not notice:
        return False
    starts = (text(locale, key, seconds="\0").split("\0")[0] for key in FAILURE_NOTICES)
    return any(notice.startswith(start) for start in starts)


def tally_params(tally: Mapping[str, int], locale: str) -> Params:
    """The group's shared count of votes."""
    counts = " · ".join(f"{text(locale, r)} {tally[r]}" for r in RATINGS if tally.get(r))
    return {"tally": text(locale, "tally", counts=counts) if counts else ""}


def vote_response(rating: str, locale: str) -> dict[str, object]:
    """The card-callback answer that shows "You rated ..." to the clicking user only."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {', '.join(RATINGS)}, found {rating!r}")
    return {
        "userPrivateData": {"cardParamMap": {"vote": text(locale, "voted", label=text(locale, rating))}},
        "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
    }


def click_params(rating: str, msg_id: str) -> dict[str, str]:
    """The callback params the template's feedback buttons send."""
    return {"action": "feedback", "rating": rating, "msgId": msg_id}


def feedback_of(private: object) -> tuple[str, str] | None:
    """``(rating, msgId)`` from a click's ``cardPrivateData``: the template's params, else the
    button id ``feedback_<rating>`` (a click naming only its button; msgId then unknown, "")."""
    if not isinstance(private, Mapping):
        return None
    params = private.get("params")
    found = feedback_from_params(params)
    if found is not None:
        return found
    actions = private.get("actionIds")
    first = actions[0] if isinstance(actions, list) and actions else None
    rating = first.removeprefix("feedback_") if isinstance(first, str) else None
    if rating not in RATINGS or not isinstance(rating, str):
        return None
    msg_id = params.get("msgId") if isinstance(params, Mapping) else None
    return rating, msg_id if isinstance(msg_id, str) else ""
