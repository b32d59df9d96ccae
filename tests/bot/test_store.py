"""The SQLite store (dedup, feedback, memory) and the clocks that stamp it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import looptime
import pytest

from bot.agents.base import Turn
from bot.clock import LoopClock, SystemClock
from bot.errors import StoreError
from bot.storage.store import _HISTORY, SCHEMA_VERSION, Feedback, Store


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with Store(tmp_path / "bot.sqlite3", clock) as opened:
        yield opened


def vote(store: Store, *, card: str = "card1", user: str = "u1", rating: str = "helpful") -> bool:
    return store.record_feedback(
        card_id=card, msg_id="m1", user_id=user, rating=rating, question="Q?", answer="A."
    )


def test_creates_parent_directories_wal_and_schema_version(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "deep" / "er" / "bot.sqlite3"
    Store(path, clock).close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
    finally:
        raw.close()
    assert {"dedup", "feedback", "memory"} <= tables


def test_claim_is_true_once_then_false(store: Store) -> None:
    assert store.claim("msg-1") is True
    assert store.claim("msg-1") is False
    assert store.claim("msg-2") is True


def test_claim_expires_after_its_ttl(store: Store, clock: FakeClock) -> None:
    assert store.claim("k", ttl=60) is True
    clock.now += 60
    assert store.claim("k", ttl=60) is False  # exactly ttl old is still live
    clock.now += 0.5
    assert store.claim("k", ttl=60) is True
    assert store.claim("k", ttl=60) is False


def test_changed_vote_is_stored_once(store: Store, clock: FakeClock) -> None:
    assert vote(store, rating="helpful") is False
    clock.now += 5
    assert vote(store, rating="not_helpful") is True
    assert vote(store, user="u2", rating="very_helpful") is False
    assert vote(store, card="card2") is False
    assert store.feedback("card1") == [
        Feedback("card1", "m1", "u1", "not_helpful", "Q?", "A.", clock.now),
        Feedback("card1", "m1", "u2", "very_helpful", "Q?", "A.", clock.now),
    ]
    assert len(store.feedback()) == 3
    assert store.feedback("unknown") == []


def test_everything_survives_close_and_reopen(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "bot.sqlite3"
    with Store(path, clock) as first:
        first.claim("seen")
        vote(first)
        first.append_turns("chat", [Turn("user", "hi"), Turn("assistant", "hello")])
    with Store(path, clock) as second:
        assert second.claim("seen") is False
        assert [f.rating for f in second.feedback()] == ["helpful"]
        assert second.history("chat") == [Turn("user", "hi"), Turn("assistant", "hello")]


def test_history_is_oldest_first_and_limited(store: Store, clock: FakeClock) -> None:
    for i in range(5):
        store.append_turns("c", [Turn("user", f"q{i}"), Turn("assistant", f"a{i}")])
        clock.now += 1
    assert [t.content for t in store.history("c", max_turns=3)] == ["a3", "q4", "a4"]
    assert store.history("c", max_turns=0) == []
    assert len(store.history("c")) == 10


def test_a_memory_read_walks_its_index_newest_first_without_sorting_the_chat(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    """The read's cost must not grow with what the user said within the ttl: SQLite reads the
    index (chat_id, at) backwards and stops at the limit, sorting nothing."""
    for i in range(30):
        store.append_turns("c", [Turn("user", f"q{i}"), Turn("assistant", f"a{i}")])
        clock.now += 1
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        plan = [row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + _HISTORY, ("c", 0.0, 20))]
    assert any("USING INDEX memory_chat_at" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert [t.content for t in store.history("c", max_turns=4)] == ["q28", "a28", "q29", "a29"]


def test_memory_expires_after_its_ttl(store: Store, clock: FakeClock) -> None:
    store.append_turns("c", [Turn("user", "old")])
    clock.now += 1000
    store.append_turns("c", [Turn("user", "new")])
    clock.now += 800
    assert [t.content for t in store.history("c", ttl=1800)] == ["old", "new"]
    clock.now += 1
    assert [t.content for t in store.history("c", ttl=1800)] == ["new"]
    clock.now += 1000
    assert store.history("c") == []


def test_chats_are_isolated(store: Store) -> None:
    store.append_turns("alice", [Turn("user", "alice's question")])
    store.append_turns("bob", [Turn("user", "bob's question")])
    assert store.history("alice") == [Turn("user", "alice's question")]
    assert store.history("bob") == [Turn("user", "bob's question")]
    assert store.history("carol") == []


def test_prune_deletes_only_expired_rows(store: Store, clock: FakeClock) -> None:
    store.claim("old")
    store.append_turns("c", [Turn("user", "old")])
    clock.now += 86_401
    store.claim("fresh")
    store.append_turns("c", [Turn("user", "fresh")])
    vote(store)
    assert store.prune() == 2
    assert store.prune() == 0
    assert store.claim("fresh") is False
    assert [t.content for t in store.history("c")] == ["fresh"]
    assert len(store.feedback()) == 1


def test_closed_store_says_so(tmp_path: Path, clock: FakeClock) -> None:
    opened = Store(tmp_path / "s.sqlite3", clock)
    opened.close()
    opened.close()
    with pytest.raises(StoreError, match="is closed"):
        opened.claim("x")


def test_newer_schema_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "s.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        Store(path, clock)


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="could not set up the store"):
        Store(path, clock)


def test_in_memory_store_works(clock: FakeClock) -> None:
    with Store(":memory:", clock) as memory:
        assert memory.claim("k") is True
        assert memory.claim("k") is False


def test_system_clock_reads_the_process_clocks() -> None:
    clock = SystemClock()
    assert abs(clock.time() - time.time()) < 60
    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_loop_clock_follows_virtual_time() -> None:
    clock = LoopClock(epoch=1_000.0)

    async def main() -> tuple[float, float, float, float]:
        start = (clock.monotonic(), clock.time())
        await asyncio.sleep(3600)
        return start + (clock.monotonic(), clock.time())

    loop = looptime.new_event_loop(start=50_000.0)
    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        assert runner.run(main()) == (0.0, 1_000.0, 3600.0, 4_600.0)
    # Outside the loop the clock keeps reading the loop it used, which has stopped moving.
    assert clock.time() == 4_600.0


def test_loop_clock_without_epoch_starts_at_real_time_and_never_goes_back() -> None:
    clock = LoopClock()

    async def read() -> float:
        return clock.time()

    first = asyncio.run(read())
    assert abs(first - time.time()) < 60
    assert asyncio.run(read()) >= first


def test_loop_clock_needs_a_loop_at_first_use() -> None:
    with pytest.raises(RuntimeError, match="expected a running asyncio loop"):
        LoopClock().time()


def test_store_stamps_with_a_loop_clock_under_virtual_time(tmp_path: Path) -> None:
    clock = LoopClock(epoch=0.0)

    async def main(store: Store) -> list[Turn]:
        store.append_turns("c", [Turn("user", "early")])
        await asyncio.sleep(1500)
        store.append_turns("c", [Turn("user", "late")])
        await asyncio.sleep(600)
        return store.history("c", ttl=1800)

    loop = looptime.new_event_loop()
    with (
        Store(tmp_path / "s.sqlite3", clock) as store,
        asyncio.Runner(loop_factory=lambda: loop) as runner,
    ):
        assert runner.run(main(store)) == [Turn("user", "late")]
