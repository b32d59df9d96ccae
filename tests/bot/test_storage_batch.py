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
