"""Never let the fake swallow its own failure.

Any exception that escapes a handler (a bug in the fake, by definition) is answered in the
shape the caller expects — DingTalk's ``{"code", "message", "requestid"}`` on platform routes,
``{"error", "field"}`` on the control API — recorded as a ``fake_error`` (the fake's fault, not
the robot's) so that ``check()`` and the pytest fixture fail, and logged with its traceback on
the ``fakeding`` logger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fakeding.core.clock import Clock
from fakeding.core.platform import Platform
from fakeding.core.record_kinds import BUG_REPORT, RecordKind

log = logging.getLogger("fakeding")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def internal_errors(platform: Platform, clock: Clock) -> Any:
    """An aiohttp middleware bound to the platform's recorder and the clock."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _refused(platform, clock, request, exc)
        except Exception as exc:  # a fake bug: answer, record, log — never a bare 500
            body = fake_failure(platform, clock, request.method, request.path, exc)
            return web.Response(
                status=500,
                text=json.dumps(body, ensure_ascii=False),
                content_type="application/json",
                charset="utf-8",
            )

    return middleware


def fake_failure(platform: Platform, clock: Clock, method: str, path: str, exc: Exception) -> dict[str, Any]:
    """The 500 body for an exception that escaped a handler, recorded and logged (shared by
    every HTTP edge: this middleware and ``fast_lane``)."""
    route = f"{method} {path}"
    problem = f"{type(exc).__name__}: {exc}"[:500]
    log.error("fakeding failed on %s (a fakeding bug; please report it)", route, exc_info=exc)
    if path.startswith("/_fakeding/"):
        body: dict[str, Any] = {"error": f"fakeding failed on {route}: {problem}", "field": None}
    else:
        rid = platform.ids.request_id()
        body = {
            "code": "fakeding.InternalError",
            "message": f"the fake failed on {route}: {problem}",
            "requestid": rid,
        }
        platform.recorder.add(
            clock.monotonic(),
            RecordKind.API,
            route=route,
            client=None,
            status=500,
            request=None,
            response=body,
        )
    platform.recorder.add(
        clock.monotonic(),
        RecordKind.FAKE_ERROR,
        where=route,
        problem=problem,
        reason=f"fakeding failed on {route}: {problem} ({BUG_REPORT})",
    )
    return body


def _refused(platform: Platform, clock: Clock, request: web.Request, exc: web.HTTPException) -> web.Response:
    """aiohttp's own refusals (a body over the size limit, a method no route has) in the
    caller's shape, recorded: no DingTalk API would have seen such a request."""
    route = f"{request.method} {request.path}"
    problem = f"{exc.status} {exc.reason}"
    said = exc.text or ""
    if said and said != f"{exc.status}: {exc.reason}":  # the handler said more: keep it
        problem += f": {said[:500]}"
    if exc.status == 413:
        problem += (
            f" (bodies are limited to {request.app._client_max_size} bytes; "  # noqa: SLF001
            "send less)"
        )
    t = clock.monotonic()
    if request.path.startswith("/_fakeding/"):
        field = "body" if exc.status == 413 else "path"
        body: dict[str, object] = {"error": f"{route}: {problem}", "field": field}
    elif request.path == "/robot/sendBySession":  # session webhooks answer in errcode form
        body = {"errcode": 40035, "errmsg": f"不合法的参数 ({route}: {problem})"}
    else:
        body = {
            "code": "InvalidRequest",
            "message": f"{route}: {problem}",
            "requestid": platform.ids.request_id(),
        }
    if not request.path.startswith("/_fakeding/"):
        platform.recorder.add(
            t, RecordKind.API, route=route, client=None, status=exc.status, request=None, response=body
        )
        platform.recorder.add(t, RecordKind.VIOLATION, reason=f"{route}: {problem}")
    return web.Response(
        status=exc.status,
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        charset="utf-8",
    )
