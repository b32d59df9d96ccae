"""A recorded exchange, turned into a scenario that replays it (pure).

Why: what happened between DingTalk and a robot is worth keeping as a regression test. The
people's side (messages, card clicks, events) becomes steps at their times; the robot's side
(cards and their versions, answers, webhook replies) becomes ``expect:`` counts, so a replay
against the same robot fails when it answers differently. The full exchange stays in the
cassette next to the scenario.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
# Calls that make a card (its id field) and place it in a conversation (True) or not yet.
CARD_CREATE: dict[tuple[str, str], tuple[str, bool]] = {
    ("POST", "/v1.0/im/v1.0/robot/interactiveCards/send"): ("cardBizId", True),
    ("POST", "/v1.0/card/instances/createAndDeliver"): ("outTrackId", True),
    ("POST", "/v1.0/card/instances"): ("outTrackId", False),
}
CARD_PLACE = {("POST", "/v1.0/card/instances/deliver"): "outTrackId"}
CARD_UPDATE = {
    ("PUT", "/v1.0/im/robots/interactiveCards"): "cardBizId",
    ("PUT", "/v1.0/card/instances"): "outTrackId",
    ("PUT", "/v1.0/card/streaming"): "outTrackId",
}


def parse_json(value: Any) -> Any:
    """``value`` decoded when it is a string holding JSON, else as it is."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _ok(entry: dict[str, Any]) -> bool:
    if not 200 <= int(entry.get("status") or 0) < 300:
        return False
    body = entry.get("response")
    return not (isinstance(body, dict) and body.get("errcode") not in (None, 0))


def _key(name: str, used: set[str], base: str) -> str:
    key = re.sub(r"[^\w-]", "", name) or base
    out, n = key, 1
    while out in used:
        n += 1
        out = f"{key}{n}"
    used.add(out)
    return out


def scenario_from_cassette(
    entries: list[dict[str, Any]],
    *,
    name: str = "recorded session",
    key_of: Callable[[str, str], str] | None = None,
) -> dict[str, Any]:
    """The scenario (a dict ``fakeding.testing.scenarios.schema`` accepts) replaying ``entries``.

    ``key_of(raw_id, "user" | "conversation")`` names people and conversations in the file
    (the redactor's placeholders); by default their ids, made safe as keys."""
    pushes = [e for e in entries if e["kind"] == "push"]
    seen: set[str] = set()
    acting: list[tuple[float, dict[str, Any]]] = []  # (t, step without "at")
    users: dict[str, dict[str, str]] = {}
    convs: dict[str, dict[str, str]] = {}
    cards: list[str] = []  # card ids in order of creation
    versions: dict[str, int] = {}
    webhooks = placed = 0
    placed_ids: set[str] = set()
    for entry in entries:
        if entry["kind"] == "http" and _ok(entry):
            method, path = entry["method"], str(entry["path"]).partition("?")[0]
            request = entry.get("request")
            body: dict[str, Any] = request if isinstance(request, dict) else {}
            if entry.get("target") == "webhook":
                webhooks += 1
            elif (method, path) in CARD_CREATE:
                field, places = CARD_CREATE[(method, path)]
                card = str(body.get(field, ""))
                if card and card not in cards:
                    cards.append(card)
                    versions[card] = 0
                if places and card not in placed_ids:
                    placed_ids.add(card)
                    placed += 1
            elif (method, path) in CARD_PLACE:
                card = str(body.get(CARD_PLACE[(method, path)], ""))
                if card and card not in placed_ids:
                    placed_ids.add(card)
                    placed += 1
            elif (method, path) in CARD_UPDATE:
                card = str(body.get(CARD_UPDATE[(method, path)], ""))
                versions[card] = versions.get(card, 0) + 1
        elif entry in pushes:
            frame = entry["frame"]
            headers = frame.get("headers") or {}
            message_id = str(headers.get("messageId", ""))
            if frame.get("type") == "SYSTEM" or message_id in seen:
                continue  # keepalives, and redeliveries (the replayed platform redelivers)
            seen.add(message_id)
            step = _step(frame, headers, users, convs, cards)
            if step is not None:
                acting.append((float(entry["t"]), step))
    start = acting[0][0] if acting else 0.0
    used: set[str] = set()
    name_of = key_of or (lambda raw, stem: _key(raw, used, stem))
    user_keys = {staff: name_of(staff, "user") for staff in users}
    conv_keys = {cid: name_of(cid, "conversation") for cid in convs}
    steps: list[dict[str, Any]] = []
    for t, step in acting:
        for kind in ("say", "click"):
            if kind in step:
                step[kind]["user"] = user_keys[step[kind]["user"]]
        if "say" in step:
            step["say"]["in"] = conv_keys[step["say"]["in"]]
        steps.append({"at": round(t - start, 3), **step})
    scenario: dict[str, Any] = {
        "name": name,
        "description": "Recorded by `fakeding record`; name a `robot:` and `fakeding scenario "
        "run` replays it (the cassette next to it holds the full exchange).",
        "users": {user_keys[s]: u for s, u in users.items()},
        "conversations": {conv_keys[c]: v for c, v in convs.items()},
        "steps": steps or [{"at": 0, "wait": True}],
    }
    expect: dict[str, Any] = {"cards": len(cards), "webhook_replies": webhooks, "answers": webhooks + placed}
    if cards:
        expect["max_updates_per_card"] = max(1, *versions.values())
    scenario["expect"] = expect
    return scenario


def _step(
    frame: dict[str, Any],
    headers: dict[str, Any],
    users: dict[str, dict[str, str]],
    convs: dict[str, dict[str, str]],
    cards: list[str],
) -> dict[str, Any] | None:
    data = parse_json(frame.get("data"))
    if not isinstance(data, dict):
        return None
    topic = headers.get("topic")
    if frame.get("type") == "EVENT":
        event: dict[str, Any] = {"type": str(headers.get("eventType") or "unknown")}
        if data:
            event["data"] = data
        return {"event": event}
    if topic == ROBOT_TOPIC:
        staff = str(data.get("senderStaffId") or data.get("senderId") or "someone")
        cid = str(data.get("conversationId") or staff)
        single = str(data.get("conversationType")) == "1"
        users.setdefault(staff, {"nick": str(data.get("senderNick") or staff)})
        conv = {"type": "single" if single else "group"}
        if not single:
            conv["title"] = str(data.get("conversationTitle") or cid)
        convs.setdefault(cid, conv)
        say: dict[str, Any] = {"user": staff, "in": cid}
        msgtype = str(data.get("msgtype") or "text")
        if msgtype == "text":
            text = str((data.get("text") or {}).get("content", ""))
            # a group message arrives after the @robot, as " question": the replay adds it back
            say["text"] = text[1:] if not single and text.startswith(" ") else text
        else:
            say["msgtype"] = msgtype
        if not single and data.get("isInAtList") is False:
            say["atBot"] = False
        return {"say": say}
    if topic == CARD_TOPIC:
        card = str(data.get("outTrackId") or "")
        if card not in cards:
            return None  # a card made before the recording began: nothing to click on replay
        content = parse_json(data.get("content"))
        private = content.get("cardPrivateData", {}) if isinstance(content, dict) else {}
        actions = private.get("actionIds") or [""]
        staff = str(data.get("userId") or "someone")
        users.setdefault(staff, {"nick": staff})
        click: dict[str, Any] = {"user": staff, "card": cards.index(card) + 1, "button": str(actions[0])}
        if isinstance(private.get("params"), dict) and private["params"]:
            click["params"] = private["params"]
        return {"click": click}
    return None
