"""The control routes are one table (``fakeding.core.control_spec.ROUTES``): it registers them,
so what is served is what is documented; a handler without a row (or a row without its
handler) stops the app from being built."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import requests
from aiohttp import web

from fakeding import ThreadedFakeDing
from fakeding.aio.control_routes import register
from fakeding.core.control_spec import ROUTES, document


async def _handler(_: web.Request) -> web.Response:
    return web.Response()


def test_every_row_names_its_handler_and_owner() -> None:
    assert all(r.handler for r in ROUTES)
    assert {r.owner for r in ROUTES} == {"control", "live", "env"}
    assert len({(r.method, r.path) for r in ROUTES}) == len(ROUTES)


def test_register_adds_exactly_the_rows_of_an_owner() -> None:
    app = web.Application()
    rows = [r for r in ROUTES if r.owner == "live"]
    register(app.router, "live", {r.handler: _handler for r in rows})
    served = {(r.method, str(r.resource.canonical)) for r in app.router.routes() if r.method != "HEAD"}
    assert served == {(r.method, r.path) for r in rows}


@pytest.mark.parametrize(
    "handlers",
    [{"env": _handler, "extra": _handler}, {}],
    ids=["a handler without a row", "a row without its handler"],
)
def test_a_mismatch_between_handlers_and_rows_is_refused(handlers: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError, match="control routes of 'env'"):
        register(web.Application().router, "env", handlers)


def test_the_running_fake_serves_the_documented_routes(fakeding: ThreadedFakeDing) -> None:
    app = fakeding.fake.web_app
    assert app is not None
    served = {
        (r.method, str(r.resource.canonical))
        for r in app.router.routes()
        if r.resource is not None
        and str(r.resource.canonical).startswith("/_fakeding/")
        and r.method != "HEAD"
    }
    documented = {(m.upper(), path) for path, ops in document()["paths"].items() for m in ops}
    assert served == documented == {(r.method, r.path) for r in ROUTES}


WRONG: list[Any] = ["not expected", 12345.5, [], True, None, {"not": ["expected"]}]


def _wrong_value(schema: dict[str, Any]) -> Any:
    """A JSON value the property's schema refuses (by the reference validator)."""
    return next(v for v in WRONG if not jsonschema.Draft202012Validator(schema).is_valid(v))


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.body is not None], ids=lambda r: f"{r.method} {r.path}"
)
def test_every_route_with_a_body_refuses_a_wrong_shape_naming_the_field(
    fakeding: ThreadedFakeDing, route: Any
) -> None:
    """Each property of the documented request schema, given a value of the wrong shape, is
    refused before the handler runs: 400 naming that property, expected and found."""
    assert route.body is not None and route.example is not None
    path = route.path
    for name, value in route.params.items():
        path = path.replace("{" + name + "}", value)
    before = (fakeding.timeline(), fakeding.settings, fakeding.apps(), fakeding.templates())
    for name, schema in route.body["properties"].items():
        body = dict(route.example, **{name: _wrong_value(schema)})
        answer = requests.request(route.method, fakeding.http_url + path, json=body, timeout=10)
        assert answer.status_code == 400, (name, answer.text)
        refusal = answer.json()
        assert refusal["field"] == name and refusal["error"].startswith(f"{name}: expected"), refusal
        assert "found" in refusal["error"]
    for body in ([route.example], "text"):
        answer = requests.request(route.method, fakeding.http_url + path, json=body, timeout=10)
        assert answer.status_code == 400 and answer.json()["field"] == "body", answer.text
    assert (fakeding.timeline(), fakeding.settings, fakeding.apps(), fakeding.templates()) == before
