"""The Stream endpoint: websocket handshake by ticket, frame pushing, acks and redelivery.

This is the I/O edge. Frames are built by ``protocol``, rules live in ``Platform``; this module
owns the sockets and every timer (through the fake's clock, so virtual time applies).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..exceptions import OpenApiError, ProtocolViolation
from ..platform import App
from . import protocol

if TYPE_CHECKING:
    from ..server import FakeDing

MAX_FRAME = 1 << 20  # the Python SDK accepts at most 1 MiB


@dataclass
class Connection:
    id: str
    app: App
    ws: ServerConnection
    topics: set[tuple[str, str]]
    opened_t: float
    state: str = "live"  # live | draining | zombie | closed

    def subscribed(self, type_: str, topic: str) -> bool:
        return (type_, topic) in self.topics or (type_ == "SYSTEM")


@dataclass
class Delivery:
    """One platform message and its delivery attempts, acked or not."""

    key: str
    client_id: str
    type: str
    topic: str
    data: dict[str, Any]
    message_ids: list[str] = field(default_factory=list)
    attempts: int = 0
    acked: bool = False
    last_push_t: float = 0.0
    timer: asyncio.TimerHandle | None = None
    on_ack: Callable[[protocol.Ack, float], None] | None = None
    redeliver: bool = True


class StreamServer:
    def __init__(self, fake: FakeDing) -> None:
        self.fake = fake
        self.server: Server | None = None
        self.port = 0
        self.connections: dict[str, Connection] = {}
        self.deliveries: dict[tuple[str, str], Delivery] = {}  # (clientId, messageId) -> delivery
        self.waiting: list[Delivery] = []
        self._acked: deque[tuple[str, str]] = deque()  # for history_limit
        self._accepted: dict[int, tuple[App, list[dict[str, str]]]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, host: str, port: int) -> None:
        self.server = await serve(
            self._handler, host, port,
            process_request=self._process_request,
            ping_interval=None, max_size=MAX_FRAME, compression=None,
        )
        sock = next(iter(self.server.sockets))
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        self.reset()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in list(self._tasks):
            task.cancel()

    def reset(self) -> None:
        """Close every connection and forget deliveries (used between tests)."""
        for d in self.deliveries.values():
            if d.timer:
                d.timer.cancel()
        self.deliveries.clear()
        self.waiting.clear()
        for conn in list(self.connections.values()):
            conn.state = "closed"
            self._spawn(conn.ws.close(1001, "fakeding reset"))
        self.connections.clear()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def now(self) -> float:
        return self.fake.clock.monotonic()

    def record(self, kind: str, **fields: Any) -> None:
        self.fake.platform.recorder.add(self.now, kind, **fields)

    # -- handshake ------------------------------------------------------------------------
    def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path != "/connect":
            return self._reject(ws, HTTPStatus.NOT_FOUND, "InvalidAction.NotFound",
                                f"the stream endpoint is /connect, found {url.path}")
        tickets = parse_qs(url.query).get("ticket")
        ticket = tickets[0] if tickets else None
        try:
            app, subs = self.fake.platform.consume_ticket(self.now, ticket)
        except OpenApiError as exc:
            self.record("violation", reason=f"websocket handshake rejected: {exc.message}",
                        ticket=ticket)
            return self._reject(ws, HTTPStatus.UNAUTHORIZED, exc.code, exc.message)
        self._accepted[id(ws)] = (app, subs)
        return None

    def _reject(self, ws: ServerConnection, status: HTTPStatus, code: str, message: str) -> Response:
        body = json.dumps({"code": code, "message": message,
                           "requestid": self.fake.platform.ids.request_id()}, ensure_ascii=False)
        resp = ws.respond(status, body)
        del resp.headers["Content-Type"]
        resp.headers["Content-Type"] = "application/json;charset=utf-8"
        return resp

    # -- connection loop ----------------------------------------------------------------------
    async def _handler(self, ws: ServerConnection) -> None:
        app, subs = self._accepted.pop(id(ws))
        conn = Connection(
            id=self.fake.platform.ids.connection_id(), app=app, ws=ws,
            topics={(s["type"], s["topic"]) for s in subs}, opened_t=self.now,
        )
        self.connections[conn.id] = conn
        self.record("connect", client=app.client_id, connection=conn.id,
                    subscriptions=sorted(f"{a} {b}" for a, b in conn.topics))
        self._flush_waiting(app.client_id)
        try:
            async for text in ws:
                try:
                    self._on_client_frame(conn, text)
                except ProtocolViolation as exc:
                    self.record("violation", client=app.client_id, connection=conn.id,
                                reason=str(exc))
        except ConnectionClosed:
            pass
        finally:
            was = conn.state
            conn.state = "closed"
            if self.connections.pop(conn.id, None) is not None:
                self.record("disconnect", client=app.client_id, connection=conn.id,
                            was=was, code=ws.close_code)

    def _on_client_frame(self, conn: Connection, text: str | bytes) -> None:
        if conn.state == "zombie":
            return  # a zombie swallows everything in both directions but websocket pings
        try:
            ack = protocol.parse_ack(text)
        except ProtocolViolation as exc:
            self.record("violation", client=conn.app.client_id, connection=conn.id,
                        reason=str(exc), frame=_clip(text))
            return
        delivery = self.deliveries.get((conn.app.client_id, ack.message_id))
        if delivery is None:
            self.record("violation", client=conn.app.client_id, connection=conn.id,
                        reason=f"ack for unknown messageId {ack.message_id!r}", code=ack.code)
            return
        late = self.now - delivery.last_push_t
        self.record("ack", client=conn.app.client_id, connection=conn.id, topic=delivery.topic,
                    messageId=ack.message_id, key=delivery.key, code=ack.code,
                    after=round(late, 6))
        if delivery.type == "SYSTEM":
            self._check_system_ack(conn, delivery, ack)
            delivery.acked = True
            self._forget_old((conn.app.client_id, ack.message_id))
            return
        if ack.code != 200:
            self.record("violation", client=conn.app.client_id, topic=delivery.topic,
                        reason=f"ack code {ack.code} for {delivery.topic}, expected 200",
                        message=ack.message)
            return
        if not delivery.acked:
            delivery.acked = True
            self._forget_old((conn.app.client_id, ack.message_id))
            if delivery.timer:
                delivery.timer.cancel()
                delivery.timer = None
            if delivery.on_ack:
                delivery.on_ack(ack, late)

    def _forget_old(self, key: tuple[str, str]) -> None:
        limit = self.fake.settings.history_limit
        if limit is None:
            return
        self._acked.append(key)
        while len(self._acked) > limit:
            self.deliveries.pop(self._acked.popleft(), None)

    def _check_system_ack(self, conn: Connection, delivery: Delivery, ack: protocol.Ack) -> None:
        if delivery.topic != "ping":
            return
        opaque = delivery.data.get("opaque")
        echoed = ack.data.get("opaque") if isinstance(ack.data, dict) else None
        if echoed != opaque:
            self.record("violation", client=conn.app.client_id,
                        reason=f"ping ack must echo opaque {opaque!r}, found {echoed!r}")

    # -- pushing ----------------------------------------------------------------------------
    def push(
        self,
        client_id: str,
        topic: str,
        data: dict[str, Any],
        *,
        key: str,
        type_: str = "CALLBACK",
        on_ack: Callable[[protocol.Ack, float], None] | None = None,
        redeliver: bool = True,
    ) -> Delivery:
        """Deliver ``data`` to one live connection of the app (or queue it until one connects)."""
        d = Delivery(key=key, client_id=client_id, type=type_, topic=topic, data=data,
                     on_ack=on_ack, redeliver=redeliver)
        self._attempt(d, redelivery=False)
        return d

    def _route(self, client_id: str, type_: str, topic: str) -> Connection | None:
        live = [c for c in self.connections.values()
                if c.app.client_id == client_id and c.state in ("live", "zombie")
                and c.subscribed(type_, topic)]
        if not live:
            return None
        live.sort(key=lambda c: c.opened_t)
        return self.fake.platform.ids.choice(live)

    def _attempt(self, d: Delivery, *, redelivery: bool) -> None:
        conn = self._route(d.client_id, d.type, d.topic)
        if conn is None:
            self.waiting.append(d)
            self.record("queued", client=d.client_id, topic=d.topic, key=d.key,
                        reason="no live connection subscribed to this topic")
            return
        ids = self.fake.platform.ids
        if not d.message_ids or self.fake.settings.redelivery_new_message_id or not redelivery:
            d.message_ids.append(ids.message_id())
        message_id = d.message_ids[-1]
        d.attempts += 1
        d.last_push_t = self.now
        self.deliveries[(d.client_id, message_id)] = d
        f = protocol.frame(
            type=d.type, topic=d.topic, message_id=message_id,
            time_ms=self.fake.clock.time_ms(), data=d.data,
            app_id=conn.app.app_id if d.type != "SYSTEM" else None,
            connection_id=conn.id if d.type != "SYSTEM" else None,
        )
        kind = "redeliver" if redelivery else "push"
        fault = self.fake.platform.faults.on_frame(d.client_id, d.topic) if d.type != "SYSTEM" else None
        fields: dict[str, Any] = {"client": d.client_id, "connection": conn.id, "type": d.type,
                                  "topic": d.topic, "messageId": message_id, "key": d.key,
                                  "attempt": d.attempts}
        if conn.state == "zombie":
            fields["swallowed"] = "zombie connection"
        if fault is not None:
            fields["fault"] = f"{fault.action} (nth={fault.nth})"
        self.record(kind, **fields)
        if d.type != "SYSTEM" and d.redeliver:
            self._arm_redelivery(d)
        if conn.state == "zombie":
            return
        text = json.dumps(f, ensure_ascii=False)
        if fault is None:
            self._send(conn, text)
        elif fault.action == "drop":
            pass
        elif fault.action == "delay":
            self.fake.clock.call_later(fault.delay, lambda: self._send(conn, text))
        elif fault.action == "duplicate":
            self._send(conn, text)
            self._send(conn, text)

    def _send(self, conn: Connection, text: str) -> None:
        if conn.state == "closed":
            return

        async def send() -> None:
            with contextlib.suppress(ConnectionClosed):
                await conn.ws.send(text)

        self._spawn(send())

    def _arm_redelivery(self, d: Delivery) -> None:
        delay = self.fake.settings.redelivery_delay
        if delay is None:
            return
        if d.timer:
            d.timer.cancel()
        d.timer = self.fake.clock.call_later(delay, lambda: self._redeliver(d))

    def _redeliver(self, d: Delivery) -> None:
        d.timer = None
        if d.acked:
            return
        if d.attempts > self.fake.settings.max_redeliveries:
            self.record("violation", client=d.client_id, topic=d.topic, key=d.key,
                        reason=f"message never acked after {d.attempts} deliveries")
            return
        self._attempt(d, redelivery=True)

    def _flush_waiting(self, client_id: str) -> None:
        waiting, self.waiting = self.waiting, []
        for d in waiting:
            if d.client_id == client_id and self._route(d.client_id, d.type, d.topic) is not None:
                self._attempt(d, redelivery=False)
            else:
                self.waiting.append(d)

    # -- system frames and connection faults -------------------------------------------------
    def live_connections(self, client_id: str | None = None) -> list[Connection]:
        return [c for c in self.connections.values()
                if c.state in ("live", "zombie") and (client_id is None or c.app.client_id == client_id)]

    def ping(self, conn: Connection) -> None:
        opaque = self.fake.platform.ids.uuid()
        d = Delivery(key=f"ping:{opaque}", client_id=conn.app.client_id, type="SYSTEM",
                     topic="ping", data={"opaque": opaque}, redeliver=False)
        self._push_to(conn, d)

    def disconnect(self, conn: Connection, reason: str = "persistent connection is timeout") -> None:
        d = Delivery(key=f"disconnect:{conn.id}", client_id=conn.app.client_id, type="SYSTEM",
                     topic="disconnect", data={"reason": reason}, redeliver=False)
        self._push_to(conn, d)
        conn.state = "draining"
        self.fake.clock.call_later(self.fake.settings.disconnect_close_after,
                                   lambda: self._close(conn, 1000, "disconnect"))

    def _push_to(self, conn: Connection, d: Delivery) -> None:
        message_id = self.fake.platform.ids.message_id()
        d.message_ids.append(message_id)
        d.attempts = 1
        d.last_push_t = self.now
        self.deliveries[(d.client_id, message_id)] = d
        f = protocol.frame(type="SYSTEM", topic=d.topic, message_id=message_id,
                           time_ms=self.fake.clock.time_ms(), data=d.data)
        self.record("push", client=d.client_id, connection=conn.id, type="SYSTEM",
                    topic=d.topic, messageId=message_id, key=d.key, attempt=1)
        if conn.state != "zombie":
            self._send(conn, json.dumps(f, ensure_ascii=False))

    def _close(self, conn: Connection, code: int, reason: str) -> None:
        if conn.state != "closed":
            self._spawn(conn.ws.close(code, reason))

    def drop(self, conn: Connection) -> None:
        """Abort the TCP connection with no close frame, like a network failure."""
        conn.state = "closed"
        self.connections.pop(conn.id, None)
        self.record("disconnect", client=conn.app.client_id, connection=conn.id, was="live",
                    code=1006, fault="dropped")
        conn.ws.transport.abort()

    def zombie(self, conn: Connection) -> None:
        conn.state = "zombie"


def _clip(text: str | bytes, n: int = 200) -> str:
    s = text if isinstance(text, str) else repr(text)
    return s if len(s) <= n else s[:n] + "…"
