"""The recorder: every observable fact of a run, in order, as immutable records.

Pure: it is handed timestamps, it never reads a clock or does I/O. ``t`` is seconds since the
fake started (virtual seconds under a virtual clock). Control-API traffic is never recorded.

Record kinds and the fields each carries: ``fakeding.core.record_kinds`` (``RecordKind``). A kind
outside it is a robot's or a test's own record (the reference robot writes ``bot.*``); the kit
itself only writes ``RecordKind`` members.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fakeding.core.jsonsafe import clean, dumps
from fakeding.core.record_kinds import RecordKind

_ARROWS: dict[str, str] = {
    RecordKind.PUSH: ">",
    RecordKind.REDELIVER: ">",
    RecordKind.ACK: "<",
    RecordKind.API: "<",
    RecordKind.WEBHOOK: "<",
    RecordKind.CONNECT: "<",
}


class Record:
    """One fact: its number, time (seconds), kind and fields (standard JSON, see ``Recorder``).

    Immutable. Its fields may be made when first read (``Recorder.add_later``): a busy fake
    records every call, and most records are never read. What makes them is a plain function
    and its arguments, not a closure: a long run keeps thousands of records, and each closure
    would be objects more for every garbage collection to walk."""

    __slots__ = ("seq", "t", "kind", "_fields", "_make", "_args", "_secret")

    seq: int
    t: float
    kind: str
    _fields: dict[str, Any]
    _make: Callable[..., dict[str, Any]] | None
    _args: tuple[Any, ...] | None
    _secret: Callable[[str], bool] | None

    def __init__(self, seq: int, t: float, kind: str, fields: dict[str, Any] | None = None) -> None:
        init = object.__setattr__
        init(self, "seq", seq)
        init(self, "t", t)
        init(self, "kind", kind)
        init(self, "_fields", fields if fields is not None else {})
        init(self, "_make", None)

    @classmethod
    def later(
        cls,
        seq: int,
        t: float,
        kind: str,
        make: Callable[..., dict[str, Any]],
        args: tuple[Any, ...],
        is_secret: Callable[[str], bool] | None,
    ) -> Record:
        rec = cls(seq, t, kind)
        init = object.__setattr__
        init(rec, "_make", make)
        init(rec, "_args", args)
        init(rec, "_secret", is_secret)
        return rec

    @property
    def fields(self) -> dict[str, Any]:
        make = self._make
        if make is not None:
            try:
                made = make(*(self._args or ()))
            except Exception as exc:  # a fake bug; reading the log still must not fail
                made = {"unreadable": f"{type(exc).__name__}: {exc}"}
            init = object.__setattr__
            init(self, "_fields", clean(made, self._secret))
            init(self, "_make", None)
            init(self, "_args", None)
        return self._fields

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a Record is immutable: {name} cannot be set")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Record is immutable: {name} cannot be deleted")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.seq, self.t, self.kind, self.fields) == (other.seq, other.t, other.kind, other.fields)

    __hash__ = None  # type: ignore[assignment]  # fields are a dict, as before

    def __repr__(self) -> str:
        return f"Record(seq={self.seq!r}, t={self.t!r}, kind={self.kind!r}, fields={self.fields!r})"

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "t": round(self.t, 6), "kind": self.kind, **self.fields}

    def __str__(self) -> str:
        arrow = _ARROWS.get(self.kind, "=")
        body = dumps(dict(sorted(self.fields.items())))
        return f"{arrow} +{self.t:.3f}s {self.kind} {body}"


Listener = Callable[[Record], None]
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _same(fields: dict[str, Any]) -> dict[str, Any]:
    return fields


_ALWAYS_KEPT = frozenset({RecordKind.VIOLATION.value, RecordKind.FAKE_ERROR.value})  # past ``limit``


class Recorder:
    """Append-only log of records; ``limit`` keeps only the newest N (violations and the fake's
    own errors always kept).

    Fields are read as ``jsonsafe.clean`` makes them: standard JSON, clipped, secrets masked
    (by key, and by value through ``is_secret``), so reading the log can never fail. Fields that
    cannot change (plain values, a call's bytes) are cleaned when first read, the rest when
    stored; so ``is_secret`` must stay true of a value once it is.
    ``listeners`` are called with each new record, in order, right after it is stored (live
    views follow the run this way); they must be cheap and must not raise.
    """

    def __init__(
        self,
        limit: int | None = None,
        listeners: list[Listener] | None = None,
        is_secret: Callable[[str], bool] | None = None,
    ) -> None:
        self.limit = limit
        self.listeners: list[Listener] = listeners if listeners is not None else []
        self.is_secret = is_secret
        self._records: deque[Record] = deque(maxlen=limit)
        self._violations: list[Record] = []
        self._fake_errors: list[Record] = []
        self._seq = 0

    def add(self, t: float, kind: RecordKind | str, **fields: Any) -> Record:
        self._seq += 1
        for value in fields.values():
            if type(value) not in _PLAIN:  # something that may change: cleaned (copied) now
                return self._store(Record(self._seq, t, str(kind), clean(fields, self.is_secret)))
        # plain values only (most records: ids, counts, codes): nothing can change them, so
        # they are cleaned when first read (``is_secret`` must be true of a secret for good)
        return self._store(Record.later(self._seq, t, str(kind), _same, (fields,), self.is_secret))

    def add_later(
        self, t: float, kind: RecordKind | str, make: Callable[..., dict[str, Any]], *args: Any
    ) -> Record:
        """``add(t, kind, **make(*args))``, with ``make`` called when the fields are first read
        (and cleaned then, as ``add`` cleans them). ``args`` must be what cannot change (the
        bytes of a request and of its reply): the record says what was, whenever it is read."""
        self._seq += 1
        return self._store(Record.later(self._seq, t, str(kind), make, args, self.is_secret))

    def _store(self, rec: Record) -> Record:
        self._records.append(rec)
        name = rec.kind
        if name in _ALWAYS_KEPT:  # one lookup of a plain str, not two enum comparisons per record
            (self._violations if name == RecordKind.VIOLATION else self._fake_errors).append(rec)
        for listener in self.listeners:
            listener(rec)
        return rec

    @property
    def records(self) -> list[Record]:
        return list(self._records)

    @property
    def violations(self) -> list[Record]:
        return list(self._violations)

    @property
    def fake_errors(self) -> list[Record]:
        """Failures of the fake itself (bugs in fakeding, not the robot's)."""
        return list(self._fake_errors)

    @property
    def total(self) -> int:
        """How many records were ever added, including any dropped by ``limit``."""
        return self._seq

    def since(self, seq: int) -> list[Record]:
        """Records added after the one numbered ``seq``; costs what it returns, not the log."""
        newer: list[Record] = []
        for rec in reversed(self._records):
            if rec.seq <= seq:
                break
            newer.append(rec)
        newer.reverse()
        return newer

    def of_kind(self, *kinds: str) -> list[Record]:
        return [r for r in self._records if r.kind in kinds]

    def __iter__(self) -> Iterator[Record]:
        return iter(list(self._records))

    def __len__(self) -> int:
        return len(self._records)

    def to_json_lines(self, records: Iterable[Record] | None = None) -> str:
        rows = records if records is not None else self._records
        return "".join(dumps(r.to_dict()) + "\n" for r in rows)
