"""What the report and ``expect:`` say about any robot, without knowing it (pure).

A card is *unfinished* when it was left open: an AI card (a card instance that was streamed or
carries a ``flowStatus``) neither finalized nor failed, or finalized without ever receiving
content (its user sees an empty answer marked done), an interactive card whose last version is
still its first, or, if the scenario gives ``final_when`` (a regular expression), a card whose
text does not match it. A card that ended in the failed state is not unfinished (its user sees
that it ended, and why); it is counted apart, as *failed*.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict, deque
from typing import Any

from fakeding.core.cards import Card
from fakeding.core.record_kinds import ROBOT_KINDS, RecordKind
from fakeding.core.recorder import Record
from fakeding.core.render import card_lines
from fakeding.testing.scenarios.problems import robot_problem


def card_text(card: Card) -> str:
    return "\n".join(card_lines(card.current))


def is_ai_card(card: Card) -> bool:
    return card.kind == "instance" and (
        card.flow_status is not None or any(v.source == "stream" for v in card.versions)
    )


NOT_CONTENT = ("flowStatus", "config")  # an AI card's state and layout, not its answer


def has_content(card: Card) -> bool:
    """Whether an AI card shows its user something: a streamed key that is not blank, or, for a
    card never streamed, any parameter besides its state and layout."""
    current = card.current
    streamed = {str(v.extra.get("key")) for v in card.versions if v.source == "stream"}
    keys = streamed or {k for k in current if k not in NOT_CONTENT}
    return any(str(current.get(k) or "").strip() for k in keys)


def unfinished_reason(card: Card, final_when: str | None = None) -> str | None:
    """Why ``card`` counts as unfinished, or None when it ended (finished or failed)."""
    if card.failed:
        return None
    if final_when is not None:
        return None if re.search(final_when, card_text(card)) else "does not match final_when"
    if is_ai_card(card):
        if not card.finalized:
            return "never finalized"
        return None if has_content(card) else "finalized without content"
    if card.kind == "interactive" and len(card.versions) == 1:
        return "never updated"
    return None


def card_state(card_data: Any) -> str:
    """A card version in a few words: its size and, for AI cards, its flow status."""
    if not isinstance(card_data, dict):
        return repr(card_data)[:40]
    status = {"1": "processing", "2": "inputting", "3": "finished", "5": "failed"}.get(
        str(card_data.get("flowStatus")), ""
    )
    text = "\n".join(card_lines(card_data))
    return f"{status} {len(text)} chars".strip()


def answers(records: list[Record]) -> dict[str, int]:
    """Answers per delivered message or graph request (msgId or key → count). A webhook reply
    accepted answers the message whose session webhook it used (a graph reply is one); any
    other answer (a card placed in a conversation, a webhook reply naming no known session)
    answers the oldest message of its conversation not yet answered that way, else a message
    pushed again (a redelivery a robot answered twice), else the conversation's latest message
    (a duplicate answer). A redelivered message waits behind the questions not yet answered,
    so a robot that answers it once (it deduplicates) is not charged with a later one. Cards
    and webhook replies wait apart, so a robot that replies and then sends a card answers
    each message once each way whatever its pace."""
    waiting: dict[str, dict[str, deque[str]]] = {"card": defaultdict(deque), "webhook": defaultdict(deque)}
    again: dict[str, dict[str, deque[str]]] = {"card": defaultdict(deque), "webhook": defaultdict(deque)}
    latest: dict[str, str] = {}
    where: dict[str, str] = {}  # msgId -> conversation; "user:<staffId>" -> conversation
    sessions: dict[str, str] = {}  # a message's session webhook (its tag) -> msgId
    counts: dict[str, int] = {}
    shown: set[str] = set()  # cards already counted
    for rec in records:
        f = rec.fields
        if rec.kind == RecordKind.GRAPH or (rec.kind == RecordKind.MESSAGE and f.get("delivered")):
            conv, msg = str(f["conversation"]), str(f.get("msgId") or f["key"])
            where[msg] = where[f"user:{f['sender']}"] = conv
            for queues in waiting.values():
                queues[conv].append(msg)
            latest[conv] = msg
            counts[msg] = 0
            if f.get("session"):
                sessions[str(f["session"])] = msg
        elif rec.kind == RecordKind.REDELIVER and str(f.get("key")) in where:
            msg = str(f["key"])
            for queues in again.values():
                queues[where[msg]].append(msg)
        elif _is_answer(rec, shown):
            conv = str(f.get("conversation") or where.get(f"user:{f.get('user')}", ""))
            way = "webhook" if rec.kind == RecordKind.WEBHOOK else "card"
            queue, pushed_again = waiting[way][conv], again[way][conv]
            answered = sessions.get(str(f.get("session")))
            if answered is not None:  # a webhook reply names its message
                if answered in queue:
                    queue.remove(answered)
                elif answered in pushed_again:
                    pushed_again.remove(answered)
            elif queue:
                answered = queue.popleft()
            else:
                answered = pushed_again.popleft() if pushed_again else latest.get(conv)
            if answered is not None:
                counts[answered] += 1
    return counts


def _is_answer(rec: Record, shown: set[str]) -> bool:
    """A webhook reply accepted, or the first record placing a card in a conversation (an
    instance card is created first and placed when delivered)."""
    f = rec.fields
    if rec.kind == RecordKind.WEBHOOK:
        return f.get("errcode") == 0
    if rec.kind in (RecordKind.CARD_SEND, RecordKind.CARD_UPDATE) and (
        f.get("conversation") or f.get("user")
    ):
        card = str(f.get("card"))
        if card not in shown:
            shown.add(card)
            return True
    return False


def api_errors(records: list[Record]) -> Counter[str]:
    """Failed OpenAPI calls by ``"STATUS CODE"`` (``403 Forbidden.AccessDenied.Qps...``)."""
    out: Counter[str] = Counter()
    for rec in records:
        if rec.kind == RecordKind.API and rec.fields.get("status") != 200:
            resp = rec.fields.get("response")
            code = resp.get("code") if isinstance(resp, dict) else None
            out[f"{rec.fields['status']} {code}".strip()] += 1
    return out


def max_ack_latency(records: list[Record]) -> float:
    return max(
        (
            float(r.fields.get("after", 0.0))
            for r in records
            if r.kind == RecordKind.ACK
            and r.fields.get("topic") != "ping"
            and not str(r.fields.get("key", "")).startswith(("ping:", "disconnect:"))
        ),
        default=0.0,
    )


class GenericVoice:
    """How the kit's own adapters (handler and command robots) read a robot it knows nothing
    about: no expectations of their own, any card judged by ``unfinished_reason``."""

    record_prefix = "robot."

    def expectations(self, result: Any) -> dict[str, int]:
        return {}

    def describe(self, record: Record, refs: Any) -> str | None:
        if record.kind in ROBOT_KINDS:
            return robot_problem(record)
        return f"{record.kind} {record.fields}"

    def card_state(self, card_data: Any) -> str:
        return card_state(card_data)

    def is_final(self, card: Card) -> bool:
        return unfinished_reason(card) is None


# Calls DingTalk does not count against the monthly quota: getting tokens, opening Stream
# connections, replying through a message's session webhook, custom group robots.
UNMETERED = ("POST /v1.0/oauth2/accessToken", "GET /gettoken", "POST /v1.0/gateway/connections/open")


def metered_calls(records: list[Record]) -> int:
    """OpenAPI calls the organisation's monthly quota counts (a call it refused is not)."""
    return len(metered_times(records))


def metered_times(records: list[Record]) -> list[float]:
    """When each call ``metered_calls`` counts was made."""
    times = []
    for rec in records:
        if rec.kind != RecordKind.API or rec.fields.get("route") in UNMETERED:
            continue
        response = rec.fields.get("response")
        if isinstance(response, dict) and response.get("code") == QUOTA_CODE:
            continue
        times.append(rec.t)
    return times


QUOTA_CODE = "Forbidden.AccessDenied.ApiCountLimitForOrg"
