"""TLS beside a fake that serves plain HTTP, for robots whose SDK speaks only https to DingTalk
hosts (Node, Go, Java), without restarting the fake: the pytest plugin's session fake serves
Python robots in plain HTTP and gains this the first time a test starts such a robot.

Each front ends TLS with the kit CA's certificate (which names the DingTalk hosts) and pipes
the bytes to one of the fake's plain ports; the CONNECT proxy tunnels DingTalk hosts to the
fronts and refuses every other target, so a robot pointed at it reaches the fake and nothing
else.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from pathlib import Path

from fakeding.core.tls.env import Tls
from fakeding.tls.ca import ensure_ca
from fakeding.tls.proxy import ConnectProxy, Targets

CHUNK = 65536


class TlsFront:
    """TLS on a free loopback port, plain bytes to ``host:target``."""

    def __init__(self, host: str, target: int) -> None:
        self.host = host
        self.target = target
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, context: ssl.SSLContext) -> None:
        self._server = await asyncio.start_server(self._client, self.host, 0, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@dataclass
class TlsSide:
    """The fronts and the proxy; ``tls`` is what ``language_env`` needs to point a robot here."""

    fronts: list[TlsFront]
    proxy: ConnectProxy
    tls: Tls

    async def stop(self) -> None:
        await self.proxy.stop()
        for front in self.fronts:
            await front.stop()


async def start_tls_side(
    host: str, http_port: int, ws_port: int, ca_dir: Path | str | None = None
) -> TlsSide:
    """Fronts for the fake's OpenAPI (``http_port``) and Stream (``ws_port``) and a proxy."""
    ca = ensure_ca(ca_dir)
    context = ca.server_context()
    fronts = [TlsFront(host, http_port), TlsFront(host, ws_port)]
    for front in fronts:
        await front.start(context)
    proxy = ConnectProxy(Targets(host, fronts[0].port, fronts[1].port))
    await proxy.start("127.0.0.1", 0)
    tls = Tls(
        ca_cert=str(ca.ca_cert),
        bundle=str(ca.bundle),
        truststore=str(ca.truststore),
        proxy_url=f"http://127.0.0.1:{proxy.port}",
    )
    return TlsSide(fronts, proxy, tls)
