"""A real ``python -m bot run`` in AI-card mode killed mid-answer: the restarted robot takes
the message over and finishes the same card instance (one card, closed once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from fakeding import ThreadedFakeDing

from .robust_kit import ask, instance, robot_env, start_robot


def kim_cards(fake: Any) -> list[dict[str, Any]]:
    return [c for c in fake.cards() if c["user"] == "kim"]


def flow(card: dict[str, Any]) -> str:
    return str(card["versions"][-1]["cardData"].get("flowStatus"))


def test_sigkill_mid_stream_then_a_restart_finishes_the_same_ai_card_once(
    fakeding: ThreadedFakeDing, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    turn = {"chunks": [f"part {i}. " for i in range(6)], "delay": 0.5}
    folder = instance(tmp_path, agent={"name": "scripted", "turns": [turn, turn]}, cardMode="ai")
    log = tmp_path / "robot.log"
    env = robot_env(fakeding)
    first = start_robot(folder, env, log)
    processes.append(first)
    fakeding.wait_for("connect", timeout=30)
    ask(fakeding, "Will you finish?", "kim")

    def streaming(fake: Any) -> bool:
        found = kim_cards(fake)
        return bool(found) and any(v["via"] == "stream" for v in found[0]["versions"])

    fakeding.wait_until(lambda: streaming(fakeding.fake), timeout=30, what="kim's card streaming")
    first.kill()
    first.wait(10)
    [card] = kim_cards(fakeding)
    assert flow(card) == "1", "the killed robot left the card open"

    second = start_robot(folder, env, log)
    processes.append(second)
    fakeding.wait_until(
        lambda: flow(kim_cards(fakeding.fake)[0]) == "3",
        timeout=60,
        what="kim's AI card finished by the restarted robot",
    )
    [card] = kim_cards(fakeding)
    assert card["kind"] == "instance"
    final = card["versions"][-1]["cardData"]["content"]
    assert final.split() == " ".join(f"part {i}." for i in range(6)).split()
    closes = [
        r
        for r in fakeding.timeline(["api"])
        if r["route"] == "PUT /v1.0/card/streaming"
        and r["status"] == 200
        and (r["request"]["isFinalize"] or r["request"]["isError"])
    ]
    assert len(closes) == 1
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0
    output = log.read_text()
    assert "recovery: message" in output and "carded" in output, output


def test_python_m_bot_demo_runs_in_ai_card_mode() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--card-mode", "ai", "--exit"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "v1 create   thinking" in out and "stream   final content=" in out
    assert "(seen by alice only) vote: You rated: 😊 Helpful" in out
    # drawn from the robot's own template (the demo loads bot/templates): buttons and tally
    assert "    [ 😊 Helpful ]" in out and "    Feedback so far: 😊 Helpful 1" in out
    assert "feedback recorded: [('alice', 'helpful')]" in out
    assert "protocol violations: 0" in out
