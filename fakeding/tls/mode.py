"""Starting a ``FakeDing`` in TLS mode: the CA's server certificate, HTTPS/WSS, and the proxy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fakeding.core.tls.env import Tls
from fakeding.server import FakeDing
from fakeding.tls.ca import CaFiles, ensure_ca
from fakeding.tls.proxy import ConnectProxy, Targets


@dataclass
class TlsMode:
    ca: CaFiles
    proxy: ConnectProxy | None

    async def stop(self) -> None:
        if self.proxy is not None:
            await self.proxy.stop()


async def start_tls(
    fake: FakeDing,
    *,
    ca_dir: Path | str | None = None,
    port: int = 0,
    ws_port: int = 0,
    proxy_port: int | None = None,
    stream_endpoint: str | None = None,
) -> TlsMode:
    """Start ``fake`` over HTTPS and WSS; with ``proxy_port`` (0: a free one) also the proxy."""
    ca = ensure_ca(ca_dir)
    await fake.start(
        port=port, ws_port=ws_port, ssl_context=ca.server_context(), stream_endpoint=stream_endpoint
    )
    proxy = None
    if proxy_port is not None:
        proxy = ConnectProxy(
            Targets(fake.settings.host, fake.http_port, fake.stream.port), upstream_ssl=ca.client_context()
        )
        try:
            await proxy.start("127.0.0.1", proxy_port)
        except OSError:
            await fake.stop()
            raise
    fake.tls = Tls(
        ca_cert=str(ca.ca_cert),
        bundle=str(ca.bundle),
        truststore=str(ca.truststore),
        proxy_url=f"http://127.0.0.1:{proxy.port}" if proxy else None,
    )
    return TlsMode(ca, proxy)
