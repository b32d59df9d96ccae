"""``snapshot: false`` (per file) and ``fakeding_snapshots = false`` (ini): scenario tests that
check expectations only, in a project that is not ours (pytester runs pytest in a subprocess)
with a real robot process (the official SDK's echo robot)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROBOT = Path(__file__).resolve().parents[2] / "scenarios" / "byo" / "robots" / "sdk_echo_robot.py"


def scenario(snapshot: str, answers: int) -> str:
    return (
        f"name: echo\n{snapshot}robot: {{command: [python, {ROBOT}]}}\n"
        "users: {alice: {}}\nconversations: {g: {type: group}}\n"
        "steps:\n  - {at: 0.1, say: {user: alice, in: g, text: hi}}\n"
        f"expect: {{answers: {answers}, violations: 0}}\n"
    )


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("DINGTALK_OPENAPI_ENDPOINT", raising=False)
    (pytester.path / "scenarios").mkdir()
    return pytester


def write(project: pytest.Pytester, name: str, text: str) -> None:
    (project.path / "scenarios" / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_snapshot_false_checks_expectations_only(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nfakeding_scenarios = scenarios\n")
    write(project, "met", scenario("snapshot: false\n", 1))
    write(project, "unmet", scenario("snapshot: false\n", 3))
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "unmet.yaml: expectations not met: answers: expected 3, found 1" in out
    assert "## Transcript" in out  # no snapshot diff to read: the report is shown
    assert not (project.path / "scenarios" / "__snapshots__").exists()


def test_the_ini_option_applies_to_files_that_say_nothing(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nfakeding_scenarios = scenarios\nfakeding_snapshots = false\n")
    write(project, "quiet", scenario("", 1))
    write(project, "compared", scenario("snapshot: true\n", 1))
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(passed=1, failed=1)  # "compared" has no snapshot yet
    result.stdout.fnmatch_lines(["FAILED scenarios/compared.yaml::compared*"])
