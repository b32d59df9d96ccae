"""Storage never blocks the event loop: another connection holding the SQLite write lock for
6 s delays only the work that needs the store. Messages arriving meanwhile are acked at once
and answered after the lock goes; an answer already streaming finishes while the lock is held;
nothing is lost (every card final, every exchange in memory, every message finalized)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from bot.agents.scripted import ScriptedAgent
from bot.clock import SystemClock
from bot.im_robots.dingtalk_stream.config import RobotConfig
from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot
from bot.storage.store import Store
from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing

from .robust_kit import DEMO, acked, ask, cards_by_user, final_users, is_final

LOCK_SECONDS = 6.0


def test_a_store_locked_for_6_s_delays_only_the_work_that_needs_it(
    fakeding: ThreadedFakeDing, tmp_path: Path
) -> None:
    path = tmp_path / "robot.sqlite3"
    turn = {"chunks": ["One. ", "Two. ", "Three."], "delay": 0.4}
    cfg = RobotConfig(
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        endpoint=fakeding.http_url,
        store=str(path),
        base_dir=DEMO,
    )
    robot = DingTalkStreamRobot(cfg, agent=ScriptedAgent([turn] * 3))
    robot.start()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    release = threading.Event()
    try:
        fakeding.wait_for("connect", timeout=10)
        first = ask(fakeding, "First?", "ann")
        fakeding.wait_until(lambda: cards_by_user(fakeding.fake).get("ann"), what="ann's card")

        holder.execute("BEGIN IMMEDIATE")  # the write lock, as another process would hold it
        locked_at = time.monotonic()
        later = [ask(fakeding, q, u) for q, u in (("Second?", "bob"), ("Third?", "cat"))]
        # While the lock is held: both new messages are acked and ann's answer goes final.
        fakeding.wait_until(
            lambda: acked(fakeding.fake, [m.message_id for m in later]),
            timeout=LOCK_SECONDS - 1,
            what="acks while the store is locked",
        )
        fakeding.wait_until(
            lambda: "ann" in final_users(fakeding.fake),
            timeout=LOCK_SECONDS - 1,
            what="ann's final card while locked",
        )
        assert set(cards_by_user(fakeding)) == {"ann"}, "bob and cat wait for their claims"
        still_locked = time.monotonic() - locked_at < LOCK_SECONDS
        time.sleep(max(0.0, LOCK_SECONDS - (time.monotonic() - locked_at)))
        holder.execute("COMMIT")
        release.set()

        fakeding.wait_until(
            lambda: final_users(fakeding.fake) == {"ann", "bob", "cat"},
            timeout=20,
            what="every card final after the lock",
        )
    finally:
        if not release.is_set():
            holder.rollback()
        holder.close()
        robot.stop()
    assert still_locked, "the checks above ran while the lock was held"
    by_user = cards_by_user(fakeding)
    assert all(len(cards) == 1 for cards in by_user.values()), "each message answered once"
    assert all(is_final(c[0]["versions"][-1]["cardData"]) for c in by_user.values())
    with Store(path, SystemClock()) as store:
        for user, question in (("ann", "First?"), ("bob", "Second?"), ("cat", "Third?")):
            turns = store.history(user)
            assert [t.content for t in turns] == [question, "One. Two. Three."], user
        for msg in [first, *later]:
            found = store.progress(f"{DEFAULT_CLIENT_ID}:{msg.msg_id}")
            assert found is not None and found.state == "finalized", msg.msg_id
