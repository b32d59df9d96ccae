"""The aiohttp websocket pump (``fakeding.aio.stream_ws``) seen from real clients on 127.0.0.1.

Raw ``websockets`` clients check the wire: close codes, aborts, the frame size limit and pings.
The official SDK checks that a robot connected before ``reset()`` keeps working after it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import requests
from dingtalk_stream import ChatbotHandler, ChatbotMessage
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from tests.fakeding.sdk import RecordingHandler, SdkRobot

GATEWAY = "/v1.0/gateway/connections/open"
SUBS = [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]


def _connect_url(fake: ThreadedFakeDing) -> str:
    r = requests.post(
        fake.http_url + GATEWAY,
        timeout=10,
        json={"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET, "subscriptions": SUBS},
    )
    assert r.status_code == 200, r.text
    return f"{r.json()['endpoint']}?ticket={r.json()['ticket']}"


def _client(fake: ThreadedFakeDing, body: Callable[[ClientConnection], Awaitable[Any]]) -> Any:
    url = _connect_url(fake)

    async def run() -> Any:
        async with connect(url, open_timeout=5, close_timeout=5) as ws:
            fake.wait_for("connect")
            return await body(ws)

    return asyncio.run(run())


async def _closed_by_server(ws: ClientConnection) -> ConnectionClosed:
    """Read until the server ends the connection; return how it ended."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=10)
    except ConnectionClosed as exc:
        return exc


def test_a_client_close_is_echoed_and_recorded_with_its_code(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> int | None:
        await ws.close(4000, "bye")
        return ws.close_code

    assert _client(fakeding, robot) == 4000, "the server echoes the client's close code"
    fakeding.wait_for("disconnect")
    (rec,) = fakeding.timeline(["disconnect"])
    assert (rec["was"], rec["code"]) == ("live", 4000)


def test_disconnect_closes_with_1000_after_the_grace_period(make_fakeding: Any) -> None:
    fake = make_fakeding(disconnect_close_after=0.2)

    async def robot(ws: ClientConnection) -> tuple[dict[str, Any], ConnectionClosed]:
        fake.fault({"kind": "disconnect"})
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        return frame, await _closed_by_server(ws)

    frame, closed = _client(fake, robot)
    assert frame["type"] == "SYSTEM" and frame["headers"]["topic"] == "disconnect"
    assert isinstance(closed, ConnectionClosedOK)
    assert closed.rcvd is not None and (closed.rcvd.code, closed.rcvd.reason) == (1000, "disconnect")
    fake.wait_for("disconnect")
    (rec,) = fake.timeline(["disconnect"])
    assert (rec["was"], rec["code"]) == ("draining", 1000)


def test_drop_cuts_the_connection_without_a_close_frame(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> ConnectionClosed:
        fakeding.fault({"kind": "drop_connection"})
        return await _closed_by_server(ws)

    closed = _client(fakeding, robot)
    assert isinstance(closed, ConnectionClosedError) and closed.rcvd is None  # the client's 1006
    (rec,) = fakeding.timeline(["disconnect"])
    assert (rec["code"], rec["fault"]) == (1006, "dropped")


def test_reset_with_sessions_closes_with_1001(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> ConnectionClosed:
        fakeding.call(fakeding.fake.stream.reset, sessions=True)
        return await _closed_by_server(ws)

    closed = _client(fakeding, robot)
    assert closed.rcvd is not None and (closed.rcvd.code, closed.rcvd.reason) == (1001, "fakeding reset")
    assert fakeding.call(fakeding.fake.stream.live_connections) == []
    assert fakeding.timeline(["disconnect"]) == []


def test_a_frame_over_1_mib_closes_the_connection_with_1009(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> ConnectionClosed:
        await ws.send("x" * ((1 << 20) + 1))
        return await _closed_by_server(ws)

    closed = _client(fakeding, robot)
    assert closed.rcvd is not None and closed.rcvd.code == 1009
    fakeding.wait_for("disconnect")
    assert fakeding.timeline(["disconnect"])[0]["code"] == 1009


def test_websocket_pings_are_answered_even_by_a_zombie(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> float:
        fakeding.fault({"kind": "zombie"})
        return await asyncio.wait_for(await ws.ping(), timeout=5)

    assert _client(fakeding, robot) >= 0.0


def _pong(handler: ChatbotHandler, msg: ChatbotMessage) -> None:
    handler.reply_text("pong: " + msg.text.content.strip(), msg)


def test_an_sdk_robot_stays_connected_across_a_reset(fakeding: ThreadedFakeDing) -> None:
    handler = RecordingHandler(_pong)
    with SdkRobot().on_messages(handler):
        fakeding.wait_for("connect")
        fakeding.reset()
        assert fakeding.timeline() == []
        assert len(fakeding.call(fakeding.fake.stream.live_connections)) == 1
        sent = fakeding.send_message("after the reset", conversation_id="cidReset")
        fakeding.wait_for("ack")
        fakeding.wait_for("webhook")
    assert [m["msgId"] for m in handler.raw] == [sent.msg_id]
    assert [(e["who"], e["text"]) for e in fakeding.transcript("cidReset")] == [
        ("user:user001", "after the reset"),
        ("bot", "pong: after the reset"),
    ]
    assert fakeding.timeline(["connect"]) == [], "the robot never had to reconnect"
