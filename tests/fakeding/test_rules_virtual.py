"""The platform's timed rules at their real lengths, on the virtual clock.

A raw ``websockets`` client (or an aiohttp robot) and the fake share one
``@pytest.mark.fakeding_virtual`` loop over real loopback sockets: a 60-second redelivery
window or a 90-second ticket takes milliseconds, and "it never happens" is proven by letting
virtual time run far past the window (nothing left in flight), not by sleeping. Each rule keeps
one real-time smoke test with the official SDK or a raw client (``test_sdk_faults``,
``test_stream_ws``, ``test_http_api``, ``test_http_mode``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import aiohttp.web
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from fakeding.core.recorder import Record
from fakeding.server import FakeDing
from fakeding.testing.scenarios.harness import running_fake, scenario_settings

GATEWAY = "/v1.0/gateway/connections/open"
SUBS = [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]


async def _ticket(fake: FakeDing) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            fake.http_url + GATEWAY,
            json={
                "clientId": DEFAULT_CLIENT_ID,
                "clientSecret": DEFAULT_CLIENT_SECRET,
                "subscriptions": SUBS,
            },
        ) as r,
    ):
        assert r.status == 200, await r.text()
        body = await r.json()
    return f"{body['endpoint']}?ticket={body['ticket']}"


@asynccontextmanager
async def _client(fake: FakeDing) -> AsyncIterator[ClientConnection]:
    url = await _ticket(fake)
    async with connect(url, open_timeout=5, close_timeout=5) as ws:
        while not _records(fake, "connect"):
            await asyncio.sleep(0)
        yield ws


def _records(fake: FakeDing, kind: str) -> list[Record]:
    return [r for r in fake.platform.recorder.records if r.kind == kind]


async def _callback(ws: ClientConnection) -> dict[str, Any]:
    """The next CALLBACK frame (SYSTEM pings are skipped)."""
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if frame["type"] == "CALLBACK":
            return frame


async def _ack(ws: ClientConnection, frame: dict[str, Any]) -> None:
    message_id = frame["headers"]["messageId"]
    await ws.send(
        json.dumps(
            {
                "code": 200,
                "headers": {"contentType": "application/json", "messageId": message_id},
                "message": "OK",
                "data": "{}",
            }
        )
    )


async def _settle(fake: FakeDing, past: float) -> None:
    """Let virtual time run ``past`` seconds beyond now: every timer due by then has fired."""
    await asyncio.sleep(past)


@pytest.mark.fakeding_virtual
async def test_an_unacked_message_is_redelivered_after_60_s_and_an_acked_one_never() -> None:
    async with running_fake(scenario_settings(redelivery_delay=60.0)) as fake, _client(fake) as ws:
        first = fake.send_message("ack me")
        await _ack(ws, await _callback(ws))
        second = fake.send_message("ignore me")
        pushed = await _callback(ws)
        await _settle(fake, 3600.0)  # an hour: far past every window
        assert fake.stream.in_flight() is False
        redelivered = _records(fake, "redeliver")
        assert [r.fields["key"] for r in redelivered] == [second.msg_id], "only the unacked one"
        assert redelivered[0].t == pytest.approx(60.0, abs=0.01)
        assert first.msg_id not in [r.fields["key"] for r in redelivered]
        assert pushed["headers"]["messageId"] == second.message_id


@pytest.mark.fakeding_virtual
async def test_a_ticket_expires_after_90_s() -> None:
    async with running_fake(scenario_settings(ticket_ttl=90.0)) as fake:
        url = await _ticket(fake)
        await asyncio.sleep(91.0)
        async with aiohttp.ClientSession() as http, http.get(url.replace("ws://", "http://")) as r:
            body = await r.json(content_type=None)
        assert r.status == 401
        assert body["code"] == "ticketExpired", body
        assert "tickets live 90 s" in body["message"] or "tickets live 90.0 s" in body["message"], body
        assert _records(fake, "connect") == []


@pytest.mark.fakeding_virtual
async def test_a_fresh_ticket_connects_at_89_s() -> None:
    async with running_fake(scenario_settings(ticket_ttl=90.0)) as fake:
        url = await _ticket(fake)
        await asyncio.sleep(89.0)
        async with connect(url, open_timeout=5, close_timeout=5):
            while not _records(fake, "connect"):
                await asyncio.sleep(0)
        assert _records(fake, "connect")[0].t == pytest.approx(89.0, abs=0.01)


@pytest.mark.fakeding_virtual
async def test_disconnect_closes_with_1000_after_the_10_s_grace_period() -> None:
    async with running_fake(scenario_settings(disconnect_close_after=10.0)) as fake, _client(fake) as ws:
        fake.fault({"kind": "disconnect"})
        frame = json.loads(await ws.recv())
        assert frame["type"] == "SYSTEM" and frame["headers"]["topic"] == "disconnect"
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            closed = exc
        assert closed.rcvd is not None and (closed.rcvd.code, closed.rcvd.reason) == (1000, "disconnect")
        while not _records(fake, "disconnect"):
            await asyncio.sleep(0)
        (rec,) = _records(fake, "disconnect")
        assert (rec.fields["was"], rec.fields["code"]) == ("draining", 1000)
        assert rec.t == pytest.approx(10.0, abs=0.01), "closed when the grace period ended"


@pytest.mark.fakeding_virtual
async def test_system_pings_come_every_30_s_and_nothing_else_happens() -> None:
    settings = scenario_settings(system_ping_interval=30.0, ws_ping_interval=None)
    async with running_fake(settings) as fake, _client(fake) as ws:
        pings: list[float] = []
        while len(pings) < 3:
            frame = json.loads(await ws.recv())
            assert frame["type"] == "SYSTEM" and frame["headers"]["topic"] == "ping", frame
            pings.append(asyncio.get_running_loop().time())
            await ws.send(
                json.dumps(
                    {
                        "code": 200,
                        "headers": frame["headers"],
                        "message": "OK",
                        "data": frame["data"],
                    }
                )
            )
        assert pings == pytest.approx([30.0, 60.0, 90.0], abs=0.01)
        assert _records(fake, "disconnect") == []
        assert fake.platform.recorder.records and not [
            r for r in fake.platform.recorder.records if r.kind == "violation"
        ]


async def _reply(url: str, text: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"msgtype": "text", "text": {"content": text}}) as r,
    ):
        body: dict[str, Any] = await r.json(content_type=None)
        return body


@pytest.mark.fakeding_virtual
async def test_a_session_webhook_answers_until_its_90_minutes_are_up_then_300001() -> None:
    async with running_fake(scenario_settings(webhook_ttl=5400.0)) as fake, _client(fake) as ws:
        fake.send_message("q", conversation_id="cidG", staff_id="alice")
        frame = await _callback(ws)
        await _ack(ws, frame)
        url = json.loads(frame["data"])["sessionWebhook"]
        await asyncio.sleep(5399.0)
        assert (await _reply(url, "in time"))["errcode"] == 0
        await asyncio.sleep(2.0)
        late = await _reply(url, "too late")
        assert late["errcode"] == 300001, late
        hooks = _records(fake, "webhook")
        assert [r.fields["errcode"] for r in hooks] == [0, 300001]
        assert [r.t for r in hooks] == pytest.approx([5399.0, 5401.0], abs=0.01)
        assert [e["text"] for e in fake.transcript("cidG") if e["who"] == "bot"] == ["in time"]


@asynccontextmanager
async def _http_robot(delay: float) -> AsyncIterator[str]:
    """An HTTP-mode robot on the test's loop that answers each POST after ``delay`` s."""

    async def answer(request: aiohttp.web.Request) -> aiohttp.web.Response:
        await request.read()
        await asyncio.sleep(delay)
        return aiohttp.web.json_response({"msgtype": "text", "text": {"content": "ok"}})

    app = aiohttp.web.Application()
    app.router.add_post("/robot", answer)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/robot"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(("delay", "late"), [(4.9, False), (6.0, True)], ids=["in-time", "late"])
@pytest.mark.fakeding_virtual
async def test_an_http_callback_answered_after_5_s_is_a_violation(delay: float, late: bool) -> None:
    async with running_fake(scenario_settings(http_callback_timeout=5.0)) as fake, _http_robot(delay) as url:
        fake.add_app("http-robot", "http-secret", callback_url=url)
        fake.send_message("hi", conversation_id="cidHttp", client_id="http-robot")
        await _settle(fake, 600.0)  # long past the timeout: whatever was to happen has
        reasons = [str(r.fields["reason"]) for r in _records(fake, "violation")]
        if late:
            assert len(reasons) == 1 and "no answer within 5 s" in reasons[0], reasons
            assert _records(fake, "violation")[0].t == pytest.approx(5.0, abs=0.01)
        else:
            assert reasons == []
            (hook,) = _records(fake, "webhook")
            assert hook.fields["errcode"] == 0 and hook.t == pytest.approx(4.9, abs=0.01)
