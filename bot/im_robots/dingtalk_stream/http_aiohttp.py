"""The aiohttp hosts of the HTTP-mode endpoint: ``HttpServer`` (``python -m bot run`` with
``mode: "http"``) and ``make_app(robot)`` for any aiohttp host."""

from __future__ import annotations

import asyncio
import functools
import logging

from aiohttp import web

from bot.im_robots.dingtalk_stream.http_endpoint import (
    BODY_TIMEOUT,
    IDLE_TIMEOUT,
    MAX_BODY,
    Accept,
    CallbackEndpoint,
    CallbackHost,
    Outcome,
    lower_headers,
    too_large,
)

log = logging.getLogger("bot.http")


async def _aiohttp_handler(accept: Accept, request: web.Request) -> web.Response:
    raw = await read_whole(request)
    outcome = raw if isinstance(raw, Outcome) else await accept(lower_headers(dict(request.headers)), raw)
    return web.Response(status=outcome.status, body=outcome.encoded(), content_type="application/json")


async def read_whole(request: web.Request) -> bytes | Outcome:
    """The whole body, however many TCP segments it came in (``content.read(n)`` returns only
    what has arrived so far), up to ``MAX_BODY`` bytes within ``BODY_TIMEOUT`` seconds."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return too_large(f"Content-Length {length}")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            while chunk := await request.content.read(MAX_BODY + 1 - size):
                size += len(chunk)
                if size > MAX_BODY:
                    return too_large("more arrived")
                chunks.append(chunk)
    except TimeoutError:
        return Outcome(
            408,
            {
                "error": f"body not complete after {BODY_TIMEOUT:g} s "
                f"({size} bytes arrived): send the whole body"
            },
        )
    return b"".join(chunks)


def routes(app: web.Application, endpoint: CallbackEndpoint, path: str, card_path: str) -> None:
    """Messages at ``path``, card clicks at ``card_path``."""
    for where, accept in ((path, endpoint.accept), (card_path, endpoint.click)):
        app.router.add_post(where, functools.partial(_aiohttp_handler, accept))


def make_app(robot: CallbackHost) -> web.Application:
    """An aiohttp application answering the platform's POSTs at ``httpPath`` (card clicks at
    ``<httpPath>card``, registered as ``cardCallbackUrl`` when set); it starts the robot's
    upkeep (lease, orphans, pruning) with the app and drains the robot on cleanup."""
    app = web.Application()
    endpoint = CallbackEndpoint(robot)
    routes(app, endpoint, robot.cfg.http_path, robot.cfg.card_path)
    keeper: list[asyncio.Task[None]] = []

    async def startup(_: web.Application) -> None:
        endpoint.ready()
        if robot.cfg.card_callback_url is not None:
            await endpoint.register(robot.cfg.card_callback_url)
        keeper.append(asyncio.ensure_future(robot._keep()))

    async def cleanup(_: web.Application) -> None:
        for task in keeper:
            task.cancel()
        await robot.aclose()

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app


class HttpServer:
    """``mode: "http"`` under ``robot.run()``: the place of the Stream connection."""

    def __init__(self, robot: CallbackHost) -> None:
        self.robot = robot
        self.endpoint = CallbackEndpoint(robot)
        self.connected = asyncio.Event()
        self.url: str | None = None  # the callback URL to register with the platform
        self._stopped: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        cfg = self.robot.cfg
        self._stopped = asyncio.Event()
        self.endpoint.ready()
        app = web.Application()
        routes(app, self.endpoint, cfg.http_path, cfg.card_path)
        # keepalive_timeout also closes a connection whose request head never ends (aiohttp
        # arms it when the connection opens), so no client can hold one forever
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=IDLE_TIMEOUT)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, cfg.listen_host, cfg.http_port).start()
            port = self._runner.addresses[0][1]
            host = "127.0.0.1" if cfg.listen_host in ("0.0.0.0", "::") else cfg.listen_host
            self.url = f"http://{host}:{port}{cfg.http_path}"
            await self.endpoint.register(cfg.card_callback_url or f"http://{host}:{port}{cfg.card_path}")
            self.connected.set()
            log.info("HTTP mode: register %s as the app's message callback URL", self.url)
            await self._stopped.wait()
        finally:
            self.connected.clear()
            await self._runner.cleanup()

    async def stop(self) -> None:
        if self._stopped is not None:
            self._stopped.set()
