"""The ASGI host of the HTTP-mode endpoint, for serverless platforms: ``AsgiApp(robot)`` or
``asgi_app(instance_dir)`` (which builds the robot, so only this host imports it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from bot.im_robots.dingtalk_stream.http_endpoint import (
    MAX_BODY,
    CallbackEndpoint,
    CallbackHost,
    Outcome,
    too_large,
)

log = logging.getLogger("bot.http")
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class AsgiApp:
    """A plain ASGI application (``http`` and ``lifespan`` scopes) for serverless hosts.

    ``AsgiApp(robot)`` or ``asgi_app(instance_dir)``. Each request is answered first; the
    same call then awaits the answer it started and the take-over of orphaned messages, so a
    host that keeps an invocation alive until the call returns finishes every card.
    """

    def __init__(self, robot: CallbackHost) -> None:
        self.robot = robot
        self.endpoint = CallbackEndpoint(robot)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"AsgiApp serves http and lifespan scopes, found {scope['type']!r}")
        cfg = self.robot.cfg
        path, method = scope.get("path", "/"), scope.get("method", "GET")
        accept = {cfg.http_path: self.endpoint.accept, cfg.card_path: self.endpoint.click}
        if path not in accept or method != "POST":
            outcome = Outcome(
                404 if path not in accept else 405,
                {"error": f"expected POST {cfg.http_path} (or {cfg.card_path}), found {method} {path}"},
            )
        else:
            raw = await _read_body(receive)
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            outcome = await accept[path](headers, raw) if raw is not None else too_large("more arrived")
        await send(
            {
                "type": "http.response.start",
                "status": outcome.status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": outcome.encoded()})
        # The platform has its answer; now the long work, inside this invocation.
        work = outcome.work
        if outcome.status == 200:
            work |= await self.endpoint.upkeep()
        if work:
            await asyncio.wait(work)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.endpoint.ready()
                if self.robot.cfg.card_callback_url is not None:
                    await self.endpoint.register(self.robot.cfg.card_callback_url)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.robot.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def asgi_app(
    instance_dir: Path | None = None, *, env: Mapping[str, str] | None = None, **overrides: Any
) -> AsgiApp:
    """The ASGI entry of an instance folder (default: the demo), in ``mode: "http"``."""
    from bot.elements import ELEMENTS_DIR
    from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot

    folder = instance_dir or ELEMENTS_DIR / "imRobots.dingTalkDemo"
    overrides.setdefault("mode", "http")
    return AsgiApp(DingTalkStreamRobot.from_instance(folder, env=env, **overrides))
