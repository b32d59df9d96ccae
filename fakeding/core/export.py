"""A session, exported as a scenario file that replays it (pure).

Why: a conversation tried by hand in the emulator is worth keeping as a regression test. The
scenario runner replays users' messages, clicks and faults at their times and answers each
question with a scripted agent, so the robot's answers seen in the session become ``answer``
blocks: the chunks are what each streamed card version added, so the card fills in the same way.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from typing import Any

from fakeding.core.cards import Card
from fakeding.core.messages import Conversation
from fakeding.core.platform import TranscriptEntry
from fakeding.core.record_kinds import RecordKind
from fakeding.core.recorder import Record


# Settings the emulator changes at run time; differences from the defaults go into the export.
def answer_text(data: Any) -> str | None:
    """The answer a card shows: its ``answer`` markdown block, or an AI card's ``content``."""
    if not isinstance(data, dict):
        return None
    for element in data.get("contents") or []:
        if isinstance(element, dict) and element.get("id") == "answer":
            return str(element.get("text", ""))
    content = data.get("content")
    return content if isinstance(content, str) else None


def answer_block(card: Card) -> dict[str, Any] | None:
    """Chunks of the answer as the card's versions revealed them, and their mean spacing."""
    texts: list[tuple[float, str | None]] = []
    for v in card.versions:  # what the robot streamed, up to the finished card: not the votes
        if v.source == "callback":
            continue
        texts.append((v.t, answer_text(v.card_data)))
        if _finished(v.card_data):
            break
    shown = [(t, a) for t, a in texts if a is not None]
    if not shown:
        return None
    chunks: list[str] = []
    so_far = ""
    for _, text in shown:
        if text.startswith(so_far) and len(text) > len(so_far):
            chunks.append(text[len(so_far) :])
            so_far = text
        elif not text.startswith(so_far):  # rewritten, not appended: start the answer over
            chunks = [text] if text else []
            so_far = text
    if not chunks:
        return None
    span = shown[-1][0] - card.versions[0].t
    return {"chunks": chunks, "delay": round(max(span, 0.0) / len(chunks), 3)}


def _finished(data: Any) -> bool:
    """A card with buttons (the robot's final card) or an AI card in a final flow state."""
    if not isinstance(data, dict):
        return False
    if data.get("flowStatus") in ("3", "5"):
        return True
    return any(isinstance(e, dict) and e.get("type") == "action" for e in data.get("contents") or [])


def _names(cids: Iterable[str]) -> dict[str, str]:
    """A scenario name per conversation id (scenario names become ids again when replayed)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for cid in cids:
        base = re.sub(r"[^A-Za-z0-9]", "", cid.removeprefix("cid")) or "conversation"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}{n}"
        used.add(name)
        out[cid] = name
    return out


def session_scenario(
    records: Iterable[Record],
    transcript: Iterable[TranscriptEntry],
    cards: Iterable[Card],
    conversations: Mapping[str, Conversation],
    nicks: Mapping[str, str | None],
    direct: Mapping[str, str],
    *,
    name: str = "emulator session",
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The scenario (a dict that ``fakeding.testing.scenarios.schema`` accepts) replaying a session.

    ``nicks`` maps staff ids to nicknames, ``direct`` staff ids to their 1:1 conversation."""
    records = list(records)
    cards = list(cards)
    texts = {e.ref: e.text for e in transcript if e.who.startswith("user:") and e.ref}
    card_index = {c.id: i for i, c in enumerate(cards, 1)}
    by_id = {c.id: c for c in cards}
    acting = [
        r
        for r in records
        if r.kind in (RecordKind.MESSAGE, RecordKind.CLICK)
        or (r.kind == RecordKind.FAULT and not r.fields.get("fired"))
    ]
    start = acting[0].t if acting else 0.0
    waiting: dict[str, deque[dict[str, Any]]] = defaultdict(deque)  # conversation -> questions
    steps: list[dict[str, Any]] = []
    users: dict[str, dict[str, str]] = {}
    convs: list[str] = []
    for r in records:
        f = r.fields
        at = round(r.t - start, 3)
        if r.kind == RecordKind.MESSAGE:
            cid = str(f["conversation"])
            if cid not in convs:
                convs.append(cid)
            staff = str(f["sender"])
            users[staff] = {"nick": nicks.get(staff) or staff}
            say: dict[str, Any] = {"user": staff, "in": cid}
            text = texts.get(f["msgId"], "")
            if f["msgtype"] == "text":
                say["text"] = text
            else:
                say["msgtype"] = f["msgtype"]
            if not f.get("atBot", True):
                say["atBot"] = False
            step: dict[str, Any] = {"at": at, "say": say}
            steps.append(step)
            if f.get("delivered") and f["msgtype"] == "text" and text.strip():
                waiting[cid].append(step)
        elif r.kind == RecordKind.CARD_SEND:
            card = by_id.get(f["card"])
            target = f.get("conversation") or direct.get(str(f.get("user")))
            if card is not None and target and waiting[target]:
                block = answer_block(card)
                question = waiting[target].popleft()
                if block is not None:
                    question["answer"] = block
        elif r.kind == RecordKind.CLICK and f["card"] in card_index:
            staff = str(f["user"])
            users.setdefault(staff, {"nick": nicks.get(staff) or staff})
            steps.append(
                {"at": at, "click": {"user": staff, "card": card_index[f["card"]], "button": f["button"]}}
            )
        elif r.kind == RecordKind.FAULT and not f.get("fired"):
            spec = {"kind": f["fault"], **{k: v for k, v in f.items() if k != "fault"}}
            steps.append({"at": at, "fault": spec})
    names = _names(convs)
    for step in steps:
        if "say" in step:
            step["say"]["in"] = names[step["say"]["in"]]
    scenario: dict[str, Any] = {
        "name": name,
        "description": "Recorded in the fakeding emulator; `fakeding scenario run` replays it.",
    }
    if settings:
        scenario["platform"] = dict(settings)
    scenario["users"] = users
    scenario["conversations"] = {names[cid]: _conversation(conversations.get(cid), cid) for cid in convs}
    scenario["steps"] = steps or [{"at": 0, "wait": True}]
    violations = sum(1 for r in records if r.kind == RecordKind.VIOLATION)
    scenario["expect"] = {"cards": len(cards), "violations": violations}
    return scenario


def _conversation(conv: Conversation | None, cid: str) -> dict[str, str]:
    if conv is None:
        return {"type": "group", "title": cid}
    out = {"type": conv.type}
    if conv.type == "group":
        out["title"] = conv.title or cid
    return out
