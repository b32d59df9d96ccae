"""The other process of the throughput benchmark: fakeding, a bare websocket echo server and a
bare aiohttp echo (no middleware, one catch-all route answering each request with its body).

Prints one JSON line ``{"http": port, "echo": port, "bare": port}`` and serves until stdin
closes, so the ceiling (the same HTTP requests to the bare echo, bare websocket round trips) is
measured between the same two processes, with the same libraries, as the real traffic.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web
from websockets.asyncio.server import ServerConnection, serve

from fakeding.core.settings import Settings
from fakeding.process import tune_gc
from fakeding.server import FakeDing


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def bare(request: web.Request) -> web.Response:
    """A bare aiohttp echo: the request's body back, as JSON."""
    return web.Response(body=await request.read(), content_type="application/json")


async def start_bare() -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", bare)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site.port  # the bound port, once started


async def main() -> None:
    settings = Settings(qps_limit=None, webhook_per_minute=None, recorder_limit=20_000, history_limit=5_000)
    fake = FakeDing(settings)
    await fake.start()
    runner, bare_port = await start_bare()
    tune_gc()  # as `fakeding serve` does once started
    async with serve(echo, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(json.dumps({"http": fake.http_port, "echo": port, "bare": bare_port}), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    await runner.cleanup()
    await fake.stop()


if __name__ == "__main__":
    asyncio.run(main())
