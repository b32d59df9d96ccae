"""``soon`` writes go to the SQLite file together: one commit for many messages' steps, with
nothing lost, the order kept, and every read seeing the writes made before it."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.agents.base import Turn
from bot.clock import LoopClock
from bot.storage.storage import SqliteStorage


def rows(path: Path, query: str) -> list[Any]:
    """What another process would read from the file now."""
    with sqlite3.connect(path) as other:
        return other.execute(query).fetchall()


def test_many_messages_steps_land_in_one_commit(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"

    async def main() -> tuple[int, int, list[Any]]:
        storage = SqliteStorage(path, LoopClock(epoch=1_700_000_000))
        for i in range(30):
            claim = storage.claim_message_now(f"app:m{i}", msg_id=f"m{i}", owner="me", payload="{}")
            assert claim is not None and claim.outcome == "new"
        before = storage.commits
        for i in range(30):
            storage.set_progress_soon(f"app:m{i}", "carded", card_id=f"card{i}")
            storage.set_progress_soon(f"app:m{i}", "answered", answer=f"answer {i}")
            storage.remember_answer_soon(
                card_id=f"card{i}", msg_id=f"m{i}", question="q", answer=f"answer {i}", locale="en"
            )
        unwritten = rows(path, "SELECT count(*) FROM progress WHERE state = 'answered'")[0][0]
        await asyncio.sleep(0)  # the end of this step of the loop
        commits = storage.commits - before
        found = rows(path, "SELECT key, state, card_id, answer FROM progress ORDER BY key")
        await storage.aclose()
        return unwritten, commits, found

    unwritten, commits, found = asyncio.run(main())
    assert unwritten == 0, "90 writes waited for the end of the step"
    assert commits == 1, f"expected the 90 writes in 1 commit, found {commits}"
    assert len(found) == 30
    assert all(state == "answered" for _, state, _, _ in found), "the later step wins"
    assert ("app:m7", "answered", "card7", "answer 7") in found
    assert rows(path, "SELECT count(*) FROM answers")[0][0] == 30


def test_a_read_sees_the_writes_made_before_it(tmp_path: Path) -> None:
    async def main() -> list[Turn]:
        storage = SqliteStorage(tmp_path / "bot.sqlite3", LoopClock(epoch=1_700_000_000))
        storage.append_turns_soon("alice", [Turn("user", "hi"), Turn("assistant", "hello")])
        seen = await storage.history("alice")  # same step: the waiting writes go first
        await storage.aclose()
        return seen

    assert asyncio.run(main()) == [Turn("user", "hi"), Turn("assistant", "hello")]


def test_writes_waiting_at_close_are_flushed(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"

    async def main() -> None:
        storage = SqliteStorage(path, LoopClock(epoch=1_700_000_000))
        storage.append_turns_soon("bob", [Turn("user", "bye")])
        await storage.aclose()

    asyncio.run(main())
    assert rows(path, "SELECT chat_id, content FROM memory") == [("bob", "bye")]


def test_one_bad_write_does_not_take_the_others_with_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bot.sqlite3"

    async def main() -> None:
        storage = SqliteStorage(path, LoopClock(epoch=1_700_000_000))
        storage.append_turns_soon("a", [Turn("user", "first")])
        storage.append_turns_soon("b", [Turn("user", object())])  # type: ignore[arg-type]
        storage.append_turns_soon("c", [Turn("user", "third")])
        await asyncio.sleep(0)
        await storage.aclose()

    with caplog.at_level(logging.ERROR, logger="bot.storage"):
        asyncio.run(main())
    assert rows(path, "SELECT chat_id FROM memory ORDER BY id") == [("a",), ("c",)]
    assert any("store append_turns lost" in r.getMessage() for r in caplog.records)


def test_an_unknown_state_is_refused_where_it_is_asked(tmp_path: Path) -> None:
    async def main() -> None:
        storage = SqliteStorage(tmp_path / "bot.sqlite3", LoopClock(epoch=1_700_000_000))
        try:
            with pytest.raises(ValueError, match="one of claimed, carded, answered, finalized"):
                storage.set_progress_soon("app:m1", "done")
        finally:
            await storage.aclose()

    asyncio.run(main())


def test_a_burst_of_claims_in_one_step_shares_one_commit(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"

    async def main() -> tuple[list[Any], int, int]:
        storage = SqliteStorage(path, LoopClock(epoch=1_700_000_000))
        storage.set_progress_soon("app:old", "finalized")  # a waiting write goes with them
        before = storage.commits
        asked = [
            storage.claim_message_in_step(f"app:m{i % 20}", msg_id=f"m{i % 20}", owner="me", payload="{}")
            for i in range(25)  # five of them a second copy of a message of this step
        ]
        unwritten = rows(path, "SELECT count(*) FROM progress")[0][0]
        claims = [await claim for claim in asked]
        commits = storage.commits - before
        await storage.aclose()
        return claims, unwritten, commits

    claims, unwritten, commits = asyncio.run(main())
    assert unwritten == 0, "the claims wait for the end of the step"
    assert commits == 1, f"expected 25 claims and a write in 1 commit, found {commits}"
    outcomes = [c.outcome if c else None for c in claims]
    assert outcomes == ["new"] * 20 + ["skip"] * 5, "a copy in the same step is a duplicate"
    assert rows(path, "SELECT count(*) FROM progress WHERE state = 'claimed'")[0][0] == 20


def test_a_claim_no_frame_waits_for_is_not_made(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"

    async def main() -> None:
        storage = SqliteStorage(path, LoopClock(epoch=1_700_000_000))
        kept = storage.claim_message_in_step("app:a", msg_id="a", owner="me", payload="{}")
        dropped = asyncio.ensure_future(
            storage.claim_message_in_step("app:b", msg_id="b", owner="me", payload="{}")  # type: ignore[arg-type]
        )
        dropped.cancel()  # its frame stopped (the robot stops): no ack, the platform redelivers
        claim = await kept
        assert claim is not None and claim.outcome == "new"
        await storage.aclose()

    asyncio.run(main())
    assert rows(path, "SELECT key FROM progress") == [("app:a",)]


def test_claims_on_a_locked_file_are_left_for_the_worker(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"

    async def main() -> tuple[Any, Any]:
        clock = LoopClock(epoch=1_700_000_000)
        clock.monotonic()  # read on the loop first, as the robot does (the worker reads it too)
        storage = SqliteStorage(path, clock)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            storage.append_turns_soon("ann", [Turn("user", "hi")])
            now = await storage.claim_message_in_step("app:a", msg_id="a", owner="me", payload="{}")
        finally:
            holder.execute("COMMIT")
            holder.close()
        later = await storage.claim_message("app:a", msg_id="a", owner="me", payload="{}")
        await storage.aclose()
        return now, later

    now, later = asyncio.run(main())
    assert now is None, "not to be had without waiting: the frame claims it the slow way"
    assert later.outcome == "new"
    assert rows(path, "SELECT chat_id, content FROM memory") == [("ann", "hi")], "the write is kept"


def test_a_bad_write_in_a_step_of_claims_loses_only_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bot.sqlite3"

    async def main() -> list[Any]:
        storage = SqliteStorage(path, LoopClock(epoch=1_700_000_000))
        storage.append_turns_soon("b", [Turn("user", object())])  # type: ignore[arg-type]
        asked = [
            storage.claim_message_in_step(f"app:m{i}", msg_id=f"m{i}", owner="me", payload="{}")
            for i in range(3)
        ]
        claims = [await claim for claim in asked]
        await storage.aclose()
        return claims

    with caplog.at_level(logging.ERROR, logger="bot.storage"):
        claims = asyncio.run(main())
    assert [c.outcome if c else None for c in claims] == ["new"] * 3
    assert rows(path, "SELECT count(*) FROM progress")[0][0] == 3
    assert any("store append_turns lost" in r.getMessage() for r in caplog.records)


class _StillLoop(asyncio.SelectorEventLoop):
    """A loop whose clock moves only when the test moves it: the group commit's wait is then
    exact, whatever else the machine is doing."""

    now = 1_000.0

    def time(self) -> float:
        return self.now


def test_a_busy_robot_commits_at_most_once_per_group_commit_wait(tmp_path: Path) -> None:
    from bot.storage.storage import GROUP_COMMIT

    path = tmp_path / "bot.sqlite3"
    loop = _StillLoop()

    def answered() -> int:
        return int(rows(path, "SELECT count(*) FROM progress WHERE state = 'answered'")[0][0])

    async def main() -> dict[str, Any]:
        storage = SqliteStorage(path, LoopClock(epoch=1_700_000_000))
        for i in range(4):
            claim = storage.claim_message_now(f"app:m{i}", msg_id=f"m{i}", owner="me", payload="{}")
            assert claim is not None
        seen: dict[str, Any] = {}
        before = storage.commits
        storage.set_progress_soon("app:m0", "answered", answer="a0")  # idle: the step's end
        await asyncio.sleep(0)
        seen["idle"] = (answered(), storage.commits - before)
        storage.set_progress_soon("app:m1", "answered", answer="a1")  # busy: waits for the rest
        await asyncio.sleep(0)
        storage.set_progress_soon("app:m2", "answered", answer="a2")
        await asyncio.sleep(0)
        seen["waiting"] = (answered(), storage.commits - before)
        loop.now += GROUP_COMMIT
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        seen["after the wait"] = (answered(), storage.commits - before)
        # a claim, whose frame's ack waits for it, takes the waiting writes along at once
        storage.set_progress_soon("app:m3", "answered", answer="a3")
        claim = await storage.claim_message_in_step("app:m9", msg_id="m9", owner="me", payload="{}")
        seen["claim"] = (claim.outcome if claim else None, answered(), storage.commits - before)
        await storage.aclose()
        return seen

    try:
        seen = loop.run_until_complete(main())
    finally:
        loop.close()
    assert seen["idle"] == (1, 1), "an idle robot's write lands at the end of the step"
    assert seen["waiting"] == (1, 1), "writes within the wait of the last commit wait for it"
    assert seen["after the wait"] == (3, 2), "and then share one commit"
    assert seen["claim"] == ("new", 4, 3), "a claim does not wait, and its commit takes the writes"
