"""A scenario's steps as the emulator page replays them against the running fake (pure).

Why the page sends each step itself: every step becomes the control-API request a test or a
script would send (``POST /_fakeding/messages``, ``…/click``, ``/faults``, ``/push``,
``PATCH /_fakeding/settings``), so a replay is ordinary traffic the timeline and the inspector
already show, the server keeps no replay state (a closed tab, a reset or two tabs leave nothing
half-run behind), and Step, Run all and Stop are the page's own loop. The server's part is this:
the scenario schema and references (``document``; errors name the line, the step and the
field; ``answer:`` and ``expect:`` are the robot's business, not checked here) and each step
typed, with its request.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from fakeding.aio.scenario_document import ScenarioText, conversation_id, expand_steps
from fakeding.aio.scenario_document import pattern_get as _pattern  # the runner's rule for ``user{n}`` names

KINDS = ("say", "click", "fault", "event", "graph", "settings", "wait")


def page_steps(s: ScenarioText) -> dict[str, Any]:
    """``{name, steps, setup, notes}``: ``steps`` unrolled (``repeat``/``every``) in time order,
    each ``{n, index, line, at, kind, summary, request, …}``; ``request`` is ``{method, path,
    body}`` (a click's ``path`` is filled in by the page once card ``card`` exists), None for
    what the page cannot send; ``setup``: the requests to send before the first step."""
    data = s.data
    users: dict[str, Any] = data.get("users") or {}
    convs: dict[str, Any] = data.get("conversations") or {}
    notes: list[str] = []
    steps = []
    for n, (index, step) in enumerate(expand_steps(data["steps"]), 1):
        kind = next(k for k in KINDS if k in step)
        typed: dict[str, Any] = {
            "n": n,
            "index": index,
            "line": s.line_of(("steps", index)),
            "at": round(float(step["at"]), 6),
            "kind": kind,
        }
        typed.update(_typed(kind, step[kind], users, convs))
        steps.append(typed)
    if any("answer" in step for step in data["steps"]):
        notes.append(
            "answer: blocks script a robot for `fakeding scenario run`; here the connected robot answers"
        )
    if any(t["request"] is None and t["kind"] == "graph" for t in steps):
        notes.append("graph steps have no control route: `fakeding scenario run` plays them")
    if any(t["request"] is None and t["kind"] == "click" for t in steps):
        notes.append("clicks on the latest card come from load plans: `fakeding load` plays them")
    setup = []
    platform = dict(data.get("platform") or {})
    if platform.pop("profile", None) is not None:
        notes.append("platform.profile is not applied by the page: its other settings are")
    if platform:
        setup.append({"method": "PATCH", "path": "/_fakeding/settings", "body": platform})
    return {"name": s.name, "file": PurePath(s.path).name, "steps": steps, "setup": setup, "notes": notes}


def _typed(kind: str, spec: Any, users: dict[str, Any], convs: dict[str, Any]) -> dict[str, Any]:
    if kind == "say":
        conv = _pattern(convs, spec["in"]) or {"type": "group"}
        cid = conversation_id(spec["in"])
        conversation: dict[str, Any] = {"id": cid, "type": conv["type"]}
        if conv["type"] == "group":
            conversation["title"] = conv.get("title", spec["in"])
        nick = (_pattern(users, spec["user"]) or {}).get("nick", spec["user"])
        msgtype = spec.get("msgtype", "text")
        body: dict[str, Any] = {
            "conversation": conversation,
            "sender": {"staffId": spec["user"], "nick": nick},
            "msgtype": msgtype,
            "atBot": spec.get("atBot", True),
        }
        text = spec.get("text")
        if text is not None:
            body["text"] = text * int(spec.get("text_repeat", 1))
        shown = body.get("text", f"[{msgtype}]")
        return {
            "summary": f"{nick} in {spec['in']}: {shown}",
            "conversation": cid,
            "request": {"method": "POST", "path": "/_fakeding/messages", "body": body},
        }
    if kind == "click" and spec["card"] == "latest":  # a load workload's click: the page cannot pick
        return {"summary": f"{spec['user']} taps {spec['button']!r} on the latest card", "request": None}
    if kind == "click":
        card = spec["card"] if isinstance(spec["card"], int) else int(str(spec["card"]).removeprefix("card#"))
        body = {"staffId": spec["user"], "buttonId": spec["button"]}
        if spec.get("params") is not None:
            body["params"] = spec["params"]
        return {
            "summary": f"{spec['user']} taps {spec['button']!r} on card #{card}",
            "card": card,
            "button": spec["button"],
            "request": {"method": "POST", "path": None, "body": body},
        }
    if kind == "fault":
        return {
            "summary": "fault " + " ".join(f"{k}={v}" for k, v in spec.items()),
            "request": {"method": "POST", "path": "/_fakeding/faults", "body": dict(spec)},
        }
    if kind == "event":
        body = {"eventType": spec["type"], "data": dict(spec.get("data") or {})}
        out: dict[str, Any] = {
            "summary": f"event {spec['type']}",
            "request": {"method": "POST", "path": "/_fakeding/push", "body": body},
        }
        if "corp" in spec:
            out["note"] = f"corp {spec['corp']!r}: the page pushes as the default corp"
        return out
    if kind == "settings":
        return {
            "summary": "settings " + ", ".join(f"{k}={v}" for k, v in spec.items()),
            "request": {"method": "PATCH", "path": "/_fakeding/settings", "body": dict(spec)},
        }
    if kind == "graph":
        return {
            "summary": f"graph {spec['user']} in {spec['in']}: {spec['text']}",
            "request": None,
            "note": "not sent from the page (no control route): `fakeding scenario run` plays it",
        }
    return {"summary": "wait", "request": None}
