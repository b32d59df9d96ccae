"""Stream liveness: the fake pings every connection and gives up on one that stops answering.

The rules are driven on the engine without sockets (times explicit, timers fired by hand); then a
raw client on 127.0.0.1 that completes the websocket handshake and goes silent — no close, no
reset, nothing read or answered, as when a network drops traffic — is found out, closed and
recorded, and its un-acked message reaches the app's other connection (the official SDK) at once.
A client that never reads is cut off when its send buffer is full.
"""

from __future__ import annotations

import base64
import json
import os
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.core.settings import Settings
from fakeding.core.stream.engine import ConnState, Timer
from tests.fakeding.sdk import RecordingHandler, SdkRobot
from tests.fakeding.test_stream_engine import World, ms

GATEWAY = "/v1.0/gateway/connections/open"
SUBS = [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]


def _due(w: World, what: str) -> Timer:
    [timer] = [t for t in w.armed() if t.what == what]
    return timer


def _live(**settings: Any) -> World:
    return World(**{"ws_ping_interval": 30.0, "ws_ping_timeout": 20.0, **settings})


# -- the rules, without sockets --------------------------------------------------------------------


def test_the_platform_pings_by_default() -> None:
    s = Settings()
    assert (s.system_ping_interval, s.ws_ping_interval, s.ws_ping_timeout) == (30.0, 30.0, 20.0)
    assert s.stream_send_buffer_bytes == 4 << 20


def test_an_answered_websocket_ping_keeps_the_connection_and_the_next_one_is_armed() -> None:
    w = _live()
    conn = w.connect(0.0)
    ping = _due(w, "keepalive")
    assert (ping.at, w.engine.pings_to_send()) == (30.0, [])
    w.fire(ping)
    assert w.engine.pings_to_send() == [conn.id]
    armed = {t.what: t for t in w.armed()}
    assert (armed["liveness"].at, armed["keepalive"].at) == (50.0, 60.0)
    w.engine.heard(conn.id)  # the pong
    w.fire(armed["liveness"])
    assert conn.state is ConnState.LIVE and w.engine.aborts_to_do() == []
    assert w.records("disconnect") == []


def test_a_silent_connection_is_given_up_and_its_unacked_message_goes_to_the_other_one() -> None:
    w = _live()
    dead = w.connect(0.0)
    dead_ping = _due(w, "keepalive")
    d = w.push(1.0)  # only ``dead`` is connected: the message goes there and is never acked
    [(to, _)] = w.sent()
    assert to == dead.id
    redelivery = _due(w, "redeliver")
    alive = w.connect(2.0)
    alive_ping = _due(w, "keepalive")
    w.fire(dead_ping)
    w.fire(alive_ping)
    assert w.engine.pings_to_send() == [dead.id, alive.id]
    w.engine.heard(alive.id)  # the other connection answers; the dead one says nothing
    assert alive.liveness is not None and dead.liveness is not None
    w.fire(alive.liveness)
    w.fire(dead.liveness)

    assert dead.state is ConnState.CLOSED and w.engine.live_connections() == [alive]
    assert w.engine.aborts_to_do() == [dead.id], "cut without a close frame: none could get through"
    (gone,) = w.records("disconnect")
    assert (gone["connection"], gone["code"], gone["was"]) == (dead.id, 1006, "live")
    assert gone["reason"] == "no answer to a websocket ping within 20 s"
    (again,) = w.records("redeliver")
    assert (again["connection"], again["key"], again["attempt"]) == (alive.id, "k1", 2)
    assert again["t"] == gone["t"] == 50.0, "redelivered at once, not 60 s after the push"
    [(to, frame)] = w.sent()
    assert to == alive.id and frame["headers"]["messageId"] == d.message_ids[0]
    assert redelivery in w.engine.timers_to_cancel(), "the 60 s redelivery is replaced"
    w.ack(50.5, alive, d.message_ids[0])
    assert d.acked and w.reasons() == []


def test_a_silent_connection_of_an_app_with_no_other_connection_queues_its_messages() -> None:
    w = _live()
    dead = w.connect(0.0)
    d = w.push(1.0)
    assert [to for to, _ in w.sent()] == [dead.id]
    w.fire(_due(w, "keepalive"))
    w.fire(_due(w, "liveness"))
    assert dead.state is ConnState.CLOSED and w.engine.waiting == [d]
    later = w.connect(60.0)
    [(to, frame)] = [(c, f) for c, f in w.sent() if f["type"] == "CALLBACK"]
    assert to == later.id and json.loads(frame["data"]) == {"text": "k1"}


def test_a_zombie_is_not_pinged_and_a_closed_connection_stops_its_timers() -> None:
    w = _live()
    zombie = w.connect(0.0)
    w.engine.zombie(zombie)
    w.fire(_due(w, "keepalive"))
    assert w.engine.pings_to_send() == [] and zombie.liveness is None
    assert zombie.keepalive is not None and zombie.keepalive.pending
    timer = zombie.keepalive
    w.engine.closed(40.0, zombie.id, 1000)
    assert not timer.pending and timer in w.engine.timers_to_cancel()


def test_liveness_can_be_switched_off() -> None:
    w = World(ws_ping_interval=None)
    w.connect(0.0)
    assert [t for t in w.armed() if t.what in ("keepalive", "liveness")] == []


def test_acked_pings_and_the_system_frames_of_a_closed_connection_are_forgotten() -> None:
    w = World()
    conn = w.connect(0.0)
    for t in (1.0, 2.0):
        w.engine.ping(t, ms(t), conn)
    first, second = (f for _, f in w.sent())
    w.ack(1.5, conn, first["headers"]["messageId"], data=json.loads(first["data"]))
    assert [d.topic for d in w.engine.deliveries.values()] == ["ping"], "the acked one is gone"
    w.engine.closed(3.0, conn.id, 1000)
    assert w.engine.deliveries == {}, "nothing of a closed connection's SYSTEM frames is kept"
    assert second["headers"]["topic"] == "ping"


def test_a_client_that_lets_its_send_buffer_fill_is_cut_off_with_a_violation() -> None:
    w = World()
    slow, other = w.connect(0.0), w.connect(0.5)
    d = w.push(1.0)
    [(to, _)] = w.sent()
    stuck = slow if to == slow.id else other
    w.engine.overflow(2.0, ms(2.0), stuck.id, 5_000_000, 4 << 20)
    assert w.reasons() == [
        f"the client does not read: 5000000 bytes wait to be sent on "
        f"{stuck.id}, expected at most {4 << 20} (stream_send_buffer_bytes)"
    ]
    (gone,) = w.records("disconnect")
    assert gone["reason"] == "send buffer full: the client does not read"
    assert w.engine.aborts_to_do() == [stuck.id]
    [(to, _)] = w.sent()
    assert to != stuck.id and d.attempts == 2


# -- on the wire: a raw client that goes silent ----------------------------------------------------


class SilentClient:
    """Completes the websocket handshake on a raw socket, then never reads nor writes a byte.

    The server's frames and pings pile up unread; no FIN, no RST: to the server it is a link
    whose traffic is dropped.
    """

    def __init__(self, fake: ThreadedFakeDing, *, rcvbuf: int | None = None) -> None:
        r = requests.post(
            fake.http_url + GATEWAY,
            timeout=10,
            json={
                "clientId": DEFAULT_CLIENT_ID,
                "clientSecret": DEFAULT_CLIENT_SECRET,
                "subscriptions": SUBS,
            },
        )
        assert r.status_code == 200, r.text
        url = urlsplit(r.json()["endpoint"])
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect((url.hostname, url.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {url.path}?ticket={r.json()['ticket']} HTTP/1.1\r\n"
                f"Host: {url.hostname}:{url.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, "the server closed during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def silent(fakeding: ThreadedFakeDing) -> Iterator[list[SilentClient]]:
    made: list[SilentClient] = []
    yield made
    for client in made:
        client.close()


def _connection_of(fake: ThreadedFakeDing, index: int) -> str:
    return str(fake.wait_for("connect", count=index + 1)[index]["connection"])


def test_a_half_open_connection_is_closed_and_its_message_goes_to_the_live_one(
    make_fakeding: Any, silent: list[SilentClient]
) -> None:
    fake = make_fakeding(
        ws_ping_interval=0.3, ws_ping_timeout=0.5, redelivery_delay=600.0, system_ping_interval=None
    )
    silent.append(SilentClient(fake))
    dead = _connection_of(fake, 0)
    sent = fake.send_message("are you there?")  # the only connection: it goes to the silent one
    (push,) = fake.timeline(["push"])
    assert push["connection"] == dead
    handler = RecordingHandler()
    with SdkRobot().on_messages(handler):
        alive = _connection_of(fake, 1)
        fake.wait_for("ack", timeout=15)
    (gone,) = [r for r in fake.timeline(["disconnect"]) if r["connection"] == dead]
    assert (gone["code"], gone["reason"]) == (1006, "no answer to a websocket ping within 0.5 s")
    (again,) = fake.timeline(["redeliver"])
    assert (again["connection"], again["key"], again["attempt"]) == (alive, sent.msg_id, 2)
    assert again["t"] == gone["t"], "handed over when the loss was found, not 600 s later"
    assert [m["msgId"] for m in handler.raw] == [sent.msg_id]
    (ack,) = fake.timeline(["ack"])
    assert ack["connection"] == alive
    assert _ended(silent[0].sock), "the server cut the socket"
    assert fake.call(fake.fake.stream.live_connections) == []


def test_a_client_that_never_reads_is_cut_off_and_its_memory_released(
    make_fakeding: Any, silent: list[SilentClient]
) -> None:
    fake = make_fakeding(
        stream_send_buffer_bytes=256 << 10,
        ws_ping_interval=None,
        system_ping_interval=None,
        redelivery_delay=None,
    )
    silent.append(SilentClient(fake, rcvbuf=4096))
    dead = _connection_of(fake, 0)
    big = "x" * 20_000
    for i in range(2000):
        fake.send_message(f"{i} {big}")
        if fake.timeline(["violation"]):
            break
    (violation,) = fake.violations
    assert violation.fields["connection"] == dead
    assert violation.fields["reason"].startswith("the client does not read: ")
    assert violation.fields["reason"].endswith(f"expected at most {256 << 10} (stream_send_buffer_bytes)")
    (gone,) = fake.wait_for("disconnect")
    assert (gone["connection"], gone["reason"]) == (dead, "send buffer full: the client does not read")
    stream = fake.fake.stream
    fake.wait_until(
        lambda: not stream._sockets and not stream._tasks,
        what="the cut-off connection's socket and pending sends released",
    )
    fake.reset()  # forgets the violation (asserted above) and the messages queued since

    handler = RecordingHandler()  # a normal round trip still works
    with SdkRobot().on_messages(handler):
        fake.wait_for("connect")
        sent = fake.send_message("still there?")
        fake.wait_for("ack", timeout=15)
    assert [m["msgId"] for m in handler.raw] == [sent.msg_id]


def _ended(sock: socket.socket) -> bool:
    """Read what the server wrote until the socket ends (FIN or RST); False if it stays open."""
    sock.settimeout(5)
    try:
        while sock.recv(1 << 16):
            pass
    except TimeoutError:
        return False
    except OSError:
        pass  # the RST of an aborted connection
    return True


def test_a_ping_in_flight_across_a_reset_may_still_be_acked() -> None:
    w = World()
    conn = w.connect(0.0)
    w.engine.ping(1.0, ms(1.0), conn)
    [(_, frame)] = w.sent()
    w.engine.reset()
    w.ack(1.5, conn, frame["headers"]["messageId"], data=json.loads(frame["data"]))
    assert w.reasons() == [] and w.engine.deliveries == {}
