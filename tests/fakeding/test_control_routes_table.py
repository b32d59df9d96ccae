"""The control routes are one table (``fakeding.core.control_spec.ROUTES``): it registers them,
so what is served is what is documented; a handler without a row (or a row without its
handler) stops the app from being built."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from fakeding import ThreadedFakeDing
from fakeding.core.control_spec import ROUTES, document, register


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
