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
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Record:
    seq: int
    t: float
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "t": round(self.t, 6), "kind": self.kind, **self.fields}

    def __str__(self) -> str:
        arrow = _ARROWS.get(self.kind, "=")
        body = dumps(dict(sorted(self.fields.items())))
        return f"{arrow} +{self.t:.3f}s {self.kind} {body}"


Listener = Callable[[Record], None]
_ALWAYS_KEPT = frozenset({RecordKind.VIOLATION.value, RecordKind.FAKE_ERROR.value})  # past ``limit``


class Recorder:
    """Append-only log of records; ``limit`` keeps only the newest N (violations and the fake's
    own errors always kept).

    Fields are stored as ``jsonsafe.clean`` makes them: standard JSON, clipped, secrets masked
    (by key, and by value through ``is_secret``), so reading the log can never fail.
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
        name = str(kind)  # plain str: YAML, repr
        rec = Record(self._seq, t, name, clean(fields, self.is_secret))
        self._records.append(rec)
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
