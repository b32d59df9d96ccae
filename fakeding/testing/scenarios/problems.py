"""The report's ``## Problems``: each violation with what explains it, next to it (pure).

A violation alone says *what* went wrong ("message never acked"); the records say *why*: no ack
arrived, an ack with an error status, the connection closed first, a fault dropped the push, or
the robot raised (records ``robot.exception``, made by the in-process robots) or exited (records
``robot.exit``, made for a robot process that ended on its own, with its last output). Calls
the fake refused are listed with the fake's own message, once per distinct refusal.
"""

from __future__ import annotations

from collections import Counter
from pathlib import PurePath
from typing import Any

from fakeding.core.describe import Refs
from fakeding.core.record_kinds import ROBOT_KINDS, RecordKind
from fakeding.core.recorder import Record


def robot_problem(rec: Record) -> str:
    """A robot's exception or exit in one line."""
    f = rec.fields
    if rec.kind == RecordKind.ROBOT_EXIT:
        return f"the robot exited with code {f.get('code')}"
    where = f" ({f['where']})" if f.get("where") else ""
    return (
        f"robot raised {f.get('type')}: {_clip(str(f.get('message', '')))}{where}"
        f"{_last_frame(f.get('traceback'))}"
    )


def _last_frame(traceback: Any) -> str:
    """`` at file.py:12`` from a traceback's last frame (the file's name only: stable across
    machines)."""
    if not isinstance(traceback, str):
        return ""
    frames = [line.strip() for line in traceback.splitlines() if line.strip().startswith('File "')]
    if not frames:
        return ""
    try:
        path, rest = frames[-1][len('File "') :].split('"', 1)
        line = rest.split(",")[1].strip().removeprefix("line ")
    except (ValueError, IndexError):
        return ""
    return f" at {PurePath(path).name}:{line}"


def _robot_lines(rec: Record, lead: str) -> list[str]:
    """A robot problem, and for an exit its last output lines, indented under ``lead``."""
    out = [f"{lead}{robot_problem(rec)}"]
    output = rec.fields.get("output")
    if rec.kind == RecordKind.ROBOT_EXIT and output:
        pad = " " * len(lead)
        out.append(f"{pad}  its last output:")
        out += [f"{pad}    {line}".rstrip() for line in str(output).splitlines()]
    return out


def why_never_acked(key: str, records: list[Record], refs: Refs) -> str:
    """Why a delivery was never acked, from what the fake recorded about it."""
    pushes = [
        r for r in records if r.kind in (RecordKind.PUSH, RecordKind.REDELIVER) and r.fields.get("key") == key
    ]
    acks = [r for r in records if r.kind == RecordKind.ACK and r.fields.get("key") == key]
    reasons: list[str] = []
    bad = [r for r in acks if r.fields.get("code") != 200]
    if bad:
        codes = ", ".join(sorted({str(r.fields.get("code")) for r in bad}))
        reasons.append(f"acked with error status {codes}")
    dropped = [p for p in pushes if p.fields.get("fault") or p.fields.get("swallowed")]
    for p in dropped:
        reasons.append(
            f"delivery {p.fields.get('attempt')} {p.fields.get('fault') or p.fields.get('swallowed')}"
        )
    closed = sorted(
        {
            refs("conn", r.fields.get("connection"))
            for r in records
            if r.kind == RecordKind.DISCONNECT
            and r.fields.get("connection") in {p.fields.get("connection") for p in pushes}
        }
    )
    if closed:
        reasons.append(f"connection {', '.join(closed)} closed")
    if not acks and not dropped:
        reasons.append(f"no ack arrived for any of {len(pushes)} deliveries")
    return "; ".join(reasons) or "no ack with status 200 arrived"


def problem_lines(records: list[Record], refs: Refs) -> list[str]:
    """Violations, each followed by its explanation and the robot's problems since the one
    before; the robot's other problems; refusals with the fake's message."""
    out: list[str] = []
    pending: list[Record] = []  # robot problems not yet shown
    for rec in records:
        f = rec.fields
        if rec.kind in ROBOT_KINDS:
            pending.append(rec)
        elif rec.kind == RecordKind.VIOLATION:
            key = str(f.get("key") or "")
            what = f" ({refs('msg', key)})" if key and not key.startswith(("ping:", "disconnect:")) else ""
            out.append(f"- VIOLATION {f.get('reason')}{what}")
            if "never acked" in str(f.get("reason")) and key:
                out.append(f"    why: {why_never_acked(key, records, refs)}")
            elif f.get("message"):
                out.append(f"    the robot's message: {_clip(str(f['message']))}")
            for r in pending:
                out += _robot_lines(r, "    ")
            pending.clear()
    for rec in pending:
        out += _robot_lines(rec, "- ")
    refused: Counter[str] = Counter()
    for rec in records:
        f = rec.fields
        if rec.kind == RecordKind.API and f.get("status") != 200:
            resp = f.get("response")
            code = resp.get("code", "") if isinstance(resp, dict) else ""
            message = resp.get("message", "") if isinstance(resp, dict) else ""
            refused[f"{f.get('route')} → {f.get('status')} {code}: {_clip(str(message))}"] += 1
        elif rec.kind == RecordKind.WEBHOOK and f.get("errcode") not in (0, None):
            refused[f"webhook → errcode {f.get('errcode')}: {_clip(str(f.get('errmsg', '')))}"] += 1
    for line, n in refused.items():
        out.append(f"- refused{f' x{n}' if n > 1 else ''}: {line}")
    return out


def _clip(text: str, n: int = 200) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"
