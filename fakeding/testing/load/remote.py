"""The verdict of a real-time run driven from outside (Locust, or anything that asks through
the control API) from a running fake's records, with the same ``measure`` and report as
``fakeding load``: the control API's timeline, transcripts and cards are rebuilt into the
records, transcript lines and cards the oracles read. The rebuilding is pure; ``fetch`` and
``settle`` are the thin I/O edge (urllib, so it runs under Locust's gevent as well)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from typing import Any

from fakeding.core.cards.model import Card, CardVersion
from fakeding.core.exceptions import ConfigError
from fakeding.core.platform import TranscriptEntry
from fakeding.core.recorder import Record
from fakeding.testing.load.measure import Verdict, first_answers, measure
from fakeding.testing.load.plan import LoadPlan
from fakeding.testing.load.workload import Question
from fakeding.testing.scenarios import generic


@dataclass(frozen=True)
class Evidence:
    """What a running fake shows, as the oracles read it."""

    records: list[Record]
    transcript: list[TranscriptEntry]
    cards: list[Card]


def records_of(rows: list[dict[str, Any]]) -> list[Record]:
    out = []
    for row in rows:
        fields = {k: v for k, v in row.items() if k not in ("seq", "t", "kind")}
        out.append(Record(int(row["seq"]), float(row["t"]), str(row["kind"]), fields))
    return out


def transcript_of(lines: list[dict[str, Any]]) -> list[TranscriptEntry]:
    entries = [
        TranscriptEntry(
            float(line["t"]),
            str(line["conversation"]),
            str(line["who"]),
            str(line["kind"]),
            str(line.get("text", "")),
            line.get("ref"),
            line.get("data"),
        )
        for line in lines
    ]
    return sorted(entries, key=lambda e: e.t)


def card_of(summary: dict[str, Any]) -> Card:
    versions = [
        CardVersion(
            float(v["t"]),
            dict(v.get("cardData") or {}),
            str(v["via"]),
            {"key": v["key"]} if "key" in v else {},
        )
        for v in summary["versions"]
    ]
    return Card(
        id=str(summary["cardBizId"]),
        kind=str(summary["kind"]),
        client_id=str(summary.get("clientId") or ""),
        robot_code=None,
        template_id="",
        conversation_id=summary.get("conversationId"),
        single_user=summary.get("user"),
        at_users=list(summary.get("atUsers") or []),
        versions=versions,
        private_data=dict(summary.get("privateData") or {}),
        flow_status=summary.get("flowStatus"),
        delivered=True,
        finalized=bool(summary.get("finalized")),
        failed=bool(summary.get("failed")),
    )


def asked_of(plan: LoadPlan, evidence: Evidence) -> list[Question]:
    """The questions as the fake saw them (a run driven from outside has no compiled workload):
    a question is long when it has at least the plan's ``long_words`` words."""
    long_words = plan.workload.long_words
    return [
        Question(
            e.t, e.who.removeprefix("user:"), e.conversation_id, e.text, len(e.text.split()) >= long_words
        )
        for e in evidence.transcript
        if e.who.startswith("user:")
    ]


def judge(plan: LoadPlan, evidence: Evidence) -> Verdict:
    """``measure`` over a fake's records; the month is projected from the span the questions
    actually took (first question to last record), not the plan's ``duration``."""
    asked_at = [r.t for r in evidence.records if r.kind == "message" and r.fields.get("delivered")]
    end = max((r.t for r in evidence.records), default=0.0)
    span = max(end - min(asked_at, default=0.0), 1.0)
    users = len({r.fields.get("sender") for r in evidence.records if r.kind == "message"})
    timed = replace(plan, workload=replace(plan.workload, duration=round(span, 3), users=max(users, 1)))
    return measure(
        timed, asked_of(plan, evidence), evidence.records, evidence.transcript, evidence.cards, end
    )


def pending(evidence: Evidence, final_when: str | None = None) -> int:
    """Questions without a first answer, plus cards not yet ended (by the plan's ``final_when``
    where it gives one): what settling waits for."""
    delivered = {
        str(r.fields["msgId"]) for r in evidence.records if r.kind == "message" and r.fields.get("delivered")
    }
    waiting = len(delivered - set(first_answers(evidence.records)))
    return waiting + sum(1 for c in evidence.cards if generic.unfinished_reason(c, final_when) is not None)


# ------------------------------------------------------------------------- the I/O edge


def _get(url: str, timeout: float) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ConfigError(
            f"{url}: cannot read the fake's records ({exc}); is `fakeding serve` running there?"
        ) from None


def fetch(base_url: str, *, timeout: float = 30.0) -> Evidence:
    """The records, cards and the transcripts of every conversation asked in or carded."""
    base = base_url.rstrip("/")
    records = records_of(_get(f"{base}/_fakeding/timeline", timeout))
    cards = [card_of(c) for c in _get(f"{base}/_fakeding/cards", timeout)]
    cids = {
        str(r.fields["conversation"]) for r in records if r.kind == "message" and r.fields.get("conversation")
    }
    cids |= {c.conversation_id for c in cards if c.conversation_id}
    lines: list[dict[str, Any]] = []
    for cid in sorted(cids):
        quoted = urllib.parse.quote(cid, safe="")
        lines += [
            dict(line, conversation=cid) for line in _get(f"{base}/_fakeding/conversations/{quoted}", timeout)
        ]
    return Evidence(records, transcript_of(lines), cards)


def settle(
    base_url: str, *, limit: float = 30.0, every: float = 0.5, final_when: str | None = None
) -> Evidence:
    """Fetch until every delivered question has an answer and every card ended, or ``limit``
    seconds passed (then what is missing counts as lost or unfinished)."""
    deadline = time.monotonic() + limit
    while True:
        evidence = fetch(base_url)
        if pending(evidence, final_when) == 0 or time.monotonic() >= deadline:
            return evidence
        time.sleep(every)
