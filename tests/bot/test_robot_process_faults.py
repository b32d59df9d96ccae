"""Real ``python -m bot run`` processes under faults: SIGTERM with 40 answers streaming drains
(exit 0, every card final); SIGKILL mid-answer and a restart finish that card (one card);
a wrong secret ends the process with exit 2 and one clear line."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from fakeding import ThreadedFakeDing

from .robust_kit import (
    answer_text,
    ask,
    cards_by_user,
    final_users,
    instance,
    is_final,
    robot_env,
    scripted_turns,
    start_robot,
)

INTERRUPTED = "The assistant was restarted while answering"


def test_sigterm_with_40_answers_streaming_exits_0_with_every_card_final(
    fakeding: ThreadedFakeDing, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    # 20-second answers, cut by the deadline; the deadline leaves room for a loaded CI machine
    folder = instance(tmp_path, agent=scripted_turns(40, 40, 0.5), shutdownDeadline=8)
    log = tmp_path / "robot.log"
    robot = start_robot(folder, robot_env(fakeding), log)
    processes.append(robot)
    fakeding.wait_for("connect", timeout=30)
    users = [f"u{i:02d}" for i in range(40)]
    for user in users:
        ask(fakeding, f"Question of {user}?", user)

    def all_streaming() -> bool:
        found = cards_by_user(fakeding.fake)
        return all(len(found.get(u, [{"versions": []}])[0]["versions"]) >= 2 for u in users)

    fakeding.wait_until(all_streaming, timeout=30, what="40 cards streaming")
    robot.send_signal(signal.SIGTERM)
    assert robot.wait(30) == 0, log.read_text()
    by_user = cards_by_user(fakeding)
    assert sorted(by_user) == users
    assert all(len(cards) == 1 for cards in by_user.values())
    unfinished = [u for u, cards in by_user.items() if not is_final(cards[0]["versions"][-1]["cardData"])]
    assert unfinished == [], log.read_text()
    notices = [u for u, cards in by_user.items() if INTERRUPTED in str(cards[0]["versions"][-1]["cardData"])]
    assert notices, "answers cut by the deadline say so on their final card"


def test_sigkill_mid_answer_then_a_restart_finishes_that_card_once(
    fakeding: ThreadedFakeDing, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    folder = instance(tmp_path, agent=scripted_turns(2, 6, 0.5))
    log = tmp_path / "robot.log"
    env = robot_env(fakeding)
    first = start_robot(folder, env, log)
    processes.append(first)
    fakeding.wait_for("connect", timeout=30)
    ask(fakeding, "Will you finish?", "kim")
    fakeding.wait_until(
        lambda: len(cards_by_user(fakeding.fake).get("kim", [{"versions": []}])[0]["versions"]) >= 2,
        timeout=30,
        what="kim's card streaming",
    )
    first.kill()
    first.wait(10)
    assert final_users(fakeding) == set(), "the killed robot left the card streaming"

    second = start_robot(folder, env, log)
    processes.append(second)
    fakeding.wait_until(
        lambda: final_users(fakeding.fake) == {"kim"},
        timeout=60,
        what="kim's card finished by the restarted robot",
    )
    [card] = cards_by_user(fakeding)["kim"]
    assert (
        answer_text(card["versions"][-1]["cardData"]).split()
        == " ".join(f"part {i}." for i in range(6)).split()
    )
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0
    output = log.read_text()
    assert "recovery: message" in output and "carded" in output, output


def test_a_wrong_secret_ends_the_process_with_exit_2_and_one_clear_line(
    fakeding: ThreadedFakeDing, tmp_path: Path
) -> None:
    folder = instance(tmp_path, authAttempts=2)
    log = tmp_path / "robot.log"
    robot = start_robot(folder, robot_env(fakeding, secret="not-the-secret"), log)
    try:
        code = robot.wait(60)
    finally:
        if robot.poll() is None:
            robot.kill()
    output = log.read_text()
    assert code == 2, output
    [reason] = [line for line in output.splitlines() if line.startswith("bot: ")]
    assert "refused clientId=" in reason and "2 times" in reason
    assert "DINGTALK_CLIENT_SECRET" in reason
    assert "not-the-secret" not in output
    assert "Traceback" not in output
    refused = [line for line in output.splitlines() if " ERROR bot.stream: " in line]
    assert refused and "check the clientId and clientSecret" in refused[0]


def test_sigterm_while_the_robot_is_still_starting_is_a_clean_stop(
    fakeding: ThreadedFakeDing, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "robot.log"
    robot = start_robot(instance(tmp_path), robot_env(fakeding), log)
    processes.append(robot)
    deadline = time.monotonic() + 30
    while "robot " not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.005)  # main() has begun; the backend (SDK, agent) is still being imported
    robot.send_signal(signal.SIGTERM)
    assert robot.wait(30) == 0, log.read_text()
    assert "robot stopped" in log.read_text()
