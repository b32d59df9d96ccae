"""A CONNECT proxy on loopback that reaches the fake and nothing else.

``HTTPS_PROXY`` pointed here sends an unmodified SDK's ``https://api.dingtalk.com`` to the fake
without editing ``/etc/hosts``: a tunnel to a DingTalk host is joined to the fake's own TLS
listener (whose certificate names that host), so TLS ends at the fake. Every other target is
refused with 403 and a body naming the hosts it serves; the proxy never dials anything but the
fake's own ports.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from .names import DINGTALK_HOSTS, STREAM_HOST

MAX_HEAD = 8192
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Targets:
    """Where the fake listens: ``host`` with the OpenAPI on ``http_port``, Stream on ``ws_port``."""

    host: str
    http_port: int
    ws_port: int

    def route(self, method: str, authority: str) -> tuple[str, int] | str:
        """The address to tunnel ``authority`` to, or why the request is refused."""
        allowed = (f"allowed: CONNECT to {', '.join(DINGTALK_HOSTS)} (any port), or to "
                   f"127.0.0.1/localhost ports {self.http_port} and {self.ws_port}")
        if method != "CONNECT":
            return f"fakeding's proxy only tunnels (CONNECT); found {method} {authority}; {allowed}"
        host, sep, port_text = authority.rpartition(":")
        if not sep or not port_text.isdigit():
            return f"expected CONNECT HOST:PORT, found {authority!r}; {allowed}"
        host, port = host.strip("[]").lower(), int(port_text)
        if host == STREAM_HOST:
            return self.host, self.ws_port
        if host in DINGTALK_HOSTS:
            return self.host, self.http_port
        if host in LOOPBACK_NAMES and port in (self.http_port, self.ws_port):
            return self.host, port
        return f"fakeding's proxy reaches only the fake; refused {host}:{port}; {allowed}"


class ConnectProxy:
    def __init__(self, targets: Targets) -> None:
        self.targets = targets
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = await asyncio.start_server(self._client, host, port, limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            return await _answer(writer, 431, f"request head over {MAX_HEAD} bytes")
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        authority = rest.partition(" ")[0]
        target = self.targets.route(method, authority)
        if isinstance(target, str):
            return await _answer(writer, 403, target)
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError as exc:
            return await _answer(writer, 502, f"the fake at {target[0]}:{target[1]} does not answer: {exc}")
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    body = message.encode() + b"\n"
    reason = {403: "Forbidden", 431: "Request Header Fields Too Large", 502: "Bad Gateway"}[status]
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while chunk := await src.read(65536):
            dst.write(chunk)
            await dst.drain()
        if dst.can_write_eof():
            dst.write_eof()
    except (ConnectionError, OSError):
        dst.close()
