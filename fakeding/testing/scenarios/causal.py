"""A real-time robot's report in a stable order: by cause, then by channel, not by arrival (pure).

A robot process runs in real time, so two users' conversations interleave differently from run
to run. Instead of serialising the users (which hides concurrency), each record and transcript
line is attributed to the step that caused it, and the report lists causes in step order, each
cause's records by channel, each channel's in the order they happened. Attribution follows what
the records say:

- a user's message, graph request, click or event push, and an injected fault, is a cause;
- a push, redelivery, ack or violation names its delivery's key, hence its cause;
- a webhook reply names its message's session (a second reply on it, e.g. to a click, counts
  as one naming none); a card placed in a conversation, or a reply naming no session, answers
  the oldest message (or click) of its conversation not yet answered that way, else the latest
  (cards and replies wait apart, as ``generic.answers`` counts them);
- a card's later versions, and card API calls naming it, belong to the card's cause;
- anything else (a reconnect, a token refresh) stays with the record before it.

Within a cause, what a robot sends on two channels reaches the fake in either order: an ack
goes over its Stream websocket, a reply or a card over HTTP, and the one sent first may arrive
second (the fake cannot tell a robot that waited for its reply before acking from one that
raced). So a cause's records are listed by channel (``record_channels``), in this order:

1. ``STEP``: the step itself (the user's message or click, the fault armed);
2. ``DELIVERY``: how the platform delivered it and the robot answered the delivery: the Stream
   connection's frames (pushes, redeliveries, acks, a card update an ack's callback response
   made, connects and disconnects), or HTTP mode's callback POSTs;
3. ``CALLS``: the robot's own calls: session-webhook replies, OpenAPI calls, card versions;
4. ``PROCESS``: the robot process's end, which comes after whatever it sent.

Each channel keeps exactly the order the fake received: a robot whose replies arrive in the
wrong order (what users would see) reads so in the report. A record about another (a
violation, a warning, a fired fault) goes with what it names: a connection, a delivery or a
ticket is the Stream's, an HTTP route the calls'; otherwise it is recorded right after what it
is about, and takes the channel of the record before it.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from typing import Any

from fakeding.core.cards import Card
from fakeding.core.platform import TranscriptEntry
from fakeding.core.record_kinds import RecordKind
from fakeding.core.recorder import Record

SETUP = -1  # before the first step: connecting, first tokens


class _Answers:
    """Per conversation: messages waiting for an answer (FIFO) and the latest one."""

    def __init__(self) -> None:
        self.waiting: dict[str, deque[int]] = defaultdict(deque)
        self.latest: dict[str, int] = {}

    def asked(self, conversation: str, cause: int) -> None:
        self.waiting[conversation].append(cause)
        self.latest[conversation] = cause

    def answered_by(self, conversation: str, cause: int) -> None:
        """``cause`` got its answer another way (its own session): it waits no more."""
        waiting = self.waiting[conversation]
        if cause in waiting:
            waiting.remove(cause)

    def answered(self, conversation: str) -> int | None:
        if self.waiting[conversation]:
            return self.waiting[conversation].popleft()
        return self.latest.get(conversation)


def record_causes(records: list[Record]) -> list[int]:
    """The cause (a step's ordinal; ``SETUP`` before any) of each record."""
    causes: list[int] = []
    by_key: dict[str, int] = {}
    sessions: dict[str, int] = {}
    replied: set[int] = set()  # causes answered on their own session
    card_conv: dict[str, str] = {}
    conv_of_key: dict[str, str] = {}
    cards: dict[str, int] = {}
    user_conv: dict[str, str] = {}
    answers = {"card": _Answers(), "webhook": _Answers()}  # they wait apart (generic.answers)
    steps = 0
    last_click = SETUP
    current = SETUP

    def new_cause() -> int:
        nonlocal steps
        steps += 1
        return steps - 1

    for rec in records:
        f = rec.fields
        key = str(f.get("key") or "")
        cause: int | None = None
        if rec.kind in (RecordKind.MESSAGE, RecordKind.GRAPH):
            cause = new_cause()
            name = str(f.get("msgId") or key)
            conv = str(f["conversation"])
            by_key[name], conv_of_key[name] = cause, conv
            user_conv[str(f.get("sender"))] = conv
            if f.get("session"):
                sessions[str(f["session"])] = cause
            if rec.kind == RecordKind.GRAPH or f.get("delivered"):
                for queue in answers.values():
                    queue.asked(conv, cause)
        elif rec.kind == RecordKind.CLICK:
            cause = last_click = new_cause()
            if str(f.get("card")) in card_conv:  # a reply may answer the click
                for queue in answers.values():
                    queue.asked(card_conv[str(f.get("card"))], cause)
        elif rec.kind == RecordKind.FAULT and not f.get("fired"):
            cause = new_cause()
        elif key and key in by_key:
            cause = by_key[key]
            if rec.kind == RecordKind.REDELIVER and key in conv_of_key:
                for queue in answers.values():  # waits for an answer again
                    queue.asked(conv_of_key[key], cause)
        elif key and rec.kind in (RecordKind.PUSH, RecordKind.QUEUED):
            cause = last_click if key.startswith("click:") else new_cause()  # click or event
            by_key[key] = cause
        elif rec.kind == RecordKind.WEBHOOK:
            cause = sessions.get(str(f.get("session")))
            if cause is not None and cause in replied and f.get("errcode") == 0:
                cause = None  # a later reply on an answered message's session: a click's?
            if cause is not None and f.get("errcode") == 0:
                answers["webhook"].answered_by(str(f.get("conversation")), cause)
                replied.add(cause)
            elif cause is None and f.get("errcode") == 0:
                cause = answers["webhook"].answered(str(f.get("conversation")))
        elif rec.kind in (RecordKind.CARD_SEND, RecordKind.CARD_UPDATE):
            card = str(f.get("card"))
            cause = cards.get(card)
            where = f.get("conversation") or user_conv.get(str(f.get("user")))
            if cause is None and where:
                cause = answers["card"].answered(str(where))
            cards.setdefault(card, current if cause is None else cause)
            if where:
                card_conv.setdefault(card, str(where))
        elif rec.kind == RecordKind.API:
            cause = cards.get(_card_named(f.get("request")) or "")
        current = current if cause is None else cause
        causes.append(current)
    return causes


def _card_named(request: Any) -> str | None:
    if not isinstance(request, dict):
        return None
    for name in ("outTrackId", "cardBizId"):
        if isinstance(request.get(name), str):
            return str(request[name])
    return None


STEP, DELIVERY, CALLS, PROCESS = range(4)  # a cause's channels, in the order they are listed

_CHANNELS: dict[str, int] = {
    RecordKind.MESSAGE: STEP,
    RecordKind.GRAPH: STEP,
    RecordKind.CLICK: STEP,
    RecordKind.CONNECT: DELIVERY,
    RecordKind.DISCONNECT: DELIVERY,
    RecordKind.REFUSED: DELIVERY,
    RecordKind.PUSH: DELIVERY,
    RecordKind.REDELIVER: DELIVERY,
    RecordKind.QUEUED: DELIVERY,
    RecordKind.GAVE_UP: DELIVERY,
    RecordKind.ACK: DELIVERY,
    RecordKind.CALLBACK: DELIVERY,
    RecordKind.API: CALLS,
    RecordKind.WEBHOOK: CALLS,
    RecordKind.CUSTOM_ROBOT: CALLS,
    RecordKind.CARD_SEND: CALLS,
    RecordKind.CARD_UPDATE: CALLS,
    RecordKind.ROBOT_EXCEPTION: PROCESS,
    RecordKind.ROBOT_EXIT: PROCESS,
}
_ABOUT_A_DELIVERY = ("connection", "connections", "ticket", "key", "target", "msgId")
_NAMES_A_ROUTE = re.compile(r"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /|unknown route ")


def _channel(rec: Record) -> int | None:
    """``rec``'s channel, or None for a record about another that names none of them."""
    f = rec.fields
    if rec.kind == RecordKind.FAULT and not f.get("fired"):
        return STEP
    if rec.kind == RecordKind.CARD_UPDATE and f.get("via") == "callback":
        return DELIVERY  # made by the answer to a click's delivery (its ack or callback)
    channel = _CHANNELS.get(rec.kind)
    if channel is not None or rec.kind not in (
        RecordKind.VIOLATION,
        RecordKind.WARNING,
        RecordKind.FAKE_ERROR,
        RecordKind.FAULT,
    ):
        return channel
    if any(name in f for name in _ABOUT_A_DELIVERY) or f.get("fault") == "refuse_ticket":
        return DELIVERY
    if "route" in f or _NAMES_A_ROUTE.match(str(f.get("reason", ""))):
        return CALLS  # a refused call's violation and a fired API fault come before its record
    return None


def record_channels(records: list[Record], causes: list[int]) -> list[int]:
    """The channel (``STEP``, ``DELIVERY``, ``CALLS``, ``PROCESS``) of each record; one that
    names none (a violation or warning about the record before it, a robot's own kind) takes
    that of the record before it in its cause."""
    channels: list[int] = []
    last: dict[int, int] = {}
    for rec, cause in zip(records, causes, strict=True):
        channel = _channel(rec)
        if channel is None:
            channel = last.get(cause, STEP)
        last[cause] = channel
        channels.append(channel)
    return channels


def order_records(records: list[Record]) -> list[Record]:
    """By cause, then channel, then as received (see the module's docstring)."""
    causes = record_causes(records)
    channels = record_channels(records, causes)
    order = sorted(range(len(records)), key=lambda i: (causes[i], channels[i], i))
    return [records[i] for i in order]


def order_cards(cards: list[Card], ordered_records: list[Record]) -> list[Card]:
    """Cards in the order the (ordered) timeline first shows them."""
    first: dict[str, int] = {}
    for i, rec in enumerate(ordered_records):
        if rec.kind in (RecordKind.CARD_SEND, RecordKind.CARD_UPDATE):
            first.setdefault(str(rec.fields.get("card")), i)
    return sorted(cards, key=lambda c: first.get(c.id, len(ordered_records)))


def order_transcript(entries: list[TranscriptEntry], records: list[Record]) -> list[TranscriptEntry]:
    """Each line with the cause of the record it goes with: a user's message by its id, a
    card by its card, a click, graph request or webhook reply by its instant and conversation
    (each is noted and recorded at one instant); else the line before's."""
    causes = record_causes(records)
    by_ref: dict[str, int] = {}
    at: dict[tuple[str, float], int] = {}
    for rec, cause in zip(records, causes, strict=True):
        f = rec.fields
        if rec.kind == RecordKind.MESSAGE:
            by_ref[str(f["msgId"])] = cause
        elif rec.kind in (RecordKind.CARD_SEND, RecordKind.CARD_UPDATE):
            by_ref.setdefault(str(f.get("card")), cause)
        if rec.kind in (RecordKind.GRAPH, RecordKind.CLICK, RecordKind.WEBHOOK):
            at.setdefault((rec.kind, rec.t), cause)
    order: list[int] = []
    current = SETUP
    for e in entries:
        kind = e.kind.split(":")[0] if e.kind.startswith("webhook") else e.kind
        found = by_ref.get(e.ref or "") if kind != RecordKind.CLICK else None
        if found is None:
            found = at.get((kind, e.t))
        current = current if found is None else found
        order.append(current)
    ranked = sorted(range(len(entries)), key=lambda i: (order[i], i))
    return [entries[i] for i in ranked]
