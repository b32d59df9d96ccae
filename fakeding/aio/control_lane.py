"""The control route every test message takes, ``POST /_fakeding/messages``, as a core the
fast lane serves (``fast_lane``): a load run sends each user's message through it, so its cost
is part of the fake's cost per message. Same rules, same answers as the aiohttp route: the
guard (``control_guard.check``), the table's body check (``control_routes.body_checker``) and
the handler (``control.send_message``); only the transport differs."""

from __future__ import annotations

from typing import Any, Protocol

from fakeding.aio.control import refused, send_message
from fakeding.aio.control_guard import Served as Guarded
from fakeding.aio.control_guard import check
from fakeding.aio.control_routes import body_checker
from fakeding.aio.openapi.routes import Core, HttpReply, HttpRequest, Served
from fakeding.core import jsonsafe
from fakeding.core.api import FakeDingAPI
from fakeding.core.control_spec import ROUTES
from fakeding.core.exceptions import ConfigError, ControlError


class Fake(Guarded, FakeDingAPI, Protocol):
    """What the route needs of the fake: the guard's facts and the API (``FakeDing`` is one)."""

    @property
    def http_url(self) -> str: ...


def _json(status: int, body: Any) -> HttpReply:
    return HttpReply(status, jsonsafe.dumps_readable(body).encode())


def control_cores(fake: Fake) -> dict[tuple[str, str], Core]:
    [route] = [r for r in ROUTES if r.owner == "control" and r.handler == "messages"]
    checked = body_checker(route)

    def messages(req: HttpRequest) -> Served:
        yield from ()
        refusal = check(
            req.method,
            req.path,
            req.headers,
            scheme="https" if fake.http_url.startswith("https:") else "http",  # TLS mode or not
            bound=fake.settings.host,
            port=fake.http_port,
            token=fake.control_token,
            has_body=bool(req.body),
        )
        if refusal is not None:
            return _json(refusal.status, refusal.body())
        try:
            return _json(200, send_message(fake, checked(req.body)))
        except (ControlError, ConfigError) as exc:
            return _json(400, refused(exc))

    return {(route.method, route.path): messages}
