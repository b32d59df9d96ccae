"""The control table's aiohttp edge: every row of ``fakeding.core.control_spec.ROUTES`` added
to the router, and every request body checked against the row's documented schema before the
handler runs.

Why: the table registers, validates and documents, so what the OpenAPI document says a body
must be is what the fake enforces; handlers read the checked body (``body_of``) and keep only
the checks a schema cannot express (an unknown card, a button the card lacks, bytes that are
not base64). Refusals answer 400 ``{"error", "field"}`` naming the field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from fakeding.core import json_check, jsonsafe
from fakeding.core.control_spec import ROUTES, ControlRoute
from fakeding.core.exceptions import ControlError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Where the checked body waits for the handler: a typed key where aiohttp has them (3.12+; a
# string key there warns), a string before (the oldest aiohttp the kit allows has no RequestKey).
BODY: Any = (
    web.RequestKey("fakeding.checked_body", dict) if hasattr(web, "RequestKey") else "fakeding.checked_body"
)
ERROR_MAX_CHARS = 1000


def clipped(text: str) -> str:
    """An error that quotes a huge value keeps its start (field, expectation) and its end
    (what to do), not the 900 KB in between."""
    if len(text) <= ERROR_MAX_CHARS:
        return text
    cut = len(text) - ERROR_MAX_CHARS + 200
    return f"{text[:600]}... ({cut} characters cut) ...{text[-200:]}"


def refusal(exc: ControlError) -> web.Response:
    """400 ``{"error", "field"}`` for bad input."""
    return web.json_response(
        {"error": clipped(str(exc)), "field": exc.field}, status=400, dumps=jsonsafe.dumps_readable
    )


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request's JSON object (no body reads as ``{}``); ``ControlError`` on field ``body``."""
    if not raw:
        return {}
    try:
        body = jsonsafe.loads(raw)
    except jsonsafe.BadJson as exc:
        raise ControlError("body", f"expected a JSON object: {exc}") from None
    if not isinstance(body, dict):
        raise ControlError("body", f"expected a JSON object, found {type(body).__name__}")
    return body


def body_of(request: web.Request) -> dict[str, Any]:
    """The body ``validated`` checked for this request."""
    body: dict[str, Any] = request[BODY]
    return body


def body_checker(route: ControlRoute) -> Callable[[bytes], dict[str, Any]]:
    """The body of a request to ``route`` from its bytes, checked against the route's schema
    (as documented); ``ControlError`` naming the field. Shared by every HTTP edge."""
    schema = route.body
    if schema is None:
        return parse_body
    passes = json_check.accepts(schema)  # built once; ``check`` words a refusal

    def checked(raw: bytes) -> dict[str, Any]:
        body = parse_body(raw)
        if not passes(body):
            json_check.check(schema, body)
        return body

    return checked


def validated(route: ControlRoute, handler: Handler) -> Handler:
    """``handler`` behind the check of its route's request schema (as documented)."""
    if route.body is None:
        return handler
    checked = body_checker(route)

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            body = checked(await request.read())
        except ControlError as exc:
            return refusal(exc)
        request[BODY] = body
        return await handler(request)

    return handle


def register(router: web.UrlDispatcher, owner: str, handlers: Mapping[str, Handler]) -> None:
    """Add every route of ``owner`` from the table, each served by ``handlers[route.handler]``
    behind its body check: the table registers and validates what it documents. A handler the
    table does not name, or a row without its handler, is a bug caught when the app is built."""
    rows = [r for r in ROUTES if r.owner == owner]
    named = {r.handler for r in rows}
    if named != set(handlers):
        raise RuntimeError(
            f"control routes of {owner!r}: handlers without a row {sorted(set(handlers) - named)}, "
            f"rows without a handler {sorted(named - set(handlers))}"
        )
    for route in rows:
        handler = validated(route, handlers[route.handler])
        if route.method == "GET":
            router.add_get(route.path, handler)  # and HEAD, as aiohttp does
        else:
            router.add_route(route.method, route.path, handler)
