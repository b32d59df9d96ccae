"""``fakeding scenario diff``: a changed answer between two builds is found, version by version;
a field that differs between two runs of one build (a random trace id) is ignored as noise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fakeding.core.exceptions import ConfigError
from fakeding.testing.scenario_diff import compare, diff_files, flatten, robot_spec

ROOT = Path(__file__).resolve().parents[2]
BUILD = """
import uuid
import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage

def card(text):
    return {{"contents": [{{"type": "markdown", "id": "answer", "text": text}},
                          {{"type": "text", "id": "trace", "text": str(uuid.uuid4())}}]}}

class Robot(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        msg = ChatbotMessage.from_dict(callback.data)
        text = msg.text.content.strip()
        biz = self.reply_card(card("thinking"), msg)
        self.update_card(biz, card({answer}))
        return AckMessage.STATUS_OK, "OK"
"""
SCENARIO = """name: two questions
users: {alice: {}}
conversations: {g: {type: group}}
steps:
  - at: 1
    say: {user: alice, in: g, text: hello}
  - at: 5
    say: {user: alice, in: g, text: what time is it}
"""


@pytest.fixture
def builds(tmp_path: Path) -> Path:
    (tmp_path / "build1.py").write_text(BUILD.format(answer='"echo: " + text'), encoding="utf-8")
    (tmp_path / "build2.py").write_text(
        BUILD.format(answer='"echo: " + (text.upper() if "time" in text else text)'), encoding="utf-8"
    )
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def robot(build: str) -> str:
    return f"{{handler: '{build}:Robot', path: ['.']}}"


def test_a_changed_answer_is_found_version_by_version_and_noise_ignored(builds: Path) -> None:
    report, code = diff_files(builds, [robot("build1"), robot("build2")])
    assert code == 1, report
    lines = report.splitlines()
    assert lines[1].startswith("1 difference(s) (4 field(s) differ between two runs of A")
    assert lines[2:] == [
        "card#2 v2:",
        '  card#2 v2 (update).contents[0].text: "echo: what time is it" → "echo: WHAT TIME IS IT"',
    ]
    assert "trace" not in report
    assert sorted(p.name for p in builds.parent.iterdir() if p.name.startswith(".")) == []


def test_the_same_build_twice_is_no_difference_through_the_cli(builds: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "fakeding.cli",
            "scenario",
            "diff",
            str(builds),
            "--robot",
            robot("build1"),
            "--robot",
            robot("build1"),
        ],
        cwd=builds.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no difference (4 field(s) differ between two runs of A: ignored" in run.stdout
    changed = subprocess.run(
        [
            sys.executable,
            "-m",
            "fakeding.cli",
            "scenario",
            "diff",
            str(builds),
            "--robot",
            robot("build1"),
            "--robot",
            robot("build2"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert changed.returncode == 1 and "WHAT TIME IS IT" in changed.stdout


def test_compare_and_flatten() -> None:
    out: dict[str, object] = {}
    flatten({"a": [{"b": 1}, '{"c": 2}'], "e": {}}, "x", out)
    assert out == {"x.a[0].b": 1, "x.a[1].c": 2, "x.e": {}}
    diffs, noise = compare({"k": 1, "n": 1}, {"k": 1, "n": 2}, {"k": 2, "n": 3, "new": 0})
    assert noise == {"n"}
    assert [d.line() for d in diffs] == ["  k: 1 → 2", "  new: (none) → 0"]


def test_bad_robot_arguments_are_named(builds: Path) -> None:
    with pytest.raises(ConfigError, match="expected --robot twice"):
        diff_files(builds, [robot("build1")])
    with pytest.raises(ConfigError, match="not a YAML mapping"):
        robot_spec("{handler: [")


def test_two_snapshot_sets_are_compared_section_by_section(tmp_path: Path) -> None:
    """CI keeps each build's reports; ``--snapshots`` says what changed between two sets."""
    import shutil

    source = Path(__file__).resolve().parents[2] / "scenarios" / "__snapshots__"
    a, b = tmp_path / "a", tmp_path / "b"
    for name in ("agent_error_mid_stream", "single_chat"):
        shutil.copytree(source / name, a / name)
        shutil.copytree(source / name, b / name)
    run = [sys.executable, "-m", "fakeding.cli", "scenario", "diff", "--snapshots", str(a), str(b)]
    same = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert (same.returncode, same.stdout.splitlines()[-1]) == (0, "no difference"), same.stderr
    report = b / "agent_error_mid_stream" / "agent_error_mid_stream.md"
    text = report.read_text(encoding="utf-8")
    report.write_text(text.replace("4 update(s)", "5 update(s)"), encoding="utf-8")
    changed = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    out = changed.stdout
    assert "agent_error_mid_stream/agent_error_mid_stream.md · Cards:" in out
    assert "-### card#1 · support · 4 update(s) · final" in out
    assert "+### card#1 · support · 5 update(s) · final" in out
    assert "single_chat" not in out and out.splitlines()[-1] == "1 difference(s)"
