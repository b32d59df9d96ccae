"""Serve ``requests`` calls to a fake in-process, as moto serves boto's.

A robot written the way the DingTalk tutorials teach makes *blocking* ``requests`` calls (the
SDK's gateway, token, ``reply_text``, ``AICardReplier``...) inside an async ``process()``. When
the fake runs on that same event loop, a real socket call would wait for a loop that is
blocked. While ``serving(fake)`` is active, a call whose URL starts with the fake's base URL is
answered synchronously by ``OpenApi.serve``: the same core, rules and recording as over HTTP.
Other URLs go to the network as usual. An injected delay fault advances virtual time with
``wait``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from fakeding.aio.openapi.routes import HttpReply, HttpRequest, OpenApi, run_sync


def _reply_to_response(reply: HttpReply, prepared: requests.PreparedRequest) -> requests.Response:
    response = requests.Response()
    response.status_code = reply.status
    response._content = reply.body
    headers = dict(reply.headers)
    if reply.content_type is not None:
        headers["Content-Type"] = f"{reply.content_type}; charset=utf-8"
    response.headers = CaseInsensitiveDict(headers)
    response.encoding = "utf-8"
    response.url = prepared.url or ""
    response.reason = "OK" if reply.status < 400 else "Error"
    response.request = prepared
    return response


def to_http_request(prepared: requests.PreparedRequest) -> HttpRequest:
    parts = urlsplit(prepared.url or "")
    body = prepared.body
    raw = body.encode() if isinstance(body, str) else bytes(body or b"")
    return HttpRequest(
        (prepared.method or "GET").upper(),
        parts.path or "/",
        dict(parse_qsl(parts.query)),
        {k.lower(): v for k, v in prepared.headers.items()},
        raw,
    )


@contextlib.contextmanager
def serving(openapi: OpenApi, base_url: str, wait: Callable[[float], None]) -> Iterator[None]:
    """While active, ``requests`` calls to ``base_url`` are answered by ``openapi`` in-process."""
    original = requests.Session.send
    prefix = base_url.rstrip("/") + "/"

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if not (request.url or "").startswith(prefix):
            return original(self, request, **kwargs)
        reply = run_sync(openapi.serve(to_http_request(request)), wait)
        return _reply_to_response(reply, request)

    requests.Session.send = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        requests.Session.send = original  # type: ignore[method-assign]
