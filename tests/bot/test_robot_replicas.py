"""Two robot processes on one Redis, seen through what users get: 40 questions at once with
duplicated, late and lost frames (redeliveries landing on either replica) are answered once
each by both replicas together, and a user's memory follows them from one replica to the
other. The agent (``replica_agent``) writes its process id and the history it saw into the
answer, so the cards themselves say who answered and what they remembered."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path

from fakeding import ThreadedFakeDing

from .robust_kit import answer_text, ask, cards_by_user, final_users, instance, robot_env, start_robot
from .test_robot_redis import redis_url  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]
AGENT = "tests.bot.replica_agent:echo_replica"


def replica_env(fakeding: ThreadedFakeDing) -> dict[str, str]:
    """The robot's environment, able to import the test agent from this checkout."""
    env = robot_env(fakeding)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def final_text(fakeding: ThreadedFakeDing, user: str) -> str:
    [card] = cards_by_user(fakeding)[user]
    return answer_text(card["versions"][-1]["cardData"])


def test_two_replicas_answer_40_questions_once_through_duplicated_and_redelivered_frames(
    fakeding: ThreadedFakeDing,
    tmp_path: Path,
    redis_url: str,  # noqa: F811
    processes: list[subprocess.Popen[bytes]],
) -> None:
    fakeding.update_settings({"redelivery_delay": 1.0, "max_redeliveries": 5})
    fakeding.reset()
    env = replica_env(fakeding)
    for name in ("a", "b"):
        folder = instance(tmp_path / name, agent=AGENT, store=redis_url)
        processes.append(start_robot(folder, env, tmp_path / f"{name}.log"))
    fakeding.wait_for("connect", count=2, timeout=30)
    users = [f"q{i:02d}" for i in range(40)]
    faults = {"duplicate": 0, "delay": 0, "drop": 0}
    for i, user in enumerate(users):
        # three questions in four have a faulty first frame: sent twice, late (after its
        # redelivery, which may go to the other replica), or lost (only the redelivery arrives)
        action = ("duplicate", "delay", "drop", None)[i % 4]
        if action is not None:
            fakeding.fault({"kind": "frame", "action": action, "nth": 1, "delay": 2.5})
            faults[action] += 1
        ask(fakeding, f"Question of {user}?", user)
    assert faults == {"duplicate": 10, "delay": 10, "drop": 10}
    fakeding.wait_until(lambda: final_users(fakeding.fake) == set(users), timeout=90, what="40 final cards")
    # every frame that reached a robot was acked: 40 + the duplicates + the late originals
    fakeding.wait_until(
        lambda: len(fakeding.fake.timeline(["ack"])) >= 60,
        timeout=30,
        what="the late and duplicated frames acked",
    )
    time.sleep(1.0)  # a duplicate answered late would show up as a second card
    by_user = cards_by_user(fakeding)
    assert {u: len(c) for u, c in by_user.items()} == dict.fromkeys(users, 1)
    sends = [
        r
        for r in fakeding.timeline(["api"])
        if r["route"].endswith("/interactiveCards/send") and r["status"] == 200
    ]
    assert len(sends) == 40, "one thinking card per question: nobody answered twice"
    pids = {p.pid for p in processes}
    answered_by: dict[int, list[str]] = defaultdict(list)
    for user in users:
        text = final_text(fakeding, user)
        assert text.endswith("part 0. part 1. part 2."), (user, text)
        pid = int(text.split()[1])
        answered_by[pid].append(user)
    assert set(answered_by) == pids, f"both replicas answered: {dict(answered_by)}"
    timeline = fakeding.timeline(["push", "redeliver", "ack"])
    assert sum(1 for r in timeline if r["kind"] == "redeliver") >= 20, (
        "the late and lost frames were redelivered"
    )
    acked_on: dict[str, set[str]] = defaultdict(set)
    for record in timeline:
        if record["kind"] == "ack":
            acked_on[record["key"]].add(record["connection"])
    crossed = [key for key, conns in acked_on.items() if len(conns) == 2]
    assert crossed, "some message reached both replicas (a redelivery on the other one)"
    for process in processes:
        process.send_signal(signal.SIGTERM)
    assert [p.wait(30) for p in processes] == [0, 0]
    logs = "".join((tmp_path / f"{n}.log").read_text() for n in ("a", "b"))
    skips = logs.count("skipped message")
    assert skips >= faults["duplicate"] + faults["delay"], logs
    assert "being answered by live owner" in logs or "already answered" in logs, logs


def test_a_users_memory_follows_them_to_the_other_replica(
    fakeding: ThreadedFakeDing,
    tmp_path: Path,
    redis_url: str,  # noqa: F811
    processes: list[subprocess.Popen[bytes]],
) -> None:
    env = replica_env(fakeding)
    first = start_robot(instance(tmp_path / "a", agent=AGENT, store=redis_url), env, tmp_path / "a.log")
    processes.append(first)
    fakeding.wait_for("connect", timeout=30)
    ask(fakeding, "Where is my parcel?", "mia")
    fakeding.wait_until(lambda: final_users(fakeding.fake) == {"mia"}, timeout=30, what="mia's first answer")
    first_answer = final_text(fakeding, "mia")
    assert first_answer.startswith(f"replica {first.pid} saw 0 turn(s).")
    second = start_robot(instance(tmp_path / "b", agent=AGENT, store=redis_url), env, tmp_path / "b.log")
    processes.append(second)
    fakeding.wait_for("connect", count=2, timeout=30)
    first.send_signal(signal.SIGTERM)  # only the second replica is left to answer
    assert first.wait(30) == 0
    ask(fakeding, "And when does it arrive?", "mia")
    fakeding.wait_until(
        lambda: len(fakeding.fake.cards()) == 2 and final_users(fakeding.fake) == {"mia"},
        timeout=30,
        what="mia's follow-up answered",
    )
    follow_up = answer_text(cards_by_user(fakeding)["mia"][1]["versions"][-1]["cardData"])
    assert follow_up.startswith(
        f"replica {second.pid} saw 2 turn(s). [user: Where is my parcel?] [assistant: {first_answer}]"
    ), follow_up
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0


def test_stopped_while_the_store_holds_the_claims_every_acked_question_gets_a_final_card(
    fakeding: ThreadedFakeDing,
    tmp_path: Path,
    redis_url: str,  # noqa: F811
    processes: list[subprocess.Popen[bytes]],
) -> None:
    import redis

    robot = start_robot(
        instance(tmp_path / "a", agent=AGENT, store=redis_url, shutdownDeadline=2),
        replica_env(fakeding),
        tmp_path / "a.log",
    )
    processes.append(robot)
    fakeding.wait_for("connect", timeout=30)
    client = redis.Redis.from_url(redis_url)
    try:
        client.execute_command("CLIENT", "PAUSE", 8000, "WRITE")  # claims wait 8 s
        users = ["ann", "ben", "cal"]
        for user in users:
            ask(fakeding, f"Question of {user}?", user)
        fakeding.wait_for("ack", count=3, timeout=10)  # acked: the platform will not redeliver
        robot.send_signal(signal.SIGTERM)
        assert robot.wait(30) == 0
    finally:
        client.execute_command("CLIENT", "UNPAUSE")
        client.close()
    assert final_users(fakeding) == set(users), "no acked question is dropped at shutdown"
    for user in users:
        [card] = cards_by_user(fakeding)[user]
        notice = [e for e in card["versions"][-1]["cardData"]["contents"] if e["id"] == "notice"]
        assert notice and "send your question again" in notice[0]["text"], card
    log = (tmp_path / "a.log").read_text()
    assert log.count("acked but not yet claimed at shutdown") == 3, log
