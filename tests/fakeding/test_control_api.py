"""The control API under ``/_fakeding/``, driven over HTTP as a non-Python test would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import requests
from websockets.asyncio.client import ClientConnection, connect

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from tests.fakeding.card_helpers import access_token

BOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
CARD_SEND = "/v1.0/im/v1.0/robot/interactiveCards/send"
BUTTON = {
    "type": "button",
    "actionType": "request",
    "id": "b1",
    "label": {"type": "text", "text": "OK"},
    "value": {"x": 1},
}
CARD_DATA = {
    "config": {"autoLayout": True},
    "header": {"title": {"type": "text", "text": "Was this helpful?"}},
    "contents": [
        {"type": "markdown", "text": "answer", "id": "m1"},
        {"type": "action", "actions": [BUTTON], "id": "a1"},
    ],
}


def _get(fake: ThreadedFakeDing, path: str, **params: Any) -> requests.Response:
    return requests.get(fake.http_url + "/_fakeding/" + path, params=params, timeout=10)


def _post(
    fake: ThreadedFakeDing, path: str, body: Any = None, *, raw: bytes | None = None
) -> requests.Response:
    url = fake.http_url + "/_fakeding/" + path
    if raw is not None:
        return requests.post(url, data=raw, headers={"Content-Type": "application/json"}, timeout=10)
    return requests.post(url, json=body, timeout=10)


def _bad(r: requests.Response, field: str) -> str:
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"error", "field"}
    assert body["field"] == field
    assert body["error"].startswith(f"{field}: ")
    error: str = body["error"]
    return error


def _message(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "conversation": {"id": "cidG1", "type": "group", "title": "Support"},
        "sender": {"staffId": "alice", "nick": "Alice"},
        "text": "hello",
    }
    body.update(overrides)
    return body


def _token(fake: ThreadedFakeDing) -> str:
    return access_token(fake)


def _send_card(fake: ThreadedFakeDing, biz_id: str = "card-1", cid: str = "cidG1") -> None:
    """Send a card the way the Python SDK's ``reply_card`` does."""
    body: dict[str, Any] = {
        "cardTemplateId": "StandardCard",
        "robotCode": DEFAULT_CLIENT_ID,
        "cardData": json.dumps(CARD_DATA),
        "sendOptions": {},
        "cardBizId": biz_id,
        "openConversationId": cid,
    }
    r = requests.post(
        fake.http_url + CARD_SEND,
        json=body,
        headers={"x-acs-dingtalk-access-token": _token(fake)},
        timeout=10,
    )
    assert r.status_code == 200, r.text


def _robot(
    fake: ThreadedFakeDing, topics: list[str], body: Callable[[ClientConnection], Awaitable[Any]]
) -> Any:
    """Connect a raw websocket robot subscribed to ``topics`` and run ``body`` with it."""
    subs = [{"type": "CALLBACK", "topic": t} for t in topics]
    r = requests.post(
        fake.http_url + "/v1.0/gateway/connections/open",
        json={"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET, "subscriptions": subs},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    url = f"{r.json()['endpoint']}?ticket={r.json()['ticket']}"

    async def run() -> Any:
        async with connect(url, open_timeout=5) as ws:
            return await body(ws)

    return asyncio.run(run())


async def _frame_and_ack(fake: ThreadedFakeDing, ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    await ws.send(
        json.dumps(
            {
                "code": 200,
                "headers": {"messageId": frame["headers"]["messageId"]},
                "message": "OK",
                "data": json.dumps({"response": None}),
            }
        )
    )
    fake.wait_for("ack")
    return frame


# -- health ---------------------------------------------------------------------------------------


def test_health(fakeding: ThreadedFakeDing) -> None:
    r = _get(fakeding, "health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["Content-Type"].startswith("application/json")
    assert fakeding.timeline() == []  # control traffic is never recorded


# -- messages -------------------------------------------------------------------------------------


def test_group_message_without_a_robot_is_queued(fakeding: ThreadedFakeDing) -> None:
    r = _post(fakeding, "messages", _message())
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"msgId", "messageId", "delivered"}
    assert body["messageId"] is None and body["delivered"] is True
    assert body["msgId"].startswith("msg")
    (message,) = fakeding.timeline(["message"])
    assert message == {
        "seq": message["seq"],
        "t": message["t"],
        "kind": "message",
        "client": DEFAULT_CLIENT_ID,
        "conversation": "cidG1",
        "sender": "alice",
        "msgtype": "text",
        "msgId": body["msgId"],
        "atBot": True,
        "delivered": True,
        "session": message["session"],
    }
    assert len(message["session"]) == 12  # a digest of the session webhook's key, never the key
    (queued,) = fakeding.timeline(["queued"])
    assert queued["topic"] == BOT_TOPIC and queued["client"] == DEFAULT_CLIENT_ID
    assert fakeding.timeline(["push"]) == []


def test_group_message_with_a_robot_is_pushed(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> tuple[dict[str, Any], dict[str, Any]]:
        fakeding.wait_for("connect")
        r = _post(fakeding, "messages", _message(text="are you there?"))
        assert r.status_code == 200, r.text
        return r.json(), await _frame_and_ack(fakeding, ws)

    body, frame = _robot(fakeding, [BOT_TOPIC], robot)
    assert body["delivered"] is True
    assert body["messageId"] == frame["headers"]["messageId"]
    data = json.loads(frame["data"])
    assert data["msgId"] == body["msgId"]
    assert data["conversationId"] == "cidG1" and data["conversationTitle"] == "Support"
    assert data["conversationType"] == "2" and data["isInAtList"] is True
    assert data["senderStaffId"] == "alice" and data["senderNick"] == "Alice"
    assert data["text"] == {"content": " are you there?"}
    (push,) = fakeding.timeline(["push"])
    assert push["messageId"] == body["messageId"]


def test_single_message(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> tuple[dict[str, Any], dict[str, Any]]:
        fakeding.wait_for("connect")
        r = _post(
            fakeding,
            "messages",
            _message(conversation={"id": "cidS1", "type": "single"}, atBot=False, text="dm"),
        )
        return r.json(), await _frame_and_ack(fakeding, ws)

    body, frame = _robot(fakeding, [BOT_TOPIC], robot)
    assert body["delivered"] is True  # 1:1 chats always reach the robot
    data = json.loads(frame["data"])
    assert data["conversationType"] == "1" and data["text"] == {"content": "dm"}
    assert "isInAtList" not in data


def test_group_message_not_at_the_robot_is_not_delivered(fakeding: ThreadedFakeDing) -> None:
    r = _post(fakeding, "messages", _message(atBot=False, text="just chatting"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["delivered"] is False and body["messageId"] is None
    assert fakeding.timeline(["push"]) == [] and fakeding.timeline(["queued"]) == []
    (message,) = fakeding.timeline(["message"])
    assert message["atBot"] is False and message["delivered"] is False
    (entry,) = fakeding.transcript("cidG1")
    assert (entry["who"], entry["text"]) == ("user:alice", "just chatting")


def test_picture_message(fakeding: ThreadedFakeDing) -> None:
    r = _post(
        fakeding,
        "messages",
        {
            "conversation": {"id": "cidP", "type": "single"},
            "sender": {"staffId": "bob"},
            "msgtype": "picture",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["delivered"] is True
    (message,) = fakeding.timeline(["message"])
    assert message["msgtype"] == "picture"
    (entry,) = fakeding.transcript("cidP")
    assert (entry["kind"], entry["text"]) == ("picture", "[picture]")


def test_message_with_explicit_content(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> dict[str, Any]:
        fakeding.wait_for("connect")
        _post(
            fakeding,
            "messages",
            _message(msgtype="file", text=None, content={"downloadCode": "dl1", "fileName": "a.pdf"}),
        )
        return await _frame_and_ack(fakeding, ws)

    data = json.loads(_robot(fakeding, [BOT_TOPIC], robot)["data"])
    assert data["msgtype"] == "file"
    assert data["content"] == {"downloadCode": "dl1", "fileName": "a.pdf"}


def test_message_bad_json_body_is_400_field_body(fakeding: ThreadedFakeDing) -> None:
    error = _bad(_post(fakeding, "messages", raw=b"{conversation"), "body")
    assert "is not JSON" in error


def test_message_body_must_be_an_object(fakeding: ThreadedFakeDing) -> None:
    assert "found list" in _bad(_post(fakeding, "messages", [1]), "body")


@pytest.mark.parametrize(
    ("overrides", "remove", "field"),
    [
        ({}, "conversation", "conversation"),
        ({"conversation": "cidG1"}, None, "conversation"),
        ({"conversation": {"type": "group"}}, None, "conversation.id"),
        ({"conversation": {"id": "c"}}, None, "conversation.type"),
        ({"conversation": {"id": "c", "type": "channel"}}, None, "conversation.type"),
        ({"conversation": {"id": "c", "type": "group", "title": 5}}, None, "conversation.title"),
        ({}, "sender", "sender"),
        ({"sender": {}}, None, "sender.staffId"),
        ({"sender": {"staffId": ""}}, None, "sender.staffId"),
        ({"sender": {"staffId": "a", "nick": 1}}, None, "sender.nick"),
        ({}, "text", "text"),
        ({"text": 42}, None, "text"),
        ({"msgtype": "audio", "text": 5}, None, "text"),
        ({"atBot": "yes"}, None, "atBot"),
        ({"msgtype": "sticker"}, None, "msgtype"),
        ({"msgtype": "picture", "content": "x"}, None, "content"),
        ({"clientId": ""}, None, "clientId"),
    ],
)
def test_message_validation_names_the_field(
    fakeding: ThreadedFakeDing, overrides: dict[str, Any], remove: str | None, field: str
) -> None:
    body = _message(**overrides)
    if remove:
        del body[remove]
    _bad(_post(fakeding, "messages", body), field)
    assert fakeding.timeline() == []


def test_message_for_an_unknown_app_is_400_field_client_id(fakeding: ThreadedFakeDing) -> None:
    error = _bad(_post(fakeding, "messages", _message(clientId="ghost")), "clientId")
    assert "'ghost'" in error and DEFAULT_CLIENT_ID in error


# -- cards and clicks -----------------------------------------------------------------------------


def test_cards_lists_a_card_sent_through_the_openapi(fakeding: ThreadedFakeDing) -> None:
    assert _get(fakeding, "cards").json() == []
    _send_card(fakeding)
    r = _get(fakeding, "cards")
    assert r.status_code == 200
    (card,) = r.json()
    assert {k: v for k, v in card.items() if k != "versions"} == {
        "cardBizId": "card-1",
        "kind": "interactive",
        "conversationId": "cidG1",
        "user": None,
        "clientId": DEFAULT_CLIENT_ID,
        "callbackType": "STREAM",
        "privateData": {},
        "atUsers": [],
        "flowStatus": None,
        "finalized": False,
        "failed": False,
    }
    (version,) = card["versions"]
    assert version["cardData"] == CARD_DATA and version["via"] == "send"


def test_click_without_a_robot_is_queued(fakeding: ThreadedFakeDing) -> None:
    _send_card(fakeding)
    r = _post(fakeding, "cards/card-1/click", {"staffId": "alice", "buttonId": "b1"})
    assert r.status_code == 200, r.text
    assert r.json() == {"messageId": None}
    (click,) = fakeding.timeline(["click"])
    assert {k: click[k] for k in ("client", "card", "user", "button")} == {
        "client": DEFAULT_CLIENT_ID,
        "card": "card-1",
        "user": "alice",
        "button": "b1",
    }
    (queued,) = fakeding.timeline(["queued"])
    assert queued["topic"] == CARD_TOPIC
    entries = [(e["who"], e["kind"], e["text"]) for e in fakeding.transcript("cidG1")]
    assert entries == [("bot", "card", "Was this helpful?"), ("user:alice", "click", "OK")]


def test_queued_click_reaches_the_robot_when_it_connects(fakeding: ThreadedFakeDing) -> None:
    _send_card(fakeding)
    r = _post(fakeding, "cards/card-1/click", {"staffId": "alice", "buttonId": "b1", "params": {"y": 2}})
    assert r.status_code == 200, r.text

    async def robot(ws: ClientConnection) -> dict[str, Any]:
        return await _frame_and_ack(fakeding, ws)

    frame = _robot(fakeding, [BOT_TOPIC, CARD_TOPIC], robot)
    assert frame["headers"]["topic"] == CARD_TOPIC
    data = json.loads(frame["data"])
    assert data["outTrackId"] == "card-1" and data["userId"] == "alice"
    assert json.loads(data["content"]) == {
        "cardPrivateData": {"actionIds": ["b1"], "params": {"x": 1, "y": 2}}
    }


def test_click_with_a_robot_returns_the_pushed_message_id(fakeding: ThreadedFakeDing) -> None:
    _send_card(fakeding)

    async def robot(ws: ClientConnection) -> tuple[dict[str, Any], dict[str, Any]]:
        fakeding.wait_for("connect")
        r = _post(fakeding, "cards/card-1/click", {"staffId": "bob", "buttonId": "b1"})
        return r.json(), await _frame_and_ack(fakeding, ws)

    body, frame = _robot(fakeding, [CARD_TOPIC], robot)
    assert body["messageId"] == frame["headers"]["messageId"]


def test_click_on_an_unknown_button_lists_the_cards_buttons(fakeding: ThreadedFakeDing) -> None:
    _send_card(fakeding)
    error = _bad(_post(fakeding, "cards/card-1/click", {"staffId": "a", "buttonId": "b9"}), "buttonId")
    assert "['b1']" in error and "'b9'" in error
    assert fakeding.timeline(["click"]) == []


def test_click_on_an_unknown_card_is_400_field_card_biz_id(fakeding: ThreadedFakeDing) -> None:
    _send_card(fakeding)
    error = _bad(_post(fakeding, "cards/nope/click", {"staffId": "a", "buttonId": "b1"}), "cardBizId")
    assert "'nope'" in error and "card-1" in error


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"buttonId": "b1"}, "staffId"),
        ({"staffId": "a"}, "buttonId"),
        ({"staffId": "a", "buttonId": "b1", "params": [1]}, "params"),
    ],
)
def test_click_validation_names_the_field(
    fakeding: ThreadedFakeDing, body: dict[str, Any], field: str
) -> None:
    _send_card(fakeding)
    _bad(_post(fakeding, "cards/card-1/click", body), field)


def test_click_bad_json_body(fakeding: ThreadedFakeDing) -> None:
    _bad(_post(fakeding, "cards/card-1/click", raw=b"nope"), "body")


# -- timeline, conversations, violations ----------------------------------------------------------


def test_timeline_lists_records_and_filters_by_kind(fakeding: ThreadedFakeDing) -> None:
    _post(fakeding, "messages", _message())
    _token(fakeding)
    kinds = [r["kind"] for r in _get(fakeding, "timeline").json()]
    assert kinds == ["message", "queued", "api"]
    assert [r["kind"] for r in _get(fakeding, "timeline", kind="api").json()] == ["api"]
    both = _get(fakeding, "timeline", kind=["queued", "message"]).json()
    assert [r["kind"] for r in both] == ["message", "queued"]
    assert _get(fakeding, "timeline", kind="push").json() == []
    assert all(isinstance(r["t"], float | int) for r in both)


def test_conversation_transcript(fakeding: ThreadedFakeDing) -> None:
    _post(fakeding, "messages", _message(text="one"))
    _post(fakeding, "messages", _message(conversation={"id": "other", "type": "group"}))
    _post(fakeding, "messages", _message(text="two", sender={"staffId": "bob"}))
    r = _get(fakeding, "conversations/cidG1")
    assert r.status_code == 200
    rows = r.json()
    assert [(e["who"], e["kind"], e["text"], e["conversation"]) for e in rows] == [
        ("user:alice", "text", "one", "cidG1"),
        ("user:bob", "text", "two", "cidG1"),
    ]
    assert all(e["ref"].startswith("msg") for e in rows)
    assert _get(fakeding, "conversations/unknown").json() == []


def test_violations(fakeding: ThreadedFakeDing) -> None:
    assert _get(fakeding, "violations").json() == []
    requests.get(fakeding.http_url + "/v1.0/nothing", timeout=10)
    (v,) = _get(fakeding, "violations").json()
    assert v["kind"] == "violation" and v["reason"] == "unknown route GET /v1.0/nothing"
    fakeding.reset()


# -- faults ---------------------------------------------------------------------------------------


def test_fault_is_armed_and_recorded(fakeding: ThreadedFakeDing) -> None:
    spec = {
        "kind": "api",
        "route": "POST /v1.0/robot/groupMessages/send",
        "status": 503,
        "code": "system.busy",
        "message": "try later",
    }
    r = _post(fakeding, "faults", spec)
    assert r.status_code == 200, r.text
    assert r.json() == {"armed": spec}
    (fault,) = fakeding.timeline(["fault"])
    assert fault["fault"] == "api" and fault["route"] == spec["route"]
    send = {
        "robotCode": DEFAULT_CLIENT_ID,
        "openConversationId": "c",
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "x"}),
    }
    headers = {"x-acs-dingtalk-access-token": _token(fakeding)}
    url = fakeding.http_url + "/v1.0/robot/groupMessages/send"
    first = requests.post(url, json=send, headers=headers, timeout=10)
    assert first.status_code == 503
    assert {k: first.json()[k] for k in ("code", "message")} == {
        "code": "system.busy",
        "message": "try later",
    }
    assert requests.post(url, json=send, headers=headers, timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "explode"}, "kind"),
        ({}, "kind"),
        ({"kind": "frame", "action": "shuffle"}, "action"),
        ({"kind": "frame", "action": "drop", "nth": 0}, "nth"),
        ({"kind": "frame", "action": "delay", "delay": -1}, "delay"),
        ({"kind": "api", "route": "nothing"}, "route"),
        ({"kind": "api", "route": "/x", "status": 42}, "status"),
        ({"kind": "zombie", "when": 1}, "when"),
        ({"kind": "zombie", "clientId": "ghost"}, "clientId"),
    ],
)
def test_bad_fault_is_400_naming_the_field(
    fakeding: ThreadedFakeDing, spec: dict[str, Any], field: str
) -> None:
    _bad(_post(fakeding, "faults", spec), field)
    assert fakeding.timeline(["fault"]) == []


def test_fault_bad_json_body(fakeding: ThreadedFakeDing) -> None:
    _bad(_post(fakeding, "faults", raw=b"[1,"), "body")


# -- reset ----------------------------------------------------------------------------------------


def _msg_id(fake: ThreadedFakeDing) -> str:
    msg_id: str = _post(fake, "messages", _message()).json()["msgId"]
    return msg_id


def test_reset_clears_the_recording_and_cards(fakeding: ThreadedFakeDing) -> None:
    _send_card(fakeding)
    _post(fakeding, "messages", _message())
    r = _post(fakeding, "reset")
    assert r.status_code == 200 and r.json() == {"status": "reset"}
    assert _get(fakeding, "timeline").json() == []
    assert _get(fakeding, "cards").json() == []
    assert _get(fakeding, "conversations/cidG1").json() == []


def test_reset_never_repeats_an_id_even_with_the_same_seed(fakeding: ThreadedFakeDing) -> None:
    seen = set()
    for seed in (7, 7, 7, None, 8):
        assert _post(fakeding, "reset", {} if seed is None else {"seed": seed}).status_code == 200
        ids = {_msg_id(fakeding) for _ in range(3)}
        assert len(ids) == 3 and not ids & seen
        seen |= ids


@pytest.mark.parametrize("seed", ["7", 1.5, True, [7]])
def test_reset_with_a_bad_seed_is_400_field_seed(fakeding: ThreadedFakeDing, seed: Any) -> None:
    _post(fakeding, "messages", _message())
    error = _bad(_post(fakeding, "reset", {"seed": seed}), "seed")
    assert repr(seed) in error
    assert len(fakeding.timeline(["message"])) == 1  # nothing was reset


def test_reset_bad_json_body(fakeding: ThreadedFakeDing) -> None:
    _bad(_post(fakeding, "reset", raw=b"{seed}"), "body")


def test_timeline_as_json_lines_is_a_file_to_keep(fakeding: Any) -> None:
    import json as _json

    import requests as _requests

    fakeding.send_message("hello", conversation_id="cidJsonl")
    base = fakeding.http_url + "/_fakeding/timeline"
    resp = _requests.get(base, params={"format": "jsonl", "kind": "message"}, timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/x-ndjson")
    rows = [_json.loads(line) for line in resp.text.splitlines()]
    assert [r["kind"] for r in rows] == ["message"]
    assert rows[0]["conversation"] == "cidJsonl"
    bad = _requests.get(base, params={"format": "xml"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["field"] == "format"


def test_timeline_since_returns_only_what_is_new(fakeding: ThreadedFakeDing) -> None:
    _post(fakeding, "messages", _message())
    everything = _get(fakeding, "timeline").json()
    last = everything[-1]["seq"]
    assert [r["seq"] for r in everything] == list(range(everything[0]["seq"], last + 1))
    assert _get(fakeding, f"timeline?since={last}").json() == []
    _post(fakeding, "messages", _message())
    newer = _get(fakeding, f"timeline?since={last}").json()
    assert newer and all(r["seq"] > last for r in newer)
    assert newer == _get(fakeding, "timeline").json()[len(everything) :]
    assert _get(fakeding, f"timeline?since={last}&kind=message").json() == [
        r for r in newer if r["kind"] == "message"
    ]
    error = _bad(_get(fakeding, "timeline?since=-1"), "since")
    assert "integer" in error
