"""The figures of a load run and its verdict, from the fake's records (pure): what was lost,
doubled or left unfinished, cross-talk, per-user order, time to first answer (all questions,
and short ones while long ones run), 403s, calls per answer and the month's projection."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from fakeding.core.custom_robots import TOO_FAST  # (errcode, errmsg) of a robot's 21st message in a minute
from fakeding.core.oracles import cross_talk
from fakeding.core.record_kinds import RecordKind
from fakeding.core.tiers import TIERS, with_tier
from fakeding.testing.load.plan import THRESHOLDS, LoadPlan
from fakeding.testing.load.workload import Question
from fakeding.testing.scenarios import generic


@dataclass
class Verdict:
    figures: dict[str, Any]
    failed: dict[str, str] = field(default_factory=dict)  # threshold -> why, naming messages

    @property
    def ok(self) -> bool:
        return not self.failed


def first_answers(records: list[Any]) -> dict[str, float]:
    """msgId -> when its first answer arrived (see ``answer_times``)."""
    return answer_times(records)[0]


def answer_times(records: list[Any]) -> tuple[dict[str, float], dict[str, float]]:
    """msgId -> when its first answer arrived, and when its answer was complete. A webhook
    reply names its message; a card answers the oldest unanswered message of its conversation
    (1:1 cards name the user), and that answer is complete at the card's last version."""
    waiting: dict[str, deque[str]] = defaultdict(deque)
    conv_of_user: dict[str, str] = {}
    first: dict[str, float] = {}
    final: dict[str, float] = {}
    message_of: dict[str, str | None] = {}  # card -> the message it answers
    for rec in records:
        f = rec.fields
        if rec.kind == RecordKind.MESSAGE and f.get("delivered"):
            waiting[str(f["conversation"])].append(str(f["msgId"]))
            conv_of_user[str(f["sender"])] = str(f["conversation"])
        elif rec.kind == RecordKind.WEBHOOK and f.get("errcode") == 0 and f.get("msgId"):
            first.setdefault(str(f["msgId"]), rec.t)
            final[str(f["msgId"])] = rec.t
        elif rec.kind in (RecordKind.CARD_SEND, RecordKind.CARD_UPDATE):
            card = str(f.get("card"))
            if card in message_of:
                if (msg := message_of[card]) is not None:
                    final[msg] = max(final.get(msg, rec.t), rec.t)
                continue
            conv = f.get("conversation") or conv_of_user.get(str(f.get("user")))
            if conv is None:
                continue
            queue = waiting[str(conv)]
            while queue and queue[0] in first:
                queue.popleft()
            message_of[card] = msg = queue.popleft() if queue else None
            if msg is not None:
                first.setdefault(msg, rec.t)
                final[msg] = max(final.get(msg, rec.t), rec.t)
    return first, final


def per_interval(times: list[float], span: float, buckets: int = 60) -> list[tuple[float, int]]:
    """How many of ``times`` fall in each of ``buckets`` equal intervals of ``span`` seconds
    (past the span: the last one), as (interval start, count)."""
    width = max(span / buckets, 1.0)
    counts: Counter[int] = Counter(int(t // width) for t in times)
    return [(round(k * width, 3), n) for k, n in sorted(counts.items())]


def click_outcomes(records: list[Any]) -> tuple[list[str], list[str]]:
    """Clicks (``card by user at t``) whose callback no 200 ack answered, and clicks acked but
    never followed by a change of their card (the robot's answer to a button: a new card
    version, from an update or from the callback's own response)."""
    unacked: list[str] = []
    unanswered: list[str] = []
    acks: dict[tuple[str, str], list[float]] = defaultdict(list)  # (card, user) -> 200 acks
    changes: dict[str, list[float]] = defaultdict(list)  # card -> its changes
    for r in records:
        key = str(r.fields.get("key", ""))
        if r.kind == "ack" and key.startswith("click:") and str(r.fields.get("code")) == "200":
            head, user, _ = key.rsplit(":", 2)  # click:<card>:<user>:<n>
            acks[(head.removeprefix("click:"), user)].append(r.t)
        elif r.kind in ("card.update", "card.stream"):
            changes[str(r.fields.get("card"))].append(r.t)
    for click in (r for r in records if r.kind == "click"):
        card, user = str(click.fields.get("card")), str(click.fields.get("user"))
        name = f"{card[:12]} by {user} at {click.t:g}s"
        if not any(t >= click.t for t in acks[(card, user)]):
            unacked.append(name)
        elif not any(t >= click.t for t in changes[card]):
            unanswered.append(name)
    return unacked, unanswered


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))], 3)


def measure(
    plan: LoadPlan,
    asked: list[Question],
    records: list[Any],
    transcript: list[Any],
    cards: list[Any],
    end: float,
) -> Verdict:
    messages = [r for r in records if r.kind == RecordKind.MESSAGE and r.fields.get("delivered")]
    text_of = {q.text: q for q in asked}
    ask_at = {str(r.fields["msgId"]): r.t for r in messages}
    said = {e.ref: e.text for e in transcript if e.who.startswith("user:") and e.ref}
    counts = generic.answers(records)
    total = sum(counts.get(m, 0) for m in ask_at)
    norm = max(1, round(total / len(ask_at))) if ask_at else 1
    lost = sorted(m for m in ask_at if counts.get(m, 0) == 0)
    doubled = sorted(m for m in ask_at if counts.get(m, 0) > norm)
    unfinished = [c.id for c in cards if generic.unfinished_reason(c, plan.final_when) is not None]
    crossed = cross_talk(records, transcript, cards)
    first, final = answer_times(records)
    latency = {m: round(first[m] - t, 3) for m, t in ask_at.items() if m in first}
    complete = {m: round(final[m] - t, 3) for m, t in ask_at.items() if m in final}
    long_ids = {m for m in ask_at if (q := text_of.get(str(said.get(m)))) is not None and q.long}
    out_of_order: list[str] = []
    by_user: dict[str, list[str]] = defaultdict(list)
    for r in messages:
        by_user[str(r.fields["sender"])].append(str(r.fields["msgId"]))
    for user, ids in sorted(by_user.items()):
        answered = [first[m] for m in ids if m in first]
        if answered != sorted(answered):
            out_of_order.append(user)
    unacked, unanswered = click_outcomes(records)
    api = [r for r in records if r.kind == RecordKind.API]
    refused = [r for r in api if r.fields.get("status") == 403]
    too_fast = [
        r
        for r in records
        if r.kind == RecordKind.WEBHOOK and str(r.fields.get("errcode")) == str(TOO_FAST[0])
    ]
    metered_at = generic.metered_times(records)
    metered = len(metered_at)
    # the arrivals' span: the plan's duration, or later when sessions waited for a free user
    span = max(plan.workload.duration, 1.0, *(q.at for q in asked if q.waited > 0))
    figures: dict[str, Any] = {
        "questions": len(ask_at),
        "answers": total,
        "answers_per_question": norm,
        "lost": len(lost),
        "doubled": len(doubled),
        "unfinished": len(unfinished),
        "cross_talk": len(crossed),
        "out_of_order": len(out_of_order),
        "p95_first_answer": p95(list(latency.values())),
        "p95_first_answer_short": p95([v for m, v in latency.items() if m not in long_ids]),
        "p95_final_answer": p95(list(complete.values())),
        "api_calls": len(api),
        "rate_403": round(len(refused) / len(api), 4) if api else 0.0,
        "webhook_too_fast": len(too_fast),
        "metered_calls": metered,
        "calls_per_answer": round(metered / total, 2) if total else float(metered),
        "monthly_calls": round(metered / span * plan.workload.month_hours * 3600),
        "violations": sum(1 for r in records if r.kind == "violation"),
        "faults": dict(
            sorted(Counter(str(r.fields.get("fault")) for r in records if r.kind == "fault").items())
        ),
        "redeliveries": sum(1 for r in records if r.kind == "redeliver"),
        "reconnects": max(0, sum(1 for r in records if r.kind == "connect") - replicas(plan)),
        # the robot connections its messages went to (several: replicas, or reconnects)
        "robot_connections": len(
            {
                str(r.fields.get("connection"))
                for r in records
                if r.kind == "push" and r.fields.get("type") == "CALLBACK"
            }
        ),
        # sessions that found every user of the plan in one and waited (the rate not kept)
        "sessions_waited": sum(1 for q in asked if q.waited > 0),
        "longest_session_wait": max((q.waited for q in asked), default=0.0),
        "clicks": sum(1 for r in records if r.kind == "click"),
        "clicks_unacked": len(unacked),
        "clicks_unanswered": len(unanswered),
        "month_hours": plan.workload.month_hours,
        "monthly_quota": with_tier(plan.platform).get("monthly_quota"),  # a tier's, or set
        "duration": span,
        "ran_for": round(end, 3),
        "latencies": [
            [round(ask_at[m], 3), v] for m, v in sorted(latency.items(), key=lambda i: ask_at[i[0]])
        ],
        "finals": [[round(ask_at[m], 3), v] for m, v in sorted(complete.items(), key=lambda i: ask_at[i[0]])],
        "arrivals": [round(t, 3) for t in sorted(ask_at.values())],
        "refused_at": [round(r.t, 3) for r in refused],
        # metered calls and completed answers per interval: calls per answer over the run
        "metered_at": [round(t, 3) for t in metered_at],
        "completed_at": sorted(round(final[m], 3) for m in ask_at if m in final),
    }
    named = {
        "lost": lost,
        "doubled": doubled,
        "unfinished": unfinished,
        "cross_talk": [c.message for c in crossed],
        "out_of_order": out_of_order,
        "clicks_unacked": unacked,
        "clicks_unanswered": unanswered,
    }
    verdict = Verdict(figures)
    for name, limit in plan.thresholds.items():
        value = figures.get(name)
        if value is None:
            continue
        if value > limit:
            what = THRESHOLDS[name][0]
            involved = named.get(name, [])
            shown = f": {', '.join(map(str, involved[:5]))}" + (" …" if len(involved) > 5 else "")
            verdict.failed[name] = f"{name} = {value}, expected at most {limit:g} ({what})" + (
                shown if involved else ""
            )
    return verdict


def replicas(plan: LoadPlan) -> int:
    """How many copies of the robot the plan runs (``robot: {command: ..., replicas: N}``)."""
    robot = plan.robot
    return int(robot.get("replicas", 1)) if isinstance(robot, dict) else 1


def projection(figures: dict[str, Any]) -> str:
    """The month at the observed rate against the quota (or, with none set, against the
    standard edition's): what share it uses, and the day it runs out."""
    calls, quota = figures["monthly_calls"], figures.get("monthly_quota")
    against = f"the quota of {quota} calls"
    if not quota:
        quota = TIERS["standard"].monthly_quota
        against = f"the standard edition's quota of {quota} calls (no monthly_quota set)"
    if not quota:
        return ""
    line = f"the month's projection is {calls} calls, {calls / quota:.0%} of {against}"
    if calls > quota:
        hours = figures.get("month_hours", 176.0)
        line += f": used up after about {hours * quota / calls:.3g} of the month's {hours:g} business hours"
    return line


def bottleneck(figures: dict[str, Any]) -> str:
    """Where the time went, in a sentence: the platform's limits, the robot, or its agent. The
    robot's part is the wait for a first answer (a robot that keeps up answers, or shows a
    thinking card, at once); the agent's is the rest, from first answer to complete."""
    if figures.get("rate_403", 0) > 0:
        return (
            "the platform's limits: calls were refused with 403 (QPS per app and API, or "
            "the monthly quota); fewer calls per answer or a throttle would help"
        )
    if figures.get("webhook_too_fast", 0) > 0:
        return (
            f"the platform's limits: {figures['webhook_too_fast']} webhook replies were refused "
            f"with errcode {TOO_FAST[0]} (20 messages a minute per robot); a robot past it "
            "needs to queue its replies, or answer by cards or the OpenAPI"
        )
    if figures.get("lost") or figures.get("doubled") or figures.get("unfinished"):
        return "the robot: it lost, doubled or left answers unfinished under this load"
    first, final = figures.get("p95_first_answer"), figures.get("p95_final_answer")
    if first is None or final is None:
        return "no limit reached at this load"
    if first >= SLOW_FIRST:
        return (
            f"the robot: questions waited {first:g} s for a first answer (p95); a robot that "
            "keeps up acks, then answers or shows a thinking card at once, whatever its agent does"
        )
    if final - first >= SLOW_FIRST:
        return (
            f"the agent: first answers came within {first:g} s (p95), complete answers after "
            f"{final:g} s (p95); the time between is the agent's (and the robot's card updates)"
        )
    return "no limit reached at this load"


SLOW_FIRST = 3.0  # seconds: a first answer (or thinking card) later than this keeps a user waiting
