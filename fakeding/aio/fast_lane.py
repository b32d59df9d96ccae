"""A fast lane for the platform's own HTTP calls, in front of aiohttp on the same port.

Every OpenAPI call a robot makes (card sends and updates, tokens, the gateway) is small, keeps
its connection alive and asks for a JSON reply from the transport-free core
(``OpenApi.table``). aiohttp's request machinery (the request and response objects, the
middleware chain, the router) costs about as much CPU as the fake's own work on such a call,
and the fake is meant to be the instrument, not the bottleneck (issue 21). So each connection
starts in this lane, which takes a request only when it understands all of it:

- ``METHOD /path HTTP/1.1`` whose method and path are a core route (no ``%``, no fragment);
- well-formed header lines, at most one ``Content-Length`` and no ``Transfer-Encoding``,
  ``Expect`` or ``Upgrade``; a body of at most ``MAX_BODY`` bytes.

Anything else (the control API, the emulator, websockets, uploads, chunked bodies, HTTP/1.0,
anything odd) hands the connection to aiohttp for good, replaying the request's bytes, which
the lane never consumed: it frames each request itself (the head up to the blank line, then
``Content-Length`` bytes), so a handoff starts exactly where the request starts, pipelined or
not. aiohttp then answers as it always did, refusals included. A fake bug raised by a core is
answered and recorded as the aiohttp middleware does (``middleware.fake_failure``).
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import ssl
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web
from yarl import URL

from fakeding.aio.middleware import fake_failure
from fakeding.aio.openapi.routes import Core, HttpReply, HttpRequest
from fakeding.core import jsonsafe
from fakeding.core.clock import Clock
from fakeding.core.platform import Platform

MAX_HEAD = 16_384  # a head longer than this, still unfinished, goes to aiohttp (which refuses it)
MAX_BODY = 1024**2  # aiohttp's default client_max_size: a longer body goes there, for its 413
KEEPALIVE = 75.0  # seconds an idle connection stays open: aiohttp's default keepalive_timeout
# after the request line: CRLF, then "name: value" (a name is an RFC 9110 token), and again
_FIELDS = re.compile(r"(?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n\x00]*)*").fullmatch
_REFUSED_HEADERS = frozenset(("transfer-encoding", "expect", "upgrade"))
_REASONS = {s.value: s.phrase for s in HTTPStatus}


class Headers(dict[str, str]):
    """A request's headers by lower-case name, looked up in any case (as aiohttp's are)."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key.lower() if isinstance(key, str) else key)


class _Date:
    """The ``Date`` header's value, formatted once a second."""

    second = -1
    value = ""

    @classmethod
    def now(cls) -> str:
        second = int(time.time())
        if second != cls.second:
            cls.second, cls.value = second, email.utils.formatdate(second, usegmt=True)
        return cls.value


def parse_head(head: bytes) -> tuple[str, str, str, Headers, int] | None:
    """``head`` (a request's bytes up to, not including, the blank line) as (method, path,
    query string, headers by lower-case name, body length), or None if the lane should not
    take it. Only what is certainly well-formed is taken: aiohttp decides everything else."""
    # header values as aiohttp reads them: UTF-8, undecodable bytes kept as surrogates
    text = head.decode("ascii") if head.isascii() else head.decode("utf-8", "surrogateescape")
    eol = text.find("\r\n")
    if eol < 0:
        eol = len(text)
    parts = text[:eol].split(" ")
    if len(parts) != 3 or parts[2] != "HTTP/1.1":
        return None
    target = parts[1]
    path, _, query = target.partition("?")
    if path[:1] != "/" or "%" in path or "#" in target or not target.isascii():
        return None
    if _FIELDS(text, eol) is None:
        return None  # a line that is not "name: value" (a folded line, a bare CR or LF, a NUL)
    lines = text[eol + 2 :].split("\r\n") if eol < len(text) else []
    headers = Headers()
    for line in lines:
        name, _, value = line.partition(":")
        # the first of a repeated header, as aiohttp's case-insensitive ``get`` reads it
        headers.setdefault(name.lower(), value.strip(" \t"))
    if not _REFUSED_HEADERS.isdisjoint(headers):
        return None
    length = dict.get(headers, "content-length", "0")
    if not (length.isascii() and length.isdigit()):
        return None
    if len(headers) != len(lines) and sum(line[:15].lower() == "content-length:" for line in lines) > 1:
        return None  # two lengths: which one frames the body is aiohttp's call
    if "upgrade" in dict.get(headers, "connection", "").lower():
        return None
    return parts[0], path, query, headers, int(length)


def reply_bytes(reply: HttpReply, *, close: bool) -> bytes:
    """The HTTP/1.1 response for ``reply``, as aiohttp's edge would send it (``to_aiohttp``)."""
    lines = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}"]
    if reply.content_type is not None:
        lines.append(f"Content-Type: {reply.content_type}; charset=utf-8")
    lines.append(f"Content-Length: {len(reply.body)}")
    lines.append(f"Date: {_Date.now()}")
    lines.extend(f"{name}: {value}" for name, value in reply.headers.items())
    if close:
        lines.append("Connection: close")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8") + reply.body


class FastLane(asyncio.Protocol):
    """One connection: core routes answered here until a request needs aiohttp (see module)."""

    def __init__(self, site: FastSite) -> None:
        self.site = site
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy: asyncio.Task[None] | None = None  # a reply waiting out an injected delay
        self.remote = "127.0.0.1"
        self.peer: tuple[Any, ...] = ()
        self.loop = asyncio.get_running_loop()
        self.last = self.loop.time()  # when bytes last arrived: idle connections close
        self.idle: asyncio.TimerHandle | None = None
        self.blocked = False  # the client reads no answers: stop reading and answering it

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.idle = self.loop.call_at(self.last + KEEPALIVE, self._idle_check)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.peer, self.remote = peer, str(peer[0])
        self.site.lanes.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._leave()

    def _leave(self) -> None:
        self.site.lanes.discard(self)
        self.transport = None
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None

    def _idle_check(self) -> None:
        """Close a connection idle for ``KEEPALIVE`` seconds, as aiohttp would; else look again."""
        due = self.last + KEEPALIVE
        if self.transport is None:
            return
        if self.busy is None and not self.buf and self.loop.time() >= due:
            self.close()
        else:
            self.idle = self.loop.call_at(max(due, self.loop.time() + 1.0), self._idle_check)

    def data_received(self, data: bytes) -> None:
        self.last = self.loop.time()
        self.buf += data
        if self.busy is None:
            self._drain()

    def pause_writing(self) -> None:
        """The answers pile up unread (a client pipelining without reading): read no more and
        answer no more until they drain, as aiohttp does, so memory stays bounded."""
        self.blocked = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.blocked = False
        if self.transport is not None:
            self.transport.resume_reading()
            if self.busy is None:
                self._drain()

    def _drain(self) -> None:
        """Answer every complete request in the buffer, in order, until one needs waiting."""
        buf = self.buf
        while self.transport is not None and buf and not self.blocked:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._handoff()
                return
            head = parse_head(bytes(buf[:end]))
            core = None if head is None else self.site.cores.get((head[0], head[1]))
            if head is None or core is None or head[4] > MAX_BODY:
                self._handoff()
                return
            method, path, query, headers, length = head
            total = end + 4 + length
            if len(buf) < total:
                return  # the rest of the body is on its way
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            close = dict.get(headers, "connection", "").lower() == "close"
            req = HttpRequest(method, path, _query(query), headers, body, self.remote)
            served = core(req)
            try:
                delay = next(served)
            except StopIteration as stop:
                self._send(stop.value, close)
                continue
            except Exception as exc:  # a fake bug: answered and recorded, as the middleware does
                self._send(self.site.failure(method, path, exc), close)
                continue
            self.busy = asyncio.ensure_future(self._finish(method, path, served, delay, close))
            return

    async def _finish(self, method: str, path: str, served: Any, delay: float, close: bool) -> None:
        """Wait out a core's delays (an injected ``api`` fault), answer, then carry on."""
        try:
            while True:
                await asyncio.sleep(delay)
                delay = served.send(None)
        except StopIteration as stop:
            reply: HttpReply = stop.value
        except Exception as exc:
            reply = self.site.failure(method, path, exc)
        self.busy = None
        self._send(reply, close)
        self._drain()

    def _send(self, reply: HttpReply, close: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(reply_bytes(reply, close=close))
        if close:
            transport.close()
            self.transport = None

    def _handoff(self) -> None:
        """Give the connection to aiohttp for good, replaying the bytes not yet answered."""
        transport = self.transport
        assert transport is not None
        self._leave()
        handler = self.site.aiohttp_server()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if self.buf:
            handler.data_received(bytes(self.buf))
            self.buf.clear()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _query(text: str) -> Mapping[str, str]:
    """The query as aiohttp reads it (yarl's decoding), or an empty one without a string."""
    if not text:
        return {}
    return URL.build(path="/", query_string=text, encoded=True).query


class FastSite(web.BaseSite):
    """An aiohttp site whose connections start in ``FastLane``, over HTTP or HTTPS (TLS mode).
    ``runner.cleanup()`` stops it like any site; open lanes are closed then."""

    __slots__ = ("_host", "_port", "_sock", "platform", "clock", "cores", "lanes")

    def __init__(
        self,
        runner: web.AppRunner,
        cores: dict[tuple[str, str], Core],
        platform: Platform,
        clock: Clock,
        *,
        host: str | None = None,
        port: int = 0,
        sock: Any = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``cores``: the routes the lane answers, by (method, path); ``platform`` and
        ``clock`` record a fake bug raised by one (``middleware.fake_failure``);
        ``ssl_context``: HTTPS (TLS mode), the lane then reading what TLS decrypts."""
        super().__init__(runner, ssl_context=ssl_context)
        self._host, self._port, self._sock = host, port, sock
        self.cores = cores
        self.platform = platform
        self.clock = clock
        self.lanes: set[FastLane] = set()

    @property
    def name(self) -> str:
        return f"{'https' if self._ssl_context else 'http'}://{self._host}:{self._port}"

    def aiohttp_server(self) -> asyncio.Protocol:
        server = self._runner.server
        assert server is not None
        return server()

    def failure(self, method: str, path: str, exc: Exception) -> HttpReply:
        body = fake_failure(self.platform, self.clock, method, path, exc)
        return HttpReply(500, jsonsafe.dumps(body).encode())

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        tls = self._ssl_context
        if self._sock is not None:
            self._server = await loop.create_server(lambda: FastLane(self), sock=self._sock, ssl=tls)
        else:
            self._server = await loop.create_server(lambda: FastLane(self), self._host, self._port, ssl=tls)

    async def stop(self) -> None:
        for lane in list(self.lanes):
            lane.close()
        await super().stop()
