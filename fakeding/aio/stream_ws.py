"""The Stream endpoint's I/O edge: an aiohttp websocket server pumping ``StreamEngine``.

The pump owns the listening socket, the websocket connections and the timers; every rule lives in the
engine. After each input (a handshake, a client frame, a closed socket, a due timer, a call of
the kit) it drains the engine's outputs onto the sockets and the clock, in the order the engine
produced them. Time comes from the fake's clock, so virtual time applies.

It also owns two I/O facts the engine rules on: what came in (every frame, ping and pong counts
as a sign of life, ``StreamEngine.heard``) and how much waits to be written to a socket (a
client that lets more than ``stream_send_buffer_bytes`` pile up is cut off,
``StreamEngine.overflow``), so a client that never reads costs bounded memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Coroutine
from functools import partial
from typing import Any

from aiohttp import WebSocketError, WSMsgType, web

from fakeding.core.clock import LoopClock
from fakeding.core.exceptions import OpenApiError
from fakeding.core.platform import Platform
from fakeding.core.record_kinds import BUG_REPORT, RecordKind
from fakeding.core.stream.engine import Connection, Delivery, OnAck, StreamEngine, Timer

log = logging.getLogger("fakeding")
MAX_FRAME = 1 << 20  # the Python SDK accepts at most 1 MiB
CLOSE_TIMEOUT = 10.0  # how long a close waits for the client's close frame


class StreamServer:
    """``start(host, port)`` serves ``ws://host:port/connect?ticket=...``; ``port`` is the bound one."""

    def __init__(self, platform: Platform, clock: LoopClock) -> None:
        self.platform = platform
        self.clock = clock
        self.engine = StreamEngine(platform)
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._sockets: dict[str, _Peer] = {}
        self._handles: dict[Timer, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Future[Any]] = set()

    # -- what the engine knows ---------------------------------------------------------------
    @property
    def connections(self) -> dict[str, Connection]:
        return self.engine.connections

    @property
    def deliveries(self) -> dict[tuple[str, str], Delivery]:
        return self.engine.deliveries

    @property
    def waiting(self) -> list[Delivery]:
        return self.engine.waiting

    def live_connections(self, client_id: str | None = None) -> list[Connection]:
        return self.engine.live_connections(client_id)

    def in_flight(self) -> bool:
        """True while a push is queued or a delivery awaits its ack with a redelivery pending."""
        return self.engine.in_flight()

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None) -> None:
        app = web.Application()
        app.router.add_route("*", "/connect", self._connect)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=CLOSE_TIMEOUT
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.reset(sessions=True)
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        waits = [*self._tasks, *(peer.lost for peer in self._sockets.values())]
        if waits:
            await asyncio.wait(waits, timeout=CLOSE_TIMEOUT)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in list(self._tasks):
            task.cancel()

    def reset(self, *, sessions: bool = False) -> None:
        """Forget deliveries and the queue; ``sessions=True`` also closes every connection (1001)."""
        self.engine.reset(sessions=sessions)
        self._pump()

    # -- the kit's calls ------------------------------------------------------------------------
    def push(
        self,
        client_id: str,
        topic: str,
        data: dict[str, Any],
        *,
        key: str,
        type_: str = "CALLBACK",
        on_ack: OnAck | None = None,
        redeliver: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """Deliver ``data`` to one live connection of the app (or queue it until one connects)."""
        d = self.engine.push(
            self.clock.monotonic(),
            self.clock.time_ms(),
            client_id,
            topic,
            data,
            key=key,
            type_=type_,
            on_ack=on_ack,
            redeliver=redeliver,
            headers=headers,
        )
        self._pump()
        return d

    def ping(self, conn: Connection) -> None:
        self.engine.ping(self.clock.monotonic(), self.clock.time_ms(), conn)
        self._pump()

    def disconnect(self, conn: Connection, reason: str = "persistent connection is timeout") -> None:
        self.engine.disconnect(self.clock.monotonic(), self.clock.time_ms(), conn, reason)
        self._pump()

    def drop(self, conn: Connection) -> None:
        """Abort the TCP connection with no close frame, like a network failure."""
        self.engine.drop(self.clock.monotonic(), conn)
        self._pump()

    def zombie(self, conn: Connection) -> None:
        self.engine.zombie(conn)

    def sleep(self, seconds: float, client_id: str | None = None) -> None:
        """Sleep/wake (the ``clock_jump`` fault): nothing on any socket, then the clock reads
        ``seconds`` later; the app's connections are gone without a close frame and every
        timer that came due meanwhile fires now, in order."""
        self.clock.jump(seconds)
        t, ms = self.clock.monotonic(), self.clock.time_ms()
        for conn in self.engine.live_connections(client_id):
            self.engine.lost(t, ms, conn, f"no socket events for {seconds:g} s (sleep/wake)")
        for timer, handle in sorted(self._handles.items(), key=lambda item: item[0].at):
            handle.cancel()
            self._handles[timer] = self.clock.call_later(max(0.0, timer.at - t), partial(self._fire, timer))
        self._pump()

    # -- handshake and connection loop ---------------------------------------------------------
    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return self._reject(
            404, "InvalidAction.NotFound", f"the stream endpoint is /connect, found {request.path}"
        )

    def _reject(self, status: int, code: str, message: str) -> web.Response:
        body = json.dumps(
            {"code": code, "message": message, "requestid": self.platform.ids.request_id()},
            ensure_ascii=False,
        )
        return web.Response(
            status=status, body=body.encode(), headers={"Content-Type": "application/json;charset=utf-8"}
        )

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        try:
            app, subs = self.engine.accept_ticket(self.clock.monotonic(), request.query.get("ticket") or None)
        except OpenApiError as exc:  # a bad ticket: 401; a refused second connection: 403
            return self._reject(exc.status if exc.status == 403 else 401, exc.code, exc.message)
        # autoclose=False: the closing handshake is ours (``_Peer``), done as RFC 6455 says.
        # autoping=False: pings and pongs come to the loop below, where they count as life.
        ws = web.WebSocketResponse(
            max_msg_size=MAX_FRAME, compress=False, autoping=False, autoclose=False, timeout=CLOSE_TIMEOUT
        )
        if not ws.can_prepare(request).ok:
            return self._reject(
                426, "InvalidAction.Upgrade", "expected a websocket handshake (Upgrade: websocket)"
            )
        await ws.prepare(request)
        assert request.transport is not None
        peer = _Peer(ws, request.transport)
        conn = self.engine.connect(self.clock.monotonic(), self.clock.time_ms(), app, subs)
        self._sockets[conn.id] = peer
        self._pump()
        code: int | None = None
        try:
            while True:
                msg = await ws.receive()
                self.engine.heard(conn.id)
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self._receive(conn.id, msg.data)
                    continue
                if msg.type is WSMsgType.PING:
                    await _pong(ws, msg.data)  # even a zombie answers pings
                    continue
                if msg.type is WSMsgType.PONG:
                    continue
                if msg.type is WSMsgType.CLOSE:
                    code = int(msg.data) or 1005  # 1005: a close frame without a code
                    await peer.finish_close(code, msg.extra or "")
                if msg.type is WSMsgType.ERROR and isinstance(msg.data, WebSocketError):
                    code = msg.data.code  # e.g. 1009 for a frame over 1 MiB; aiohttp closed it
                break
        finally:
            self._sockets.pop(conn.id, None)
            if code is None and ws.close_code is not None:
                code = int(ws.close_code)
            self.engine.closed(self.clock.monotonic(), conn.id, code)
            self._pump()
        return ws

    def _receive(self, conn_id: str, data: str | bytes) -> None:
        """One client frame into the engine; a failure of the fake is recorded, never fatal."""
        try:
            self.engine.receive(self.clock.monotonic(), conn_id, data)
        except Exception as exc:  # a fake bug: the connection stays up, check() fails
            problem = f"{type(exc).__name__}: {exc}"[:500]
            log.error("fakeding failed on a Stream frame (a fakeding bug; please report it)", exc_info=True)
            self.platform.recorder.add(
                self.clock.monotonic(),
                RecordKind.FAKE_ERROR,
                where="a Stream frame",
                problem=problem,
                connection=conn_id,
                reason=f"fakeding failed on a Stream frame: {problem} ({BUG_REPORT})",
            )
        self._pump()

    # -- draining the engine --------------------------------------------------------------------
    def _pump(self) -> None:
        e = self.engine
        limit = self.platform.settings.stream_send_buffer_bytes
        overflowed = False
        for conn_id, text in e.data_to_send():
            peer = self._sockets.get(conn_id)
            if peer is None or peer.close_sent or peer.cut:
                continue
            waiting = peer.unsent + peer.transport.get_write_buffer_size() + len(text)
            if limit is not None and waiting > limit:
                peer.cut = overflowed = True
                e.overflow(self.clock.monotonic(), self.clock.time_ms(), conn_id, waiting, limit)
                continue
            self._spawn(peer.send(text))
        for conn_id in e.pings_to_send():
            peer = self._sockets.get(conn_id)
            if peer is not None and not peer.close_sent and not peer.cut:
                self._spawn(_ping(peer.ws))
        for conn_id, code, reason in e.closes_to_do():
            peer = self._sockets.get(conn_id)
            if peer is not None:
                peer.start_close(code, reason, self.clock)
        for conn_id in e.aborts_to_do():
            peer = self._sockets.get(conn_id)
            if peer is not None:
                peer.transport.abort()
        for timer in e.timers_to_arm():
            self._handles[timer] = self.clock.call_later(timer.delay, partial(self._fire, timer))
        for timer in e.timers_to_cancel():
            handle = self._handles.pop(timer, None)
            if handle is not None:
                handle.cancel()
        if overflowed:
            self._pump()  # what the cut-off set going (the abort, redeliveries elsewhere)

    def _fire(self, timer: Timer) -> None:
        self._handles.pop(timer, None)
        self.engine.fire(self.clock.monotonic(), self.clock.time_ms(), timer)
        self._pump()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _ping(ws: web.WebSocketResponse) -> None:
    with contextlib.suppress(ConnectionError):
        await ws.ping(b"fakeding")


async def _pong(ws: web.WebSocketResponse, payload: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        await ws.pong(payload)  # the same payload: Java matches it to its ping


class _Peer:
    """One websocket's transport, and its closing handshake done the way RFC 6455 asks.

    aiohttp drops the TCP connection as soon as the close frames are exchanged; here, like
    the reference Python websocket server, it echoes the close frame, half-closes and waits for
    the client to close its side (``lost``), so a connection counts as closed only once the
    client is done with it.
    """

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport) -> None:
        self.ws = ws
        self.transport = transport
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.close_sent = False
        self.cut = False  # given up for not reading: nothing more is written
        self.unsent = 0  # characters handed to sends that have not finished yet
        transport.set_protocol(_LossWatch(transport.get_protocol(), self.lost))

    def send(self, text: str) -> Coroutine[Any, Any, None]:
        """Count ``text`` as waiting now; the returned coroutine writes it."""
        self.unsent += len(text)
        return self._send(text)

    async def _send(self, text: str) -> None:
        try:
            with contextlib.suppress(ConnectionError):
                await self.ws.send_str(text)
        finally:
            self.unsent -= len(text)

    def start_close(self, code: int, reason: str, clock: LoopClock) -> None:
        """Send a close frame; the client's echo ends the receive loop (or the timeout aborts)."""
        if self.close_sent or self.transport.is_closing():
            return
        self._write_close(code, reason)
        handle = clock.call_later(CLOSE_TIMEOUT, self.transport.abort)
        self.lost.add_done_callback(lambda _: handle.cancel())

    async def finish_close(self, code: int, reason: str) -> None:
        """The client sent its close frame: echo it unless ours went first, then end TCP."""
        if self.transport.is_closing():
            return
        if not self.close_sent:
            self._write_close(code, reason)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        else:
            self.transport.close()
        await asyncio.wait([self.lost], timeout=CLOSE_TIMEOUT)
        if not self.lost.done():
            self.transport.abort()

    def _write_close(self, code: int, reason: str) -> None:
        self.close_sent = True
        payload = b"" if code == 1005 else code.to_bytes(2, "big") + _clip_utf8(reason, 123)
        self.transport.write(bytes([0x88, len(payload)]) + payload)  # FIN + close, unmasked


class _LossWatch(asyncio.Protocol):
    """Stands in front of aiohttp's protocol, forwarding everything, to learn when TCP is gone."""

    def __init__(self, inner: asyncio.BaseProtocol, lost: asyncio.Future[None]) -> None:
        assert isinstance(inner, asyncio.Protocol)
        self.inner = inner
        self.lost = lost

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            self.inner.connection_lost(exc)
        finally:
            if not self.lost.done():
                self.lost.set_result(None)


def _clip_utf8(text: str, limit: int) -> bytes:
    """At most ``limit`` bytes of ``text`` in UTF-8, never cutting a character in two."""
    return text.encode()[:limit].decode(errors="ignore").encode()
