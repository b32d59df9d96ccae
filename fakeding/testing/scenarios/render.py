"""The scenario report: transcript, each card's final state, the timeline, the problems (each
violation with what explains it, the robot's errors, the fake's refusals) and the expectations
(pure).

Volatile ids become stable references in order of appearance (``card#1``, ``msg#2``,
``conn#1``); conversation ids become the scenario's names; times are virtual offsets.

The timeline lists records in the order of ``result.records``. In virtual time that is the
order they happened, which is deterministic. A real-time robot's records come ordered by
``causal.order_records``: by the step that caused them, then by channel (the step, the Stream
delivery with its acks, the robot's HTTP calls, the robot's exit), each channel's records as
received; so a race between the robot's websocket and its HTTP connections never changes
the report, and the order on one channel always shows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from fakeding.core.cards import Card
from fakeding.core.cards.model import drawn_at, drawn_data
from fakeding.core.describe import Refs, describe
from fakeding.core.record_kinds import RecordKind
from fakeding.core.render import card_lines
from fakeding.core.templates import Template
from fakeding.core.templates import render as render_template
from fakeding.testing.scenarios import generic
from fakeding.testing.scenarios.problems import problem_lines
from fakeding.testing.scenarios.robots import Foldable
from fakeding.testing.scenarios.runner import UPPER_BOUNDS, ScenarioResult, is_real_time


def stamp(t: float, times: str) -> str:
    """``+1.250s `` (exact), ``+1s `` (coarse: whole seconds) or nothing (none)."""
    if times == "none":
        return ""
    return f"+{round(t)}s " if times == "coarse" else f"+{t:.3f}s "


def times_of(result: ScenarioResult) -> str:
    """The scenario's ``report.times``; a real-time robot's default leaves times out."""
    default = "none" if is_real_time(result.robot) else "exact"
    return str((result.scenario.data.get("report") or {}).get("times", default))


def render(result: ScenarioResult) -> str:
    refs = Refs()
    times = times_of(result)
    for card in result.cards:
        refs("card", card.id)
    s = result.scenario.data
    out = [f"# {s['name']}"]
    if s.get("description"):
        out.append(str(s["description"]).strip())
    out += ["", "## Transcript"]
    for e in result.transcript:
        conv = result.conversations.get(e.conversation_id, e.conversation_id)
        who = e.who.removeprefix("user:")
        if e.kind == "card":
            text = f"{refs('card', e.ref)} «{e.text}»"
        elif e.kind == RecordKind.CLICK:
            text = f"clicked «{e.text}» on {refs('card', e.ref)}"
        elif not e.text.strip():
            text = f"(blank: {len(e.text)} whitespace chars)"
        else:
            text = _clip(e.text, 160)
        out.append(f"{stamp(e.t, times)}[{conv}] {who}: {text}")
    summary = (s.get("report") or {}).get("timeline") == "summary"
    out += ["", "## Cards"]
    counts = [sum(1 for v in c.versions if v.source in ("update", "stream")) for c in result.cards]
    final_when = s.get("final_when")
    if summary and counts:
        # Which of many simultaneous answers had a streaming update skipped under the rate
        # limit depends on scheduling order; the totals and the per-second timeline do not.
        out.append(
            f"{len(counts)} cards; updates per card: min {min(counts)}, "
            f"max {max(counts)}, total {sum(counts)}"
        )
    if not result.templates and any(c.kind == "instance" for c in result.cards):
        out.append(
            "(no card templates registered: instance cards show their parameters; "
            "a scenario's templates: draws them as DingTalk does)"
        )
    for card, updates in zip(result.cards, counts, strict=True):
        cid = card.conversation_id or result.direct.get(card.single_user or "", "")
        conv = result.conversations.get(cid, cid or f"1:1 {card.single_user}")
        if final_when is None:
            state = "final" if result.robot.is_final(card) else "NOT FINAL"
        else:
            reason = generic.unfinished_reason(card, final_when)
            state = "final" if reason is None else f"NOT FINAL ({reason})"
        count = "" if summary else f" · {updates} update(s)"
        out.append(f"### {refs('card', card.id)} · {conv}{count} · {state}")
        out += [f"    {line}" for line in drawn_lines(card, result.templates)]
    if summary:
        out += ["", "## Timeline (summary: calls per second of virtual time)"]
        out += summary_lines(result)
    else:
        out += ["", "## Timeline"]
        out += timeline_lines(result, refs, times)
    problems = problem_lines(result.records, refs)
    if problems:
        out += ["", "## Problems"]
        out += problems
    if result.expectations:
        out += ["", "## Expectations"]
        for x in result.expectations:
            mark = "ok" if x.ok else "FAILED"
            rel = "at most " if x.name in UPPER_BOUNDS else ""
            if x.ok and x.name == "max_ack_latency":  # a measured latency: varies run to run
                out.append(f"- {x.name}: expected at most {x.expected} ({mark})")
            else:
                out.append(f"- {x.name}: expected {rel}{x.expected}, found {x.found} ({mark})")
    return "\n".join(line.rstrip() for line in out) + "\n"


def drawn_lines(card: Card, templates: dict[str, Template]) -> list[str]:
    """A card as users see it: drawn from its template when registered (then once more for
    each user whose private data changes the view), markdown as the client draws it; then
    every version, as its users saw it then (their private data of then), else its data."""
    template = templates.get(card.template_id)
    if template is None:
        return card_lines(card.current)
    surface = "ai" if template.is_ai else "card"

    def draw(data: dict[str, Any], private: dict[str, Any] | None) -> list[str]:
        return render_template(template, data, private, None, card_id=card.id).lines(surface)

    data = drawn_data(card)
    public = draw(data, None)
    lines = list(public)
    for user, private in sorted(card.private_data.items()):
        mine = draw(data, private)
        if mine != public:
            lines.append(f"as {user}:")
            lines += [f"  {line}" for line in mine]
    lines = lines or ["(nothing visible)"]
    if len(card.versions) > 1:  # every version as its users saw it, a line each
        lines.append("versions:")
        for n, version in enumerate(card.versions, 1):
            shown = drawn_at(card, n - 1)
            drawn = " ".join(" / ".join(draw(shown, None)).split())
            lines.append(
                f"  v{n} ({version.source}) +{version.t:.3f}s, {len(drawn)} chars: "
                f"{_tail(drawn) or '(nothing visible)'}"
            )
            for user, private in sorted(version.private.items()):
                theirs = " ".join(" / ".join(draw(shown, private)).split())
                if theirs != drawn:
                    lines.append(f"    as {user}: {_tail(theirs) or '(nothing visible)'}")
    return lines


def _tail(text: str, limit: int = 90) -> str:
    """The end of a version's text: where a streamed answer grows and a tally changes."""
    return text if len(text) <= limit else f"…{text[1 - limit :]}"


def timeline_lines(result: ScenarioResult, refs: Refs, times: str = "exact") -> list[str]:
    cards = {c.id: c for c in result.cards}
    robot = result.robot
    lines: list[str] = []
    held: tuple[str, int, float, float] | None = None  # a Foldable run: line, count, first, last

    def flush() -> None:
        nonlocal held
        if held:
            line, count, first, last = held
            until = f" (until {stamp(last, times).strip()})" if times != "none" else ""
            span = f" x{count}{until}" if count > 1 else ""
            lines.append(f"{stamp(first, times)}{line}{span}")
            held = None

    for rec in result.records:
        line = describe(rec, refs, cards, result.conversations, robot, times)
        if line is None:
            continue
        if isinstance(line, Foldable):
            if held and held[0] == line:
                held = (line, held[1] + 1, held[2], rec.t)
            else:
                flush()
                held = (line, 1, rec.t, rec.t)
            continue
        flush()
        lines.append(f"{stamp(rec.t, times)}{line}")
    flush()
    return lines


def summary_lines(result: ScenarioResult) -> list[str]:
    """One line per virtual second with traffic: pushes, acks, card calls by outcome."""
    buckets: dict[int, Counter[str]] = defaultdict(Counter)
    for rec in result.records:
        second = int(rec.t)
        if rec.kind in (
            RecordKind.PUSH,
            RecordKind.REDELIVER,
            RecordKind.ACK,
            RecordKind.CARD_SEND,
            RecordKind.CARD_UPDATE,
            RecordKind.WEBHOOK,
            RecordKind.VIOLATION,
            RecordKind.FAULT,
        ):
            buckets[second][rec.kind] += 1
        elif rec.kind == RecordKind.API and rec.fields["status"] != 200:
            buckets[second][f"api {rec.fields['status']}"] += 1
        elif rec.kind in result.robot.summary_kinds:
            buckets[second][result.robot.summary_kinds[rec.kind]] += 1
    lines = []
    for second in sorted(buckets):
        counts = buckets[second]
        lines.append(f"+{second}s " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return lines


def _clip(text: str, n: int) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"
