"""A load run for people: a text summary, the figures as JSON, and a self-contained HTML page
with plots (arrivals, time to first and to complete answer over time, 403s, calls per answer)
and, after a capacity search, the rates tried. Pure: strings out."""

from __future__ import annotations

import html
import json
from typing import Any

from fakeding.testing.load.capacity import Capacity
from fakeding.testing.load.measure import Verdict, bottleneck, per_interval, projection
from fakeding.testing.load.plan import THRESHOLDS, LoadPlan


def text(plan: LoadPlan, verdict: Verdict) -> str:
    f = verdict.figures
    lines = [
        f"load {plan.name}: {f['questions']} questions from {plan.workload.users} users over "
        f"{f['duration']:g} s ({f['answers']} answers, {f['answers_per_question']} per "
        "question)"
    ]
    for name in THRESHOLDS:
        if name in f:
            limit = plan.thresholds.get(name)
            mark = ("FAIL" if name in verdict.failed else "ok") if limit is not None else "-"
            bound = f" (at most {limit:g})" if limit is not None else ""
            lines.append(f"  {name}: {f[name]}{bound} {mark}")
    if f.get("faults"):
        injected = ", ".join(f"{kind} {n}" for kind, n in f["faults"].items())
        lines.append(
            f"  faults injected: {injected}; {f['redeliveries']} redeliveries, {f['reconnects']} reconnects"
        )
    if f.get("clicks"):
        lines.append(f"  clicks: {f['clicks']} on answers' buttons")
    if waited := users_short(plan, f):
        lines.append(f"  {waited}")
    if month := projection(f):
        lines.append(f"  {month}")
    lines.append(f"bottleneck: {bottleneck(f)}")
    lines += [f"FAILED {why}" for why in verdict.failed.values()]
    lines.append("PASSED" if verdict.ok else f"FAILED: {', '.join(verdict.failed)}")
    return "\n".join(lines) + "\n"


def as_json(plan: LoadPlan, verdict: Verdict, capacity: Capacity | None = None) -> str:
    data: dict[str, Any] = {
        "plan": str(plan.path),
        "name": plan.name,
        "ok": verdict.ok,
        "failed": verdict.failed,
        "thresholds": plan.thresholds,
        "figures": verdict.figures,
    }
    if capacity is not None:
        breaking = capacity.breaking
        data["capacity"] = {
            "rate": capacity.rate,
            "plan_rate": capacity.plan_rate,
            "breaking_rate": breaking.rate if breaking else None,
            "breaking_failed": breaking.verdict.failed if breaking else {},
            "bottleneck": bottleneck(breaking.verdict.figures) if breaking else None,
            "steps": [
                {
                    "rate": s.rate,
                    "ok": s.verdict.ok,
                    "failed": s.verdict.failed,
                    "figures": _summary(s.verdict),
                }
                for s in capacity.steps
            ],
        }
    return json.dumps(data, ensure_ascii=False, indent=2)


SUMMARY = (
    "questions",
    "p95_first_answer",
    "p95_final_answer",
    "rate_403",
    "webhook_too_fast",
    "calls_per_answer",
)


def _summary(verdict: Verdict) -> dict[str, Any]:
    return {k: verdict.figures.get(k) for k in SUMMARY}


def users_short(plan: LoadPlan, figures: dict[str, Any]) -> str:
    """Said when sessions waited for a free user: the arrivals fell behind the plan's rate."""
    n = figures.get("sessions_waited", 0)
    if not n:
        return ""
    return (
        f"{n} session(s) found all {plan.workload.users} users in a session and waited for one "
        f"(up to {figures.get('longest_session_wait', 0):g} s), so questions came slower than "
        "the plan's rate: give the plan more users"
    )


def capacity_text(plan: LoadPlan, capacity: Capacity) -> str:
    """The rates tried, the capacity found and what gave at the breaking point."""
    runs = len(capacity.steps)
    if capacity.rate is None:
        head = f"capacity of {plan.name}: none found, every rate tried failed ({runs} runs)"
    else:
        head = (
            f"capacity of {plan.name}: {capacity.rate:.4g} questions/s, the highest rate at which "
            f"every threshold held ({runs} runs; the plan's own rate is {capacity.plan_rate:.4g}/s)"
        )
    lines = [head, "  rate q/s  questions  p95 first s  p95 complete s  403 share  too fast  verdict"]
    for s in capacity.steps:
        f = s.verdict.figures
        verdict = "held" if s.verdict.ok else "FAILED " + ", ".join(s.verdict.failed)
        lines.append(
            f"  {s.rate:<8.4g}  {f.get('questions', 0):<9}  {_num(f.get('p95_first_answer')):<11}  "
            f"{_num(f.get('p95_final_answer')):<14}  {f.get('rate_403', 0):<9}  "
            f"{f.get('webhook_too_fast', 0):<8}  {verdict}"
        )
    breaking = capacity.breaking
    if breaking is None:
        lines.append("no rate tried failed: give --capacity more runs (--capacity 12, say) to go higher")
    else:
        lines += [f"at {breaking.rate:.4g}/s: {why}" for why in breaking.verdict.failed.values()]
        lines.append(f"bottleneck there: {bottleneck(breaking.verdict.figures)}")
    short = [s.rate for s in capacity.steps if s.verdict.figures.get("sessions_waited")]
    if short:
        lines.append(
            f"from {min(short):.4g}/s on, the plan's {plan.workload.users} users could not keep "
            "the rate (sessions waited for a free user): give the plan more users"
        )
    return "\n".join(lines) + "\n"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def _svg(points: list[tuple[float, float]], span: float, title: str, color: str, unit: str) -> str:
    """A scatter plot, 600x180: x from 0 to ``span`` seconds, y from 0 to the largest value."""
    width, height, left, pad = 600, 180, 44, 30
    if not points:
        return f"<figure><figcaption>{html.escape(title)}: none in this run</figcaption></figure>"
    top = max(y for _, y in points) or 1.0
    x_of = (width - left - pad) / span
    dots = "".join(
        f'<circle cx="{left + x * x_of:.1f}" cy="{height - pad - y / top * (height - 2 * pad):.1f}" '
        f'r="2" fill="{color}"/>'
        for x, y in points
    )
    ticks = "".join(
        f'<text x="{left + t * x_of:.1f}" y="{height - pad + 16}" text-anchor="middle">{t:g} s</text>'
        for t in (0.0, round(span / 2, 1), round(span, 1))
    )
    return (
        f"<figure><figcaption>{html.escape(title)}</figcaption>"
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}" font-size="11" fill="#57606a">'
        f'<line x1="{left}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#888"/>'
        f'<line x1="{left}" y1="{pad}" x2="{left}" y2="{height - pad}" stroke="#888"/>'
        f'<text x="{left - 4}" y="{pad + 4}" text-anchor="end">{top:g}</text>'
        f'<text x="{left - 4}" y="{height - pad}" text-anchor="end">0</text>'
        f'<text x="{left + 4}" y="{pad - 10}">{html.escape(unit)}</text>{ticks}{dots}</svg></figure>'
    )


def _per_answer(calls: list[float], completed: list[float], span: float) -> list[tuple[float, float]]:
    """Metered calls per answer completed, interval by interval (intervals with an answer)."""
    answers = dict(per_interval(completed, span))
    return [(t, round(n / answers[t], 2)) for t, n in per_interval(calls, span) if t in answers]


def as_html(plan: LoadPlan, verdict: Verdict, capacity: Capacity | None = None) -> str:
    f = verdict.figures
    span = float(f["duration"]) or 1.0
    shown = max(span, float(f.get("ran_for") or 0.0), 1.0)  # answers may come after the last question
    arrivals = [(t, float(n)) for t, n in per_interval(f["arrivals"], span)]
    first = [(float(t), float(v)) for t, v in f["latencies"]]
    final = [(float(t), float(v)) for t, v in f.get("finals", [])]
    refused = [(t, float(n)) for t, n in per_interval(f["refused_at"], shown)]
    per_answer = _per_answer(f.get("metered_at", []), f.get("completed_at", []), shown)
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(str(f.get(n)))}</td>"
        f"<td>{html.escape(_limit(plan, n))}</td><td>{_mark(plan, verdict, n)}</td></tr>"
        for n in THRESHOLDS
        if n in f
    )
    short = users_short(plan, f)
    status = "PASSED" if verdict.ok else "FAILED: " + ", ".join(verdict.failed)
    failed = "".join(f"<li>{html.escape(why)}</li>" for why in verdict.failed.values())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>load {html.escape(plan.name)}</title>
<style>body{{font:14px sans-serif;margin:2em;color:#1f2329;max-width:60em}}td,th{{padding:2px 10px;
text-align:left}}figure{{margin:1em 0}}.fail{{color:#b3261e;font-weight:bold}}</style></head><body>
<h1>load {html.escape(plan.name)}: {html.escape(status)}</h1>
<p>{f["questions"]} questions from {plan.workload.users} users over {span:g} s;
bottleneck: {html.escape(bottleneck(f))}</p>
<ul>{failed}</ul>
<p>{html.escape(projection(f))}</p>
{f"<p>{html.escape(short)}</p>" if short else ""}
{_capacity_html(plan, capacity) if capacity is not None else ""}
<h2>Figures of the run at the plan's rate</h2>
<table><tr><th>figure</th><th>value</th><th>at most</th><th>verdict</th></tr>{rows}</table>
{_svg(arrivals, span, "questions arriving, per interval", "#0a66c2", "questions")}
{_svg(first, shown, "seconds to the first answer (or thinking card), by time asked", "#1a7f37", "s")}
{_svg(final, shown, "seconds to the complete answer, by time asked", "#8250df", "s")}
{_svg(refused, shown, "calls refused with 403, per interval", "#d93026", "calls")}
{_svg(per_answer, shown, "metered calls per answer completed, per interval", "#9a6700", "calls")}
</body></html>
"""


def _limit(plan: LoadPlan, name: str) -> str:
    limit = plan.thresholds.get(name)
    return "-" if limit is None else f"{limit:g}"


def _mark(plan: LoadPlan, verdict: Verdict, name: str) -> str:
    if name in verdict.failed:
        return '<span class="fail">FAIL</span>'
    return "ok" if name in plan.thresholds else "-"


def _held(verdict: Verdict) -> str:
    if verdict.ok:
        return "held"
    return '<span class="fail">FAILED</span> ' + html.escape(", ".join(verdict.failed))


def _capacity_html(plan: LoadPlan, capacity: Capacity) -> str:
    rows = "".join(
        f"<tr><td>{s.rate:.4g}</td><td>{s.verdict.figures.get('questions', 0)}</td>"
        f"<td>{_num(s.verdict.figures.get('p95_first_answer'))}</td>"
        f"<td>{_num(s.verdict.figures.get('p95_final_answer'))}</td>"
        f"<td>{s.verdict.figures.get('rate_403', 0)}</td>"
        f"<td>{s.verdict.figures.get('webhook_too_fast', 0)}</td>"
        f"<td>{_held(s.verdict)}</td></tr>"
        for s in capacity.steps
    )
    breaking = capacity.breaking
    found = (
        "none of the rates tried held"
        if capacity.rate is None
        else f"{capacity.rate:.4g} questions a second, the highest rate at which every threshold held"
    )
    gave = (
        f"<p>At {breaking.rate:.4g}/s: {html.escape('; '.join(breaking.verdict.failed.values()))}. "
        f"Bottleneck there: {html.escape(bottleneck(breaking.verdict.figures))}.</p>"
        if breaking is not None
        else "<p>No rate tried failed.</p>"
    )
    return (
        f"<h2>Capacity: {html.escape(found)}</h2>{gave}"
        "<table><tr><th>rate q/s</th><th>questions</th><th>p95 first s</th><th>p95 complete s</th>"
        "<th>403 share</th><th>webhook replies refused as too fast</th><th>verdict</th></tr>"
        f"{rows}</table>"
    )
