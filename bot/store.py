"""The robot's memory on disk: message dedup, feedback votes and conversation turns.

It uses stdlib ``sqlite3`` synchronously on purpose: every call is a sub-millisecond local
query, and keeping it on the event-loop thread (no executor) keeps virtual-time tests
deterministic. The connection is shared across threads (``check_same_thread=False``) and
guarded by a lock. The file uses WAL mode; the schema version lives in
``PRAGMA user_version``. All timestamps come from the injected ``Clock``.

A row is live while ``at >= now - ttl``: a dedup claim older than its ttl can be claimed
again, and memory older than its ttl is no longer returned.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.agents.base import ROLES, Turn
from bot.clock import Clock
from bot.errors import StoreError

SCHEMA_VERSION = 2
DEDUP_TTL = 86400.0
MEMORY_TTL = 1800.0
MEMORY_TURNS = 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dedup (
    key TEXT PRIMARY KEY,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    card_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    rating TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (card_id, user_id)
);
CREATE TABLE IF NOT EXISTS memory (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id TEXT NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS memory_chat_at ON memory (chat_id, at);
CREATE TABLE IF NOT EXISTS answers (
    card_id TEXT PRIMARY KEY,
    msg_id TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    locale TEXT NOT NULL,
    is_group INTEGER NOT NULL DEFAULT 0,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    locale: str
    is_group: bool


@dataclass(frozen=True)
class Feedback:
    """One user's latest vote on one answer card."""

    card_id: str
    msg_id: str
    user_id: str
    rating: str
    question: str
    answer: str
    at: float


class Store:
    """SQLite-backed dedup, feedback and memory (see the module docstring)."""

    def __init__(self, path: str | Path, clock: Clock) -> None:
        self.path = str(path)
        self.clock = clock
        self._lock = threading.Lock()
        in_memory = self.path == ":memory:"
        try:
            if not in_memory:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"could not open the store at {self.path} ({type(exc).__name__}: {exc}); "
                "expected a writable file path, check the directory and its permissions"
            ) from None
        try:
            self._setup(in_memory)
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    def _setup(self, in_memory: bool) -> None:
        conn = self._connection()
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            if not in_memory:
                conn.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: durable across crashes of the robot, no fsync per write.
                conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                conn.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
                )
        except sqlite3.Error as exc:
            raise StoreError(
                f"could not set up the store at {self.path} ({type(exc).__name__}: {exc}); "
                "expected an SQLite database file, move the file away if it is something else"
            ) from None
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store at {self.path} has schema version {version}, newer than "
                f"this robot's {SCHEMA_VERSION}; upgrade the robot or use another file"
            )

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store at {self.path} is closed; open a new Store to use it")
        return self._conn

    @contextmanager
    def _transaction(self, operation: str, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One locked transaction (taking the write lock up front when ``write``); sqlite
        errors become StoreError."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(
                    f"store {operation} failed at {self.path} ({type(exc).__name__}: {exc})"
                ) from None

    def claim(self, key: str, *, ttl: float = DEDUP_TTL) -> bool:
        """True the first time ``key`` is seen (or once its last claim is older than
        ``ttl`` seconds), False for a duplicate."""
        now = self.clock.time()
        with self._transaction("claim", write=True) as db:
            cursor = db.execute(
                "INSERT INTO dedup (key, at) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET at = excluded.at WHERE dedup.at < ?",
                (key, now, now - ttl),
            )
            return cursor.rowcount == 1

    def remember_answer(self, *, card_id: str, msg_id: str, question: str, answer: str,
                        locale: str, is_group: bool = False) -> None:
        """Keep what a card answered, so a feedback click after a restart still knows it."""
        with self._transaction("remember_answer", write=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO answers "
                "(card_id, msg_id, question, answer, locale, is_group, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (card_id, msg_id, question, answer, locale, int(is_group), self.clock.time()),
            )

    def answer_for(self, card_id: str) -> Answer | None:
        """What a card this robot answered said, or None."""
        with self._transaction("answer_for", write=False) as db:
            row = db.execute(
                "SELECT question, answer, locale, is_group FROM answers WHERE card_id = ?",
                (card_id,),
            ).fetchone()
        return Answer(str(row[0]), str(row[1]), str(row[2]), bool(row[3])) if row else None

    def record_feedback(
        self,
        *,
        card_id: str,
        msg_id: str,
        user_id: str,
        rating: str,
        question: str,
        answer: str,
    ) -> bool:
        """Store a user's vote on a card (one per card and user); True if it replaced an
        earlier vote of that user."""
        with self._transaction("record_feedback", write=True) as db:
            existed = db.execute(
                "SELECT 1 FROM feedback WHERE card_id = ? AND user_id = ?", (card_id, user_id)
            ).fetchone()
            db.execute(
                "INSERT INTO feedback (card_id, user_id, msg_id, rating, question, answer, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (card_id, user_id) DO UPDATE SET "
                "msg_id = excluded.msg_id, rating = excluded.rating, "
                "question = excluded.question, answer = excluded.answer, at = excluded.at",
                (card_id, user_id, msg_id, rating, question, answer, self.clock.time()),
            )
            return existed is not None

    def feedback(self, card_id: str | None = None) -> list[Feedback]:
        """All votes (or one card's), oldest first."""
        query = "SELECT card_id, msg_id, user_id, rating, question, answer, at FROM feedback"
        args: tuple[Any, ...] = ()
        if card_id is not None:
            query += " WHERE card_id = ?"
            args = (card_id,)
        with self._transaction("feedback", write=False) as db:
            rows = db.execute(query + " ORDER BY at, rowid", args).fetchall()
        return [Feedback(*row) for row in rows]

    def history(
        self, chat_id: str, *, ttl: float = MEMORY_TTL, max_turns: int = MEMORY_TURNS
    ) -> list[Turn]:
        """The chat's last ``max_turns`` turns not older than ``ttl`` seconds, oldest first."""
        if max_turns < 0:
            raise ValueError(f"max_turns must be >= 0, found {max_turns}")
        since = self.clock.time() - ttl
        with self._transaction("history", write=False) as db:
            rows = db.execute(
                "SELECT role, content FROM memory WHERE chat_id = ? AND at >= ? "
                "ORDER BY id DESC LIMIT ?",
                (chat_id, since, max_turns),
            ).fetchall()
        return [Turn(role, content) for role, content in reversed(rows) if role in ROLES]

    def append_turns(self, chat_id: str, turns: Sequence[Turn]) -> None:
        """Remember turns of a chat, stamped now."""
        now = self.clock.time()
        with self._transaction("append_turns", write=True) as db:
            db.executemany(
                "INSERT INTO memory (chat_id, role, content, at) VALUES (?, ?, ?, ?)",
                [(chat_id, t.role, t.content, now) for t in turns],
            )

    def prune(self, *, dedup_ttl: float = DEDUP_TTL, memory_ttl: float = MEMORY_TTL) -> int:
        """Delete expired dedup and memory rows; returns how many were deleted."""
        now = self.clock.time()
        with self._transaction("prune", write=True) as db:
            dedup = db.execute("DELETE FROM dedup WHERE at < ?", (now - dedup_ttl,)).rowcount
            memory = db.execute("DELETE FROM memory WHERE at < ?", (now - memory_ttl,)).rowcount
        return dedup + memory

    def close(self) -> None:
        """Close the database; further calls raise StoreError. Closing twice is fine."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
