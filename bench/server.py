"""The other process of the throughput benchmark: fakeding plus a bare websocket echo server.

Prints one JSON line ``{"http": port, "echo": port}`` and serves until stdin closes, so the
ceiling (bare websocket round trips and bare HTTP requests) is measured between the same two
processes, with the same libraries, as the real traffic.
"""

from __future__ import annotations

import asyncio
import json
import sys

from websockets.asyncio.server import ServerConnection, serve

from fakeding.core.settings import Settings
from fakeding.process import tune_gc
from fakeding.server import FakeDing


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def main() -> None:
    settings = Settings(qps_limit=None, webhook_per_minute=None, recorder_limit=20_000, history_limit=5_000)
    fake = FakeDing(settings)
    await fake.start()
    tune_gc()  # as `fakeding serve` does once started
    async with serve(echo, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(json.dumps({"http": fake.http_port, "echo": port}), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    await fake.stop()


if __name__ == "__main__":
    asyncio.run(main())
