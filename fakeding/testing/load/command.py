"""Runs a load plan: compile it to a scenario beside the plan (relative paths keep their
meaning), run it, measure, report. Exit 0 when every threshold holds, 1 when one fails (at the
plan's own rate, also when a capacity search runs it at others)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from fakeding.core.exceptions import ConfigError
from fakeding.testing.load import capacity as search
from fakeding.testing.load import report
from fakeding.testing.load.measure import Verdict, measure
from fakeding.testing.load.plan import LoadPlan, load_plan
from fakeding.testing.load.workload import questions, scenario


def run(plan: LoadPlan) -> Verdict:
    from fakeding.testing.scenarios.runner import run_scenario

    asked = questions(plan.workload)
    data = scenario(plan, asked)
    twin = plan.path.with_name(f".{plan.path.stem}.load-{os.getpid()}.yaml")
    twin.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        result = run_scenario(twin)
    except ConfigError as exc:  # named in the plan's words: the twin is gone, its lines are not the plan's
        said = re.sub(
            rf"(?:{re.escape(str(twin))}|{re.escape(twin.name)})(?::\d+)?", str(plan.path), str(exc)
        )
        raise ConfigError(said) from None
    finally:
        twin.unlink(missing_ok=True)
    return measure(plan, asked, result.records, result.transcript, result.cards, result.end)


def run_plan(
    path: Path,
    *,
    json_path: Path | None = None,
    html_path: Path | None = None,
    judge_url: str | None = None,
    settle: float = 30.0,
    capacity_runs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[str, int]:
    """The text report and the exit code; ``--json`` and ``--html`` write the rest. With
    ``judge_url`` nothing is run: the records of the fake serving there (a run driven by
    Locust, say) are judged against the plan's thresholds, once settled. With
    ``capacity_runs`` the plan also runs at other rates (at most that many runs in all) to
    find the highest that holds; ``progress`` hears of each run as it ends."""
    plan = load_plan(path)
    if capacity_runs is not None:
        if judge_url is not None:
            raise ConfigError(
                "--capacity runs the robot at several rates; it cannot judge a finished run (--judge)"
            )

        def said(step: search.Step) -> None:
            if progress is not None:
                verdict = "held" if step.verdict.ok else "failed " + ", ".join(step.verdict.failed)
                progress(f"  {step.rate:.4g} questions/s: {verdict}")

        found = search.search(plan, run, max_runs=capacity_runs, on_step=said)
        own = next(s for s in found.steps if s.rate == found.plan_rate)
        text, code = report_plan(plan, own.verdict, json_path=json_path, html_path=html_path, capacity=found)
        return text + report.capacity_text(plan, found), code
    if judge_url is not None:
        from fakeding.testing.load.remote import judge
        from fakeding.testing.load.remote import settle as settled

        verdict = judge(plan, settled(judge_url, limit=settle, final_when=plan.final_when))
    else:
        verdict = run(plan)
    return report_plan(plan, verdict, json_path=json_path, html_path=html_path)


def report_plan(
    plan: LoadPlan,
    verdict: Verdict,
    *,
    json_path: Path | None = None,
    html_path: Path | None = None,
    capacity: search.Capacity | None = None,
) -> tuple[str, int]:
    if json_path is not None:
        json_path.write_text(report.as_json(plan, verdict, capacity), encoding="utf-8")
    if html_path is not None:
        html_path.write_text(report.as_html(plan, verdict, capacity), encoding="utf-8")
    return report.text(plan, verdict), 0 if verdict.ok else 1
