"""``store: "redis://..."``: replicas of one robot share the work through a real
``redis-server``: every question answered once by one of them, memory in Redis, and a dead
replica's card finished by the other once its lease expires."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.soak_processes import redis_process
from bot.errors import ConfigError
from bot.im_robots.dingtalk_stream.config import RobotConfig, validate
from fakeding import ThreadedFakeDing

from .robust_kit import (
    DEMO,
    answer_text,
    ask,
    cards_by_user,
    final_users,
    instance,
    robot_env,
    scripted_turns,
    start_robot,
)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on a free loopback port, without persistence (the soak's own)."""
    try:
        import redis  # noqa: F401
    except ImportError:
        pytest.fail("the redis client library is missing; run: pip install redis")
    server = redis_process(tmp_path)
    try:
        url = server.__enter__()
    except RuntimeError as exc:  # not installed, or never answered: says which command fixes it
        pytest.fail(str(exc))
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


def test_an_unsupported_store_url_names_the_supported_schemes() -> None:
    cfg = RobotConfig(client_id="a", client_secret="b", store="mongodb://db/robot")
    with pytest.raises(ConfigError) as error:
        validate(cfg, DEMO / "config.json")
    assert "mongodb://db/robot" in str(error.value)
    assert "sqlite, redis, rediss" in str(error.value)


def test_two_replicas_answer_each_of_30_questions_once_and_share_memory(
    fakeding: ThreadedFakeDing, tmp_path: Path, redis_url: str, processes: list[subprocess.Popen[bytes]]
) -> None:
    import redis

    env = robot_env(fakeding)
    for name in ("a", "b"):
        folder = instance(tmp_path / name, agent=scripted_turns(40, 3, 0.2), store=redis_url)
        processes.append(start_robot(folder, env, tmp_path / f"{name}.log"))
    fakeding.wait_for("connect", count=2, timeout=30)
    fakeding.fault({"kind": "frame", "action": "duplicate", "count": 5})
    users = [f"r{i:02d}" for i in range(30)]
    for user in users:
        ask(fakeding, f"Question of {user}?", user)
    fakeding.wait_until(lambda: final_users(fakeding.fake) == set(users), timeout=60, what="30 final cards")
    time.sleep(1.0)  # a duplicate answered late would show up as a second card
    by_user = cards_by_user(fakeding)
    assert {u: len(c) for u, c in by_user.items()} == dict.fromkeys(users, 1)
    sends = [
        r
        for r in fakeding.timeline(["api"])
        if r["route"].endswith("/interactiveCards/send") and r["status"] == 200
    ]
    assert len(sends) == 30, "one thinking card per question: nobody answered twice"
    connections = {r["connection"] for r in fakeding.timeline(["ack"])}
    assert len(connections) == 2, "both replicas got and acked messages"
    for process in processes:
        process.send_signal(signal.SIGTERM)
    assert [p.wait(30) for p in processes] == [0, 0]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert client.llen("bot:memory:r07") == 2, "memory lives in Redis, for every replica"
        assert 0 < client.ttl("bot:memory:r07") <= 1800
        assert client.scard("bot:unfinished") == 0
        states = {client.hget(k, "state") for k in client.scan_iter("bot:progress:*")}
        assert states == {"finalized"}
    finally:
        client.close()


def test_a_replica_killed_mid_answer_has_its_card_finished_by_the_other(
    fakeding: ThreadedFakeDing, tmp_path: Path, redis_url: str, processes: list[subprocess.Popen[bytes]]
) -> None:
    env = robot_env(fakeding)
    first = start_robot(
        instance(tmp_path / "a", agent=scripted_turns(2, 8, 0.5), store=redis_url, ownerLease=3),
        env,
        tmp_path / "a.log",
    )
    processes.append(first)
    fakeding.wait_for("connect", timeout=30)
    ask(fakeding, "Who finishes this?", "zoe")
    fakeding.wait_until(
        lambda: len(cards_by_user(fakeding.fake).get("zoe", [{"versions": []}])[0]["versions"]) >= 2,
        timeout=30,
        what="zoe's card streaming",
    )
    second = start_robot(
        instance(tmp_path / "b", agent=scripted_turns(2, 8, 0.1), store=redis_url, ownerLease=3),
        env,
        tmp_path / "b.log",
    )
    processes.append(second)
    fakeding.wait_for("connect", count=2, timeout=30)
    first.kill()
    first.wait(10)
    fakeding.wait_until(
        lambda: final_users(fakeding.fake) == {"zoe"},
        timeout=60,
        what="zoe's card finished by the other replica",
    )
    [card] = cards_by_user(fakeding)["zoe"]
    assert (
        answer_text(card["versions"][-1]["cardData"]).split()
        == " ".join(f"part {i}." for i in range(8)).split()
    )
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0
    log = (tmp_path / "b.log").read_text()
    assert "recovery: message" in log, log


def test_soon_writes_of_many_messages_share_one_round_trip(redis_url: str) -> None:
    """30 messages' steps queued in one step of the loop go to Redis in one MULTI/EXEC, in
    order (the later state wins), and nothing is lost."""
    import asyncio

    import redis

    from bot.clock import LoopClock
    from bot.storage.redis_store import RedisStorage

    async def main() -> None:
        storage = RedisStorage(redis_url, LoopClock(epoch=1_700_000_000))
        for i in range(30):
            await storage.claim_message(f"app:m{i}", msg_id=f"m{i}", owner="me", payload="{}")
        for i in range(30):
            storage.set_progress_soon(f"app:m{i}", "carded", card_id=f"card{i}")
            storage.set_progress_soon(f"app:m{i}", "finalized")
            storage.remember_answer_soon(
                card_id=f"card{i}", msg_id=f"m{i}", question="q", answer=f"answer {i}", locale="en"
            )
        await storage.aclose()

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.config_resetstat()
    asyncio.run(main())
    states = [client.hget(f"bot:progress:app:m{i}", "state") for i in range(30)]
    execs = int(client.info("commandstats").get("cmdstat_exec", {}).get("calls", 0))
    assert states == ["finalized"] * 30
    assert client.hget("bot:answer:card29", "answer") == "answer 29"
    assert client.scard("bot:unfinished") == 0
    assert execs == 1, f"expected the 90 writes in 1 MULTI/EXEC, found {execs}"


@pytest.mark.parametrize(("pause_ms", "claimed"), [(300, 1), (2500, 0)])
def test_a_message_is_claimed_in_redis_before_its_ack_reaches_the_platform(
    fakeding: ThreadedFakeDing,
    tmp_path: Path,
    redis_url: str,
    processes: list[subprocess.Popen[bytes]],
    pause_ms: int,
    claimed: int,
) -> None:
    """So a robot killed right after an ack leaves a progress record another robot finishes.
    Redis holds writes back: for 300 ms the ack waits for the claim (it would otherwise go
    first); for 2.5 s, longer than an ack may wait, the ack goes first and the claim follows,
    and the question is still answered."""
    import redis

    from fakeding.core.recorder import Record

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    claimed_at_ack: list[int] = []

    def on_record(rec: Record) -> None:
        if rec.kind == "ack" and rec.fields.get("topic") == "/v1.0/im/bot/messages/get":
            claimed_at_ack.append(len(list(client.scan_iter("bot:progress:*"))))

    env = robot_env(fakeding)
    processes.append(start_robot(instance(tmp_path / "a", store=redis_url), env, tmp_path / "a.log"))
    fakeding.wait_for("connect", timeout=30)
    fakeding.recorder.listeners.append(on_record)
    try:
        client.client_pause(pause_ms, all=False)  # writes wait, reads go on
        ask(fakeding, "How does billing work?", "kim")
        fakeding.wait_until(
            lambda: final_users(fakeding.fake) == {"kim"}, timeout=30, what="kim's final card"
        )
    finally:
        fakeding.recorder.listeners.remove(on_record)
        client.close()
    assert claimed_at_ack == [claimed], (claimed_at_ack, (tmp_path / "a.log").read_text())
