"""Never let the fake swallow its own failure.

Any exception that escapes a handler (a bug in the fake, by definition) is answered in the
shape the caller expects — DingTalk's ``{"code", "message", "requestid"}`` on platform routes,
``{"error", "field"}`` on the control API — recorded as a violation so that ``check()`` and
the pytest fixture fail, and logged with its traceback on the ``fakeding`` logger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .clock import Clock
from .platform import Platform

log = logging.getLogger("fakeding")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def internal_errors(platform: Platform, clock: Clock) -> Any:
    """An aiohttp middleware bound to the platform's recorder and the clock."""
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:  # a fake bug: answer, record, log — never a bare 500
            route = f"{request.method} {request.path}"
            problem = f"{type(exc).__name__}: {exc}"[:500]
            log.error("fakeding failed on %s (a fakeding bug; please report it)", route,
                      exc_info=True)
            if request.path.startswith("/_fakeding/"):
                body: dict[str, object] = {"error": f"fakeding failed on {route}: {problem}",
                                           "field": None}
            else:
                rid = platform.ids.request_id()
                body = {"code": "fakeding.InternalError",
                        "message": f"the fake failed on {route}: {problem}", "requestid": rid}
                platform.recorder.add(clock.monotonic(), "api", route=route, client=None,
                                      status=500, request=None, response=body)
            platform.recorder.add(clock.monotonic(), "violation",
                                  reason=f"fakeding failed on {route}: {problem} "
                                         f"(a fakeding bug, not the robot's)")
            return web.Response(status=500, text=json.dumps(body, ensure_ascii=False),
                                content_type="application/json", charset="utf-8")

    return middleware
