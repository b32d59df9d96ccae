"""What a robot costs and whether its answers cross, as scenario expectations: ``metered_calls``
(the monthly quota's count), ``api_calls_per_answer`` (upper bounds) and ``cross_talk``; and a
``platform: {monthly_quota: N}`` that the robot runs into."""

from __future__ import annotations

from pathlib import Path

from fakeding.testing.scenarios.runner import run_scenario

QUESTION = """
name: costs
users: {bob: {nick: Bob}, ann: {nick: Ann}}
conversations: {bob_dm: {type: single}, ann_dm: {type: single}}
{platform}
steps:
  - at: 0
    say: {user: bob, in: bob_dm, text: "Where can I download my invoices?"}
    answer: {text: "Every invoice is under Settings, Billing, Invoices. ", words_per_chunk: 3, delay: 0.8}
  - at: 0.1
    say: {user: ann, in: ann_dm, text: "How do I reset my password?"}
    answer: {text: "Use the reset link on the sign-in page. ", words_per_chunk: 3, delay: 0.8}
expect:
  {expect}
"""


def write(tmp_path: Path, expect: str, platform: str = "") -> Path:
    path = tmp_path / "costs.yaml"
    path.write_text(QUESTION.replace("{platform}", platform).replace("{expect}", expect), encoding="utf-8")
    return path


def test_costs_and_cross_talk_are_measured_per_answer(tmp_path: Path) -> None:
    result = run_scenario(
        write(tmp_path, "{cross_talk: 0, metered_calls: 40, api_calls_per_answer: 20}"), robot="bot"
    )
    found = {e.name: e for e in result.expectations}
    metered = [
        r
        for r in result.records
        if r.kind == "api" and "oauth2" not in r.fields["route"] and "gateway" not in r.fields["route"]
    ]
    assert found["metered_calls"].found == len(metered) > 2
    assert found["api_calls_per_answer"].found == round(len(metered) / 2, 2)
    assert found["cross_talk"].found == 0
    assert all(e.ok for e in result.expectations), [e for e in result.expectations if not e.ok]
    tight = run_scenario(write(tmp_path, "{api_calls_per_answer: 1}"), robot="bot")
    (over,) = [e for e in tight.expectations if e.name == "api_calls_per_answer"]
    assert not over.ok and over.found > 1  # an upper bound the robot's card updates exceed


def test_a_monthly_quota_the_robot_runs_into(tmp_path: Path) -> None:
    result = run_scenario(write(tmp_path, "{metered_calls: 3}", "platform: {monthly_quota: 3}"), robot="bot")
    refused = [
        r
        for r in result.records
        if r.kind == "api"
        and r.fields["status"] == 403
        and r.fields["response"]["code"] == "Forbidden.AccessDenied.ApiCountLimitForOrg"
    ]
    assert refused, "the robot made more metered calls than the quota allows"
    (metered,) = [e for e in result.expectations if e.name == "metered_calls"]
    assert metered.found == 3 and metered.ok  # refused calls are not counted
