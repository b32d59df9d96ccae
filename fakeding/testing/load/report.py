"""A load run for people: a text summary, the figures as JSON, and a self-contained HTML page
with plots (arrivals, time to first answer over time, 403s). Pure: strings out."""

from __future__ import annotations

import html
import json

from fakeding.testing.load.measure import Verdict, bottleneck, projection
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
    if month := projection(f):
        lines.append(f"  {month}")
    lines.append(f"bottleneck: {bottleneck(f)}")
    lines += [f"FAILED {why}" for why in verdict.failed.values()]
    lines.append("PASSED" if verdict.ok else f"FAILED: {', '.join(verdict.failed)}")
    return "\n".join(lines) + "\n"


def as_json(plan: LoadPlan, verdict: Verdict) -> str:
    return json.dumps(
        {
            "plan": str(plan.path),
            "name": plan.name,
            "ok": verdict.ok,
            "failed": verdict.failed,
            "thresholds": plan.thresholds,
            "figures": verdict.figures,
        },
        ensure_ascii=False,
        indent=2,
    )


def _svg(points: list[tuple[float, float]], span: float, title: str, color: str) -> str:
    """A scatter plot, 600x160, x in [0, span], y from 0 to the largest value."""
    width, height, pad = 600, 160, 30
    top = max((y for _, y in points), default=1.0) or 1.0
    dots = "".join(
        f'<circle cx="{pad + x / span * (width - 2 * pad):.1f}" '
        f'cy="{height - pad - y / top * (height - 2 * pad):.1f}" r="2" fill="{color}"/>'
        for x, y in points
    )
    return (
        f"<figure><figcaption>{html.escape(title)} (max {top:g})</figcaption>"
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}"><line x1="{pad}" y1="{height - pad}" '
        f'x2="{width - pad}" y2="{height - pad}" stroke="#888"/>{dots}</svg></figure>'
    )


def as_html(plan: LoadPlan, verdict: Verdict) -> str:
    f = verdict.figures
    span = float(f["duration"]) or 1.0
    buckets: dict[int, int] = {}
    width = max(span / 60, 1.0)
    for t in f["arrivals"]:
        buckets[int(t // width)] = buckets.get(int(t // width), 0) + 1
    arrivals = [(k * width, float(v)) for k, v in sorted(buckets.items())]
    latency = [(float(t), float(v)) for t, v in f["latencies"]]
    refused = [(float(t), 1.0) for t in f["refused_at"]]
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(str(f.get(n)))}</td>"
        f"<td>{'FAIL' if n in verdict.failed else 'ok'}</td></tr>"
        for n in THRESHOLDS
        if n in f
    )
    status = "PASSED" if verdict.ok else "FAILED: " + ", ".join(verdict.failed)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>load {html.escape(plan.name)}</title>
<style>body{{font:14px sans-serif;margin:2em;color:#1f2329}}td,th{{padding:2px 10px;
text-align:left}}figure{{margin:1em 0}}</style></head><body>
<h1>load {html.escape(plan.name)}: {html.escape(status)}</h1>
<p>{f["questions"]} questions from {plan.workload.users} users over {span:g} s;
bottleneck: {html.escape(bottleneck(f))}</p>
<p>{html.escape(projection(f))}</p>
<table><tr><th>figure</th><th>value</th><th>verdict</th></tr>{rows}</table>
{_svg(arrivals, span, "questions arriving per interval", "#0a66c2")}
{_svg(latency, span, "seconds to the first answer, by time asked", "#1a7f37")}
{_svg(refused, span, "calls refused with 403", "#d93026")}
</body></html>
"""
