"""The pytest plugin in projects that are not ours (pytester runs a fresh pytest in a subprocess).

It must not touch a session that does not ask for the fake, must collect scenarios only from
the folders the project names, and must make the docs' example (docs/how-to/pytest.md) work as pasted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PYTEST_PAGE = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "pytest.md"


def docs_example() -> str:
    """The first ``python`` block of the pytest how-to, as a user pastes it."""
    text = PYTEST_PAGE.read_text(encoding="utf-8")
    found = re.search(r"^```python\n(.*?)^```$", text, re.M | re.S)
    assert found, f"no python example in {PYTEST_PAGE}"
    return found[1]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("DINGTALK_OPENAPI_ENDPOINT", raising=False)
    return pytester


def test_a_session_that_never_asks_is_left_alone(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_plain="""
        import os, threading
        def test_nothing_changed():
            assert "DINGTALK_OPENAPI_ENDPOINT" not in os.environ
            assert "fakeding" not in [t.name for t in threading.enumerate()]
    """
    )
    (project.path / "scenarios").mkdir()
    (project.path / "scenarios" / "data.yaml").write_text("not: [a scenario\n")
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_docs_pytest_example_runs_as_pasted(project: pytest.Pytester) -> None:
    example = docs_example()
    assert "def test_" in example and "fakeding" in example, example
    project.makepyfile(test_docs_example=example)
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_endpoint_is_restored_after_the_session(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_env="""
        import os
        import dingtalk_stream
        def test_uses_the_fake(fakeding):
            assert os.environ["DINGTALK_OPENAPI_ENDPOINT"] == fakeding.http_url
    """,
        conftest="""
        import os
        def pytest_unconfigure(config):
            import dingtalk_stream.utils
            print("after:", os.environ.get("DINGTALK_OPENAPI_ENDPOINT"))
            print("sdk:", dingtalk_stream.utils.DINGTALK_OPENAPI_ENDPOINT)
    """,
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    # the variable comes back; an SDK client left running stays pointed at loopback, never
    # at the real DingTalk
    result.stdout.fnmatch_lines(["after: None", "sdk: http://127.0.0.1:*"])


def test_scenarios_are_collected_only_from_named_folders(project: pytest.Pytester) -> None:
    for folder in ("my_scenarios", "scenarios"):
        (project.path / folder).mkdir()
        (project.path / folder / "hello.yaml").write_text(
            "name: hello\nusers: {alice: {}}\nconversations: {g: {type: group}}\n"
            "steps:\n  - {at: 0, say: {user: alice, in: g, text: hi}}\n"
        )
    project.makeini("[pytest]\nfakeding_scenarios = my_scenarios\n")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only", "-q")
    out = result.stdout.str()
    assert "my_scenarios/hello.yaml" in out  # collected (or refused for naming no robot)
    assert "scenarios/hello.yaml" not in out.replace("my_scenarios/", "")
