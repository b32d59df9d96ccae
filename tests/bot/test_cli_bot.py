"""``python -m bot run`` as a real process: connects, answers from the FAQ, stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.elements import ELEMENTS_DIR
from bot.im_robots.dingtalk_stream.config import load_config
from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing

DEMO = ELEMENTS_DIR / "imRobots.dingTalkDemo"
PACKAGE = ELEMENTS_DIR.parent
SECRET = "s3cr3t-Never-Print-Me-42"
QUESTION = "How do I reset my password?"


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DINGTALK_", "OPENAI_"))}
    env.update(values)
    return env


def faq_answer(question: str) -> str:
    source = (DEMO / "faq.md").read_text(encoding="utf-8")
    found = re.search(rf"^## {re.escape(question)}\n(.*?)(?=^## |\Z)", source, re.M | re.S)
    assert found is not None
    return words(found.group(1))


def words(text: str) -> str:
    """Text with its line wrapping ignored (the robot may re-flow hard-wrapped lines)."""
    return " ".join(text.split())


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_connects_answers_from_the_faq_and_exits_0_on_sigterm(
    fakeding: ThreadedFakeDing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = clean_env(
        DINGTALK_OPENAPI_ENDPOINT=fakeding.http_url,
        DINGTALK_CLIENT_ID=DEFAULT_CLIENT_ID,
        DINGTALK_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
    )
    monkeypatch.chdir(tmp_path)
    store = load_config(DEMO, env=env).store_path()
    assert store.is_relative_to(tmp_path), f"the robot would write its store at {store}"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    answer, out, err = ask_then_stop(fakeding, process, "cidCli")
    assert words(answer) == faq_answer(QUESTION)
    assert process.returncode == 0, err
    assert "robot stopped" in out
    assert f"clientId={DEFAULT_CLIENT_ID}" in out
    assert DEFAULT_CLIENT_SECRET not in out + err
    assert store.is_file(), "the store lives under the working directory"
    fakeding.wait_for("disconnect", timeout=10)


def test_without_credentials_or_endpoint_the_cli_exits_2_naming_the_variable(tmp_path: Path) -> None:
    result = run_cli([], clean_env(DINGTALK_CLIENT_SECRET=SECRET), tmp_path)
    assert result.returncode == 2
    assert "DINGTALK_CLIENT_ID" in result.stderr
    assert "config.json" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_without_any_variable_the_cli_exits_2_naming_the_client_id(tmp_path: Path) -> None:
    result = run_cli([], clean_env(), tmp_path)
    assert result.returncode == 2
    assert "DINGTALK_CLIENT_ID" in result.stderr
    assert "Traceback" not in result.stderr


def test_placeholder_credentials_in_live_mode_exit_2_without_printing_the_secret(tmp_path: Path) -> None:
    existed = (DEMO / "bot-data").exists()
    env = clean_env(DINGTALK_CLIENT_ID="your-client-id", DINGTALK_CLIENT_SECRET=SECRET)
    result = run_cli([], env, tmp_path)
    assert result.returncode == 2
    assert "clientId" in result.stderr and "DINGTALK_OPENAPI_ENDPOINT" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert (DEMO / "bot-data").exists() == existed, "refused before creating its store"


def test_an_unknown_instance_folder_exits_2(tmp_path: Path) -> None:
    result = run_cli([str(tmp_path / "nowhere")], clean_env(), tmp_path)
    assert result.returncode == 2
    assert "nowhere" in result.stderr and "Traceback" not in result.stderr


def test_the_default_instance_keeps_its_data_out_of_the_installed_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `python -m bot run` uses the bundled instance; its SQLite store must not be written
    # inside the package (often read-only, and shared by every process using the install).
    monkeypatch.chdir(tmp_path)
    cfg = load_config(DEMO, env={"DINGTALK_CLIENT_ID": "a", "DINGTALK_CLIENT_SECRET": "b"})
    store = cfg.store_path().resolve()
    assert not store.is_relative_to(PACKAGE.resolve()), f"store would be written at {store}"


def test_a_tutorial_instance_with_backend_dot_runs_and_answers(
    fakeding: ThreadedFakeDing, tmp_path: Path
) -> None:
    """An instance written as the JitAi tutorial writes it (``backendBundleEntry: "."``): the
    Type's backend runs it, no ``TypeError`` about relative imports."""
    from tests.bot.test_elements import tutorial_instance

    instance = tutorial_instance(tmp_path / "imRobots.dingTalkDemo")
    env = clean_env(
        DINGTALK_OPENAPI_ENDPOINT=fakeding.http_url,
        DINGTALK_CLIENT_ID=DEFAULT_CLIENT_ID,
        DINGTALK_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", str(instance)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    answer, out, err = ask_then_stop(fakeding, process, "cidTutorial")
    assert words(answer) == faq_answer(QUESTION)
    assert process.returncode == 0, err
    assert "imRobots.dingTalkDemo → imRobots.dingTalkStreamType → imRobots.Meta" in out


def test_an_unusable_e_json_is_one_line_on_stderr_and_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "e.json").write_text(
        '{"title": "x", "type": "imRobots.dingTalkStreamType", "backendBundleEntry": "./inner.py"}',
        encoding="utf-8",
    )
    done = run_cli([str(folder)], clean_env(), tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"bot: {folder / 'e.json'}: field backendBundleEntry must be")


def ask_then_stop(
    fakeding: ThreadedFakeDing, process: subprocess.Popen[str], conversation: str
) -> tuple[str, str, str]:
    """Ask the robot process QUESTION, wait for its final card, SIGTERM it: (answer, out, err)."""
    try:
        fakeding.wait_for("connect", timeout=30)
        fakeding.send_message(QUESTION, conversation_id=conversation, staff_id="alice")

        def final_answer() -> str | None:  # runs on the fake's own loop
            for card in fakeding.fake.platform.cards.all():
                contents = card.current.get("contents", [])
                if any(e.get("id") == "feedback" for e in contents):
                    return str(contents[0]["text"])
            return None

        answer: str = fakeding.wait_until(final_answer, timeout=30, what="a final card")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return answer, out, err
