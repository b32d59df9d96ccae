"""The robot's memory on disk: message dedup, feedback votes and conversation turns.

This is the synchronous core (stdlib ``sqlite3``); the robot reaches it through
``bot.storage.storage.SqliteStorage``, which keeps it off the event loop whenever it would wait. A
``busy_timeout`` of 0 makes a locked database fail at once with ``StoreBusy`` instead of
blocking. The connection is shared across threads (``check_same_thread=False``) and guarded by
a lock. The file uses WAL mode; the schema version lives in ``PRAGMA user_version``. All
timestamps come from the injected ``Clock``.

Progress records (table ``progress``) follow each robot message: claimed → carded (thinking
card sent) → answered (answer kept) → finalized, each with its owner, a robot process whose
lease lives in ``owners``; a message whose owner died is taken over by another robot.

A row is live while ``at >= now - ttl``: a dedup claim older than its ttl can be claimed
again, and memory older than its ttl is no longer returned.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.agents.base import ROLES, Turn
from bot.clock import Clock
from bot.errors import StoreBusy, StoreError, StoreUnwritable

SCHEMA_VERSION = 3
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
CREATE TABLE IF NOT EXISTS progress (
    key TEXT PRIMARY KEY,
    msg_id TEXT NOT NULL,
    state TEXT NOT NULL,
    owner TEXT NOT NULL,
    card_id TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL DEFAULT '',
    notice TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL DEFAULT '{}',
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS owners (
    owner TEXT PRIMARY KEY,
    lease_until REAL NOT NULL
);
"""
STATES = ("claimed", "carded", "answered", "finalized")
Call = tuple[str, tuple[Any, ...], dict[str, Any]]  # a Store method's name and arguments


# SQLite's result codes for a store that cannot write, and the OS error behind each
_UNWRITABLE = {
    "SQLITE_FULL": "errno ENOSPC, no space left on device",
    "SQLITE_READONLY": "errno EROFS or EACCES, the file or its folder is read-only",
    "SQLITE_IOERR": "errno EIO (or ENOSPC), a disk I/O error",
    "SQLITE_CANTOPEN": "errno EACCES or ENOENT, the file cannot be opened",
}
_UNWRITABLE_TEXT = {
    "database or disk is full": "SQLITE_FULL",
    "attempt to write a readonly database": "SQLITE_READONLY",
    "disk I/O error": "SQLITE_IOERR",
    "unable to open database file": "SQLITE_CANTOPEN",
}


def _unwritable(exc: sqlite3.Error) -> str | None:
    """What keeps SQLite from writing (its code and the OS errno behind it), or None."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    for code, why in _UNWRITABLE.items():
        if name.startswith(code):
            return f"{name}, {why}"
    for text, code in _UNWRITABLE_TEXT.items():
        if text in str(exc):
            return f"{code}, {_UNWRITABLE[code]}"
    return None


def _abandon(conn: sqlite3.Connection) -> None:
    """Roll back what a failed statement left open, so the next call starts clean."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):  # (nothing more to undo)
            conn.execute("ROLLBACK")


# one statement for every step (a None keeps the column), prepared once by sqlite3's cache
_SET_PROGRESS = (
    "UPDATE progress SET state = ?, at = ?, card_id = COALESCE(?, card_id), "
    "answer = COALESCE(?, answer), notice = COALESCE(?, notice) WHERE key = ?"
)
_PROGRESS = "SELECT key, msg_id, state, owner, card_id, answer, notice, payload, at FROM progress"
# A chat's newest turns, read backwards along the index (chat_id, at), which stops after the
# limit: ordered by id, SQLite sorted all of the chat's live turns first, a cost that grew with
# how much the user had said within the ttl. The order is the same: a robot's clock never goes
# back, and turns appended together (one ``at``) keep the order they were written in (id).
_HISTORY = "SELECT role, content FROM memory WHERE chat_id = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?"


def owner_alive(owner: str, lease_until: float | None, now: float, *, me: str = "") -> bool:
    """An owner lives while its lease runs, and on this host only while its process does
    (so a robot restarted after a crash takes its messages back at once)."""
    if owner == me:
        return True
    if lease_until is None or lease_until < now:
        return False
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return True


def new_owner() -> str:
    """``host:pid:random``: unique per robot process, readable in logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    locale: str
    is_group: bool


@dataclass(frozen=True)
class Progress:
    """How far one robot message got, and which robot process owns it."""

    key: str
    msg_id: str
    state: str
    owner: str
    card_id: str = ""
    answer: str = ""
    notice: str = ""
    payload: str = "{}"


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a message: ``new``, ``taken`` (over from a dead owner, with its
    progress) or ``skip`` (with why)."""

    outcome: str
    reason: str = ""
    progress: Progress | None = None


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

    def __init__(self, path: str | Path, clock: Clock, *, busy_timeout: float = 5.0) -> None:
        self.path = str(path)
        self.clock = clock
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._batch_thread: int | None = None  # the thread running a ``batch`` (holding the lock)
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
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
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

    def set_busy_timeout(self, seconds: float) -> None:
        """How long a call waits for another connection's lock (0: raise StoreBusy at once)."""
        with self._lock:
            self._connection().execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")
            self.busy_timeout = seconds

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the store at {self.path} is closed; open a new Store to use it")
        return self._conn

    def _transaction(self, operation: str, *, write: bool) -> AbstractContextManager[sqlite3.Connection]:
        """One locked transaction (taking the write lock up front when ``write``); sqlite
        errors become StoreError. Inside ``batch`` (on its thread) it joins the batch's
        transaction: a batch runs many calls, and each would otherwise pay for a generator
        context and the re-entered lock. Reads are single statements, atomic on their own: no
        BEGIN/COMMIT for them."""
        if self._batch_thread == threading.get_ident():
            return nullcontext(self._connection())
        return self._own_transaction(operation, write=write)

    @contextmanager
    def _own_transaction(self, operation: str, *, write: bool) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            try:
                if not write:
                    yield conn
                    return
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:  # (SQLite itself rolls back on a full disk)
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                _abandon(conn)  # a COMMIT refused (disk full) leaves the transaction open
                if "locked" in str(exc) or "busy" in str(exc):
                    raise StoreBusy(
                        f"store {operation} at {self.path}: the database is locked by another connection"
                    ) from None
                unwritable = _unwritable(exc)
                if unwritable is not None:
                    raise StoreUnwritable(
                        f"store {operation} cannot write {self.path}: {unwritable} "
                        f"(sqlite: {exc}); free space on its disk or fix its permissions, "
                        "the robot retries"
                    ) from None
                raise StoreError(f"store {operation} failed at {self.path} ({exc})") from None
            except sqlite3.Error as exc:
                _abandon(conn)
                raise StoreError(
                    f"store {operation} failed at {self.path} ({type(exc).__name__}: {exc})"
                ) from None

    def batch(self, calls: Sequence[Call], last: Call | None = None) -> Any:
        """Run ``calls`` (then ``last``, whose result is returned) as one transaction: one
        commit for many writes. Any failure rolls all of them back."""
        with self._transaction("batch", write=True):
            self._batch_thread = threading.get_ident()
            try:
                for name, args, kw in calls:
                    getattr(self, name)(*args, **kw)
                if last is not None:
                    return getattr(self, last[0])(*last[1], **last[2])
                return None
            finally:
                self._batch_thread = None

    def batch_asking(self, calls: Sequence[Call], asks: Sequence[Call]) -> list[Any]:
        """``batch`` of ``calls``, then ``asks``, each of which returns its result (in order)."""
        with self._transaction("batch", write=True):
            self._batch_thread = threading.get_ident()
            try:
                for name, args, kw in calls:
                    getattr(self, name)(*args, **kw)
                return [getattr(self, name)(*args, **kw) for name, args, kw in asks]
            finally:
                self._batch_thread = None

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

    def remember_answer(
        self, *, card_id: str, msg_id: str, question: str, answer: str, locale: str, is_group: bool = False
    ) -> None:
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

    def vote(self, *, card_id: str, msg_id: str, user_id: str, rating: str) -> tuple[Answer | None, bool]:
        """A feedback click: what the card answered (if this robot knows it) and whether the
        click replaced an earlier vote of that user."""
        known = self.answer_for(card_id)
        changed = self.record_feedback(
            card_id=card_id,
            msg_id=msg_id,
            user_id=user_id,
            rating=rating,
            question=known.question if known else "",
            answer=known.answer if known else "",
        )
        return known, changed

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

    def history(self, chat_id: str, *, ttl: float = MEMORY_TTL, max_turns: int = MEMORY_TURNS) -> list[Turn]:
        """The chat's last ``max_turns`` turns not older than ``ttl`` seconds, oldest first."""
        if max_turns < 0:
            raise ValueError(f"max_turns must be >= 0, found {max_turns}")
        since = self.clock.time() - ttl
        with self._transaction("history", write=False) as db:
            rows = db.execute(_HISTORY, (chat_id, since, max_turns)).fetchall()
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
            done = db.execute(
                "DELETE FROM progress WHERE state = 'finalized' AND at < ?", (now - dedup_ttl,)
            ).rowcount
            db.execute("DELETE FROM owners WHERE lease_until < ?", (now - dedup_ttl,))
        return dedup + memory + done

    # -- progress records and owners ----------------------------------------------------------
    def claim_message(
        self, key: str, *, msg_id: str, owner: str, payload: str, ttl: float = DEDUP_TTL
    ) -> Claim:
        """Claim a robot message for ``owner``. A message seen before is skipped only when it
        was answered or its owner is alive; a dead owner's message is taken over."""
        now = self.clock.time()
        with self._transaction("claim_message", write=True) as db:
            if (
                db.execute(
                    "INSERT INTO progress (key, msg_id, state, owner, payload, at) "
                    "VALUES (?, ?, 'claimed', ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                    (key, msg_id, owner, payload, now),
                ).rowcount
                == 1
            ):
                return Claim("new")  # the usual case, in one statement
            row = db.execute(_PROGRESS + " WHERE key = ?", (key,)).fetchone()
            if row is not None and row[-1] >= now - ttl:
                found = Progress(*row[:-1])
                if found.state in ("answered", "finalized"):
                    return Claim("skip", f"already {found.state}", found)
                lease = db.execute(
                    "SELECT lease_until FROM owners WHERE owner = ?", (found.owner,)
                ).fetchone()
                if owner_alive(found.owner, lease[0] if lease else None, now, me=owner):
                    who = "this robot" if found.owner == owner else f"live owner {found.owner}"
                    return Claim("skip", f"{found.state}, being answered by {who}", found)
                db.execute("UPDATE progress SET owner = ?, at = ? WHERE key = ?", (owner, now, key))
                return Claim("taken", f"{found.state}, owner {found.owner} is gone", found)
            db.execute(
                "INSERT OR REPLACE INTO progress (key, msg_id, state, owner, payload, at)"
                " VALUES (?, ?, 'claimed', ?, ?, ?)",
                (key, msg_id, owner, payload, now),
            )
            return Claim("new")

    def set_progress(
        self,
        key: str,
        state: str,
        *,
        card_id: str | None = None,
        answer: str | None = None,
        notice: str | None = None,
    ) -> None:
        """Move a message on to ``state`` (one of ``STATES``), keeping what recovery needs."""
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, found {state!r}")
        with self._transaction("set_progress", write=True) as db:
            db.execute(_SET_PROGRESS, (state, self.clock.time(), card_id, answer, notice, key))

    def progress(self, key: str) -> Progress | None:
        with self._transaction("progress", write=False) as db:
            row = db.execute(_PROGRESS + " WHERE key = ?", (key,)).fetchone()
        return Progress(*row[:-1]) if row else None

    def beat(self, owner: str, lease: float) -> None:
        """``owner`` is alive for ``lease`` more seconds (0 gives its messages up at once)."""
        with self._transaction("beat", write=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO owners (owner, lease_until) VALUES (?, ?)",
                (owner, self.clock.time() + lease),
            )

    def orphans(self, me: str) -> list[Progress]:
        """Unfinished messages whose owner is gone (to be taken over with ``take_over``)."""
        now = self.clock.time()
        with self._transaction("orphans", write=False) as db:
            rows = db.execute(
                "SELECT p.key, p.msg_id, p.state, p.owner, p.card_id, p.answer, p.notice, "
                "p.payload, o.lease_until FROM progress p LEFT JOIN owners o "
                "ON o.owner = p.owner WHERE p.state != 'finalized' AND p.owner != ? "
                "ORDER BY p.at",
                (me,),
            ).fetchall()
        return [Progress(*r[:-1]) for r in rows if not owner_alive(r[3], r[-1], now, me=me)]

    def take_over(self, key: str, *, old: str, new: str) -> bool:
        """Make ``new`` the owner if ``old`` still is; False if another robot was first."""
        with self._transaction("take_over", write=True) as db:
            return (
                db.execute(
                    "UPDATE progress SET owner = ?, at = ? WHERE key = ? AND owner = ?",
                    (new, self.clock.time(), key, old),
                ).rowcount
                == 1
            )

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
