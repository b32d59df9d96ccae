"""``GET /_fakeding/env?lang=L``: ``language_env`` over HTTP (the route and its ``env`` are pinned)."""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web

from fakeding.aio.control_routes import register
from fakeding.core.tls.env import EnvError, Facts, language_env


def add_env_route(app: web.Application, facts: Callable[[], Facts]) -> None:
    async def env(request: web.Request) -> web.Response:
        try:
            body = language_env(request.query.get("lang", "python"), facts())
            status = 200
        except EnvError as exc:
            body, status = {"error": str(exc), "field": exc.field}, exc.status
        return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    register(app.router, "env", {"env": env})
