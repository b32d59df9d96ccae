"""A proxy on loopback that reaches the fake and nothing else.

``HTTPS_PROXY`` pointed here sends an unmodified SDK's ``https://api.dingtalk.com`` to the fake
without editing ``/etc/hosts``. Clients use a proxy in one of two ways, and both are served:

* a tunnel (``CONNECT api.dingtalk.com:443``: Python, Java, Go, axios from 1.7): joined to the
  fake's own TLS listener (whose certificate names that host), so TLS ends at the fake;
* an absolute-form request sent to the proxy in plain HTTP (``POST https://api.dingtalk.com/...
  HTTP/1.1``): what axios up to 1.6 does with ``HTTPS_PROXY``, among them the 1.5.0 the
  official Node SDK's lockfile pins. The request is re-sent to the fake in origin form, over
  TLS when the fake serves TLS, one request per connection.

Every other target is refused with 403 and a body naming the hosts it serves; the proxy never
dials anything but the fake's own ports. A request head must arrive whole within
``head_timeout`` seconds (CRLF or bare LF line ends) and within ``MAX_HEAD`` bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from fakeding.core.tls.names import DINGTALK_HOSTS, STREAM_HOST

MAX_HEAD = 8192
HEAD_TIMEOUT = 10.0  # seconds a client has to send its request head
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
_HOP_HEADERS = (b"connection", b"proxy-connection", b"proxy-authorization", b"keep-alive")


@dataclass(frozen=True)
class Targets:
    """Where the fake listens: ``host`` with the OpenAPI on ``http_port``, Stream on ``ws_port``."""

    host: str
    http_port: int
    ws_port: int

    def route(self, method: str, authority: str) -> tuple[str, int] | str:
        """The address to tunnel ``authority`` to, or why the request is refused."""
        allowed = self._allowed()
        if method != "CONNECT":
            return (
                f"fakeding's proxy tunnels (CONNECT) or forwards absolute-form requests; "
                f"found {method} {authority[:200]}; {allowed}"
            )
        host, sep, port_text = authority.rpartition(":")
        # ASCII digits only: "²".isdigit() is true, and int() refuses it
        if not sep or not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            return f"expected CONNECT HOST:PORT (a port 1-65535), found {authority[:200]!r}; {allowed}"
        host, port = host.strip("[]").lower(), int(port_text)
        if host == STREAM_HOST:
            return self.host, self.ws_port
        if host in DINGTALK_HOSTS:
            return self.host, self.http_port
        if host in LOOPBACK_NAMES and port in (self.http_port, self.ws_port):
            return self.host, port
        return f"fakeding's proxy reaches only the fake; refused {host[:200]}:{port}; {allowed}"

    def forward(self, target: str) -> tuple[str, int, str, str] | str:
        """Where an absolute-form request goes: ``(host, port, server name, origin-form
        path)``, or why it is refused. Only DingTalk's hosts: loopback is reached directly."""
        parts = urlsplit(target)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or host not in DINGTALK_HOSTS:
            return (
                f"fakeding's proxy forwards only requests to https://{'/'.join(DINGTALK_HOSTS)}"
                f"; refused {target[:200]!r}; {self._allowed()}"
            )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        port = self.ws_port if host == STREAM_HOST else self.http_port
        return self.host, port, host, path

    def _allowed(self) -> str:
        return (
            f"allowed: CONNECT to {', '.join(DINGTALK_HOSTS)} (any port) or to "
            f"127.0.0.1/localhost ports {self.http_port} and {self.ws_port}, or METHOD "
            f"https://<one of those hosts>/path"
        )


class ConnectProxy:
    """``upstream_ssl``: how to reach the fake for forwarded requests (None: it serves plain
    HTTP)."""

    def __init__(
        self,
        targets: Targets,
        *,
        upstream_ssl: ssl.SSLContext | None = None,
        head_timeout: float = HEAD_TIMEOUT,
    ) -> None:
        self.targets = targets
        self.upstream_ssl = upstream_ssl
        self.head_timeout = head_timeout
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
        except asyncio.CancelledError:  # stop(): asyncio's stream callback would log a
            pass  # cancelled task's exception() as a traceback
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.head_timeout):
                lines = await _read_head(reader)
        except TimeoutError:
            return await _answer(writer, 408, f"no complete request head within {self.head_timeout:g} s")
        except ValueError:
            return await _answer(writer, 431, f"request head over {MAX_HEAD} bytes")
        if not lines:
            return None  # closed before saying anything
        method, _, rest = lines[0].decode("latin-1").partition(" ")
        target_text = rest.partition(" ")[0]
        if method != "CONNECT" and "://" in target_text:
            return await self._forward(method, target_text, lines, reader, writer)
        target = self.targets.route(method, target_text)
        if isinstance(target, str):
            return await _answer(writer, 403, target)
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError as exc:
            return await _answer(writer, 502, f"the fake at {target[0]}:{target[1]} does not answer: {exc}")
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await _join(reader, writer, up_reader, up_writer)

    async def _forward(
        self,
        method: str,
        target_text: str,
        lines: list[bytes],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """An absolute-form request: re-sent to the fake in origin form, then the two sides
        joined until the fake has answered (``Connection: close``)."""
        target = self.targets.forward(target_text)
        if isinstance(target, str):
            return await _answer(writer, 403, target)
        host, port, name, path = target
        head = [f"{method} {path} HTTP/1.1".encode("latin-1")]
        head += [line for line in lines[1:] if line.split(b":", 1)[0].strip().lower() not in _HOP_HEADERS]
        head.append(b"Connection: close")
        try:
            up_reader, up_writer = await asyncio.open_connection(
                host, port, ssl=self.upstream_ssl, server_hostname=name if self.upstream_ssl else None
            )
        except (OSError, ssl.SSLError) as exc:
            return await _answer(writer, 502, f"the fake at {host}:{port} does not answer: {exc}")
        up_writer.write(b"\r\n".join(head) + b"\r\n\r\n")
        await _join(reader, writer, up_reader, up_writer, until_answered=True)


async def _read_head(reader: asyncio.StreamReader) -> list[bytes]:
    """The request line and header lines, without line ends; [] if the client said nothing.
    Lines may end in CRLF or a bare LF; ``ValueError`` past ``MAX_HEAD`` bytes."""
    lines: list[bytes] = []
    size = 0
    while True:
        line = await reader.readline()  # ValueError past the reader's limit (MAX_HEAD)
        size += len(line)
        if size > MAX_HEAD:
            raise ValueError("head too large")
        if not line.endswith(b"\n"):
            if lines or line:
                raise asyncio.IncompleteReadError(line, None)
            return []
        line = line.rstrip(b"\r\n")
        if not line:
            if lines:
                return lines
            continue  # blank lines before a request line are tolerated (RFC 9112 2.2)
        lines.append(line)


async def _join(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    *,
    until_answered: bool = False,
) -> None:
    """Pipe both ways until both sides are done, or (``until_answered``) until the fake has
    finished answering: a client that keeps its socket open then holds nothing."""
    up = asyncio.ensure_future(_pipe(reader, up_writer))
    try:
        await _pipe(up_reader, writer)
        if not until_answered:
            await up
    finally:
        up.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await up
        up_writer.close()


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    body = message.encode() + b"\n"
    reason = {
        403: "Forbidden",
        408: "Request Timeout",
        431: "Request Header Fields Too Large",
        502: "Bad Gateway",
    }[status]
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
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
