"""Our robot as a scenario adapter: its ``robot:`` options and ``answer:`` blocks are checked
at load time, it is this repository's default, and its demo runs from ``python -m bot``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.scenario_adapter import BotAdapter, adapter
from fakeding.cli import main as fakeding_main
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.testing.scenarios.schema import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = """\
name: adapter
{robot}
users:
  ann: {{nick: Ann}}
conversations:
  g: {{type: group}}
steps:
  - at: 0
    say: {{user: ann, in: g, text: "hi"}}
    answer: {answer}
expect: {{cards: 1, unfinished_cards: 0, answers_per_message: 1, platform_errors_to_users: 0}}
"""


def write(tmp_path: Path, robot: str = "", answer: str = "{text: Hello there}") -> Path:
    path = tmp_path / "scenarios" / "adapter.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(SCENARIO.format(robot=robot, answer=answer), encoding="utf-8")
    return path


def test_this_repository_runs_scenarios_with_our_robot_by_default(tmp_path: Path) -> None:
    result = run_scenario(write(tmp_path))
    assert result.robot is adapter and not result.failed
    assert [e.name for e in result.expectations] == [
        "cards",
        "unfinished_cards",
        "answers_per_message",
        "platform_errors_to_users",
    ]


def test_the_adapter_can_be_named_explicitly(tmp_path: Path) -> None:
    path = write(tmp_path, 'robot: {adapter: "bot.scenario_adapter:adapter", maxUpdates: 3}')
    scenario = load_scenario(path)
    assert scenario.robot is adapter and scenario.options == {"maxUpdates": 3}


def test_an_unknown_robot_option_is_a_load_error_naming_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "robot:\n  locale: en\n  maxUpdate: 5")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(err.value).startswith(
        f"{path}:4: robot.maxUpdate: unknown key 'maxUpdate'; expected some of: agent, "
        "agentTimeout, aiCardTemplateId, authAttempts, cardCallbackUrl, cardMode, clientId"
    )


@pytest.mark.parametrize(
    ("robot", "problem"),
    [
        ("robot: {locale: fr}", "robot.locale: 'fr' is not one of ['en', 'zh']"),
        ("robot: {maxUpdates: 0}", "robot.maxUpdates: 0 is less than the minimum of 1"),
        ("robot: {agentTimeout: fast}", "robot.agentTimeout: 'fast' is not of type 'number'"),
    ],
)
def test_a_bad_robot_option_value_is_a_load_error(tmp_path: Path, robot: str, problem: str) -> None:
    path = write(tmp_path, robot)
    with pytest.raises(ScenarioError, match="^" + re.escape(f"{path}:2: {problem}")):
        load_scenario(path)


def test_an_unknown_answer_field_names_the_step(tmp_path: Path) -> None:
    path = write(tmp_path, answer="{text: hi, speed: 3}")
    with pytest.raises(
        ScenarioError,
        match=rf"^{path}:10: steps\[0\]\.answer\.speed: unknown key "
        r"'speed'; expected some of: chunks, delay",
    ):
        load_scenario(path)


def test_the_adapter_computes_every_expectation_it_declares(tmp_path: Path) -> None:
    result = run_scenario(write(tmp_path))
    assert set(BotAdapter().expectations(result)) == set(adapter.expectation_schema)


def test_the_kit_cli_points_at_the_robots_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert fakeding_main(["demo"]) == 2
    assert "python -m bot demo" in capsys.readouterr().err


def test_python_m_bot_demo_chats_and_prints_the_timeline() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--exit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "alice: How do I reset my password?" in out and "== card#3: update timeline ==" in out
    assert "feedback recorded: [('alice', 'helpful')]" in out
    assert "protocol violations: 0" in out
    assert "chat with the robot" not in out  # --exit: no serving afterwards


def test_the_demo_keeps_serving_the_emulator_until_interrupted() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        _chat_then_interrupt(proc)


def _chat_then_interrupt(proc: subprocess.Popen[str]) -> None:
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:  # the script runs first, then the address is printed
            if line.startswith("chat with the robot in your browser: "):
                url = line.split(": ", 1)[1].strip()
                break
        assert url is not None, proc.stderr.read() if proc.stderr else ""
        page = requests.get(url, timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        sent = requests.post(
            url + "_fakeding/messages",
            timeout=10,
            json={
                "conversation": {"id": "cidSupportGroup==", "type": "group"},
                "sender": {"staffId": "dave"},
                "text": "How do I reset my password?",
            },
        )
        assert sent.status_code == 200 and sent.json()["delivered"] is True
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the robot still answers: a fourth card appears
            if len(requests.get(url + "_fakeding/cards", timeout=10).json()) >= 4:
                break
            time.sleep(0.2)
        assert len(requests.get(url + "_fakeding/cards", timeout=10).json()) >= 4
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
