"""Connection trouble robots meet on DingTalk, from real websocket clients on 127.0.0.1: leaked
sockets (too many live connections for one app), a stale channel after a reconnect, a refused
ticket, and sleep/wake (a jump of the platform's clock with no socket events)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import requests
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing

GATEWAY = "/v1.0/gateway/connections/open"
SUBS = [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]


def connect_url(fake: ThreadedFakeDing) -> str:
    r = requests.post(
        fake.http_url + GATEWAY,
        timeout=10,
        json={"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET, "subscriptions": SUBS},
    )
    assert r.status_code == 200, r.text
    return f"{r.json()['endpoint']}?ticket={r.json()['ticket']}"


async def open_ws(fake: ThreadedFakeDing) -> ClientConnection:
    url = await asyncio.to_thread(connect_url, fake)
    before = len(fake.timeline(["connect"]))
    ws = await connect(url, open_timeout=5, close_timeout=5)
    await asyncio.to_thread(fake.wait_for, "connect", count=before + 1)
    return ws


def leak_violations(fake: ThreadedFakeDing) -> list[str]:
    return [
        str(v.fields["reason"])
        for v in fake.violations
        if "live Stream connections" in str(v.fields.get("reason"))
    ]


def test_a_robot_that_leaks_a_socket_per_reconnect_is_named(make_fakeding: Any) -> None:
    fake = make_fakeding(max_connections_per_app=2)

    async def leaky() -> None:
        sockets = [await open_ws(fake) for _ in range(3)]  # "reconnects" that never close
        for ws in sockets:
            await ws.close()
        await asyncio.to_thread(fake.wait_for, "disconnect", count=3)

    asyncio.run(leaky())
    (reason,) = leak_violations(fake)
    conns = [r["connection"] for r in fake.timeline(["connect"])]
    assert f"app {DEFAULT_CLIENT_ID} holds 3 live Stream connections, expected at most 2" in reason
    assert all(c in reason for c in conns) and "close its previous socket" in reason
    fake.expect_violation("live Stream connections")


def test_the_same_robot_closing_its_old_socket_passes(make_fakeding: Any) -> None:
    fake = make_fakeding(max_connections_per_app=2)

    async def tidy() -> None:
        old = await open_ws(fake)
        for _ in range(3):
            await old.close()
            await asyncio.to_thread(
                fake.wait_for, "disconnect", count=len(fake.timeline(["disconnect"])) or 1
            )
            old = await open_ws(fake)
        await old.close()

    asyncio.run(tidy())
    assert len(fake.timeline(["connect"])) == 4
    assert leak_violations(fake) == []


def test_a_stale_channel_loses_pushes_until_redelivery(make_fakeding: Any) -> None:
    # the message must be sent within the stale second (reconnecting on a slow machine fits), and
    # redelivered after it
    fake = make_fakeding(redelivery_delay=2.0)

    async def robot() -> dict[str, Any]:
        first = await open_ws(fake)
        fake.fault({"kind": "stale_channel", "seconds": 1.0})
        await first.close()
        await asyncio.to_thread(fake.wait_for, "disconnect")
        second = await open_ws(fake)
        fake.send_message("are you there?")
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(second.recv(), timeout=5))
        await second.send(
            json.dumps(
                {
                    "code": 200,
                    "headers": {
                        "messageId": frame["headers"]["messageId"],
                        "contentType": "application/json",
                    },
                    "message": "OK",
                    "data": "{}",
                }
            )
        )
        await asyncio.to_thread(fake.wait_for, "ack")
        await second.close()
        return frame

    frame = asyncio.run(robot())
    first_conn, second_conn = [r["connection"] for r in fake.timeline(["connect"])]
    (push,) = fake.timeline(["push"])
    assert push["connection"] == first_conn and "stale channel" in push["swallowed"]
    (redelivery,) = fake.timeline(["redeliver"])
    assert redelivery["connection"] == second_conn
    assert json.loads(frame["data"])["text"]["content"].strip() == "are you there?"
    fake.check()  # lost on the stale channel, then delivered: nothing wrong with the robot


def test_a_refused_ticket_is_retried_with_a_new_one(fakeding: ThreadedFakeDing) -> None:
    fakeding.fault({"kind": "refuse_ticket", "count": 1})

    async def robot() -> int:
        with pytest.raises(InvalidStatus) as refused:
            await connect(await asyncio.to_thread(connect_url, fakeding), open_timeout=5)
        ws = await open_ws(fakeding)  # a new gateway call, a new ticket: accepted
        await ws.close()
        return refused.value.response.status_code

    assert asyncio.run(robot()) == 401
    fired = [r for r in fakeding.timeline(["fault"]) if r.get("fired")]
    assert [r["fault"] for r in fired] == ["refuse_ticket"]
    assert len(fakeding.timeline(["connect"])) == 1


def test_sleep_wake_leaves_a_dead_socket_and_an_expired_token(fakeding: ThreadedFakeDing) -> None:
    token = requests.post(
        fakeding.http_url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    before = fakeding.call(lambda: fakeding.fake.now)

    async def robot() -> ConnectionClosed:
        ws = await open_ws(fakeding)
        fakeding.fault({"kind": "clock_jump", "seconds": 7300})
        try:
            while True:
                await asyncio.wait_for(ws.recv(), timeout=5)
        except ConnectionClosed as exc:
            return exc

    closed = asyncio.run(robot())
    assert closed.rcvd is None  # no close frame: the socket just died
    assert fakeding.call(lambda: fakeding.fake.now) - before >= 7300
    (gone,) = fakeding.timeline(["disconnect"])
    assert gone["code"] == 1006 and "sleep/wake" in gone["reason"]
    answer = requests.post(
        fakeding.http_url + "/v1.0/robot/groupMessages/send",
        timeout=10,
        headers={"x-acs-dingtalk-access-token": token},
        json={
            "robotCode": DEFAULT_CLIENT_ID,
            "openConversationId": "cid1",
            "msgKey": "sampleText",
            "msgParam": '{"content": "hi"}',
        },
    )
    assert answer.status_code == 400 and "expired" in answer.text  # it expired during the sleep


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"kind": "stale_channel"}, "seconds"),
        ({"kind": "clock_jump", "seconds": 0}, "seconds"),
        ({"kind": "clock_jump", "seconds": 1e308}, "seconds"),
    ],
)
def test_bad_connection_faults_name_the_field(
    fakeding: ThreadedFakeDing, spec: dict[str, Any], field: str
) -> None:
    answer = requests.post(fakeding.http_url + "/_fakeding/faults", json=spec, timeout=10)
    assert answer.status_code == 400 and answer.json()["field"] == field
