"""``CARD_ROUTES``, the one card route table: the HTTP app serves it, the platform checks its
scopes, ``CardStore.call`` dispatches through it, and the recorder names each change by it."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
import requests
from aiohttp import web

from fakeding import FakeDing, ThreadedFakeDing
from fakeding.aio.openapi.robot_settings import CARD_CALLBACK_REGISTER_PATH
from fakeding.core.cards import CARD_ROUTES, CardRoute
from fakeding.core.exceptions import OpenApiError
from fakeding.core.platform import Platform
from fakeding.core.settings import ALL_SCOPES, Settings
from tests.fakeding.card_helpers import (
    APP,
    CLIENT,
    access_token,
    create_body,
    group_delivery,
    make_store,
    send_body,
    stream_body,
)

ROUTES = list(CARD_ROUTES.values())
ROUTE_IDS = [f"{r.method} {r.path}" for r in ROUTES]

# A valid body for each operation, in the order of a card's life (create before deliver...).
VALID_BODIES: dict[str, dict[str, Any]] = {
    "send_interactive": send_body(robotCode=APP),
    "update_interactive": {"cardBizId": "biz-1", "cardData": json.dumps({"v": 2})},
    "create_instance": create_body(),
    "update_instance": {"outTrackId": "track-1", "cardData": {"cardParamMap": {"markdown": "v2"}}},
    "deliver": group_delivery(imGroupOpenDeliverModel={"robotCode": APP}),
    "create_and_deliver": {
        **create_body(outTrackId="track-2"),
        **group_delivery(outTrackId="track-2", imGroupOpenDeliverModel={"robotCode": APP}),
    },
    "stream": stream_body(),
}


def _token(fake: ThreadedFakeDing) -> str:
    return access_token(fake, APP)


def _call(fake: ThreadedFakeDing, route: CardRoute, body: Any, token: str) -> requests.Response:
    return requests.request(
        route.method,
        fake.http_url + route.path,
        json=body,
        timeout=10,
        headers={"x-acs-dingtalk-access-token": token},
    )


def _store_error(route: CardRoute, body: dict[str, Any]) -> OpenApiError:
    with pytest.raises(OpenApiError) as info:
        make_store().call(route, 0.0, CLIENT, body)
    return info.value


def test_the_table_is_keyed_by_its_routes() -> None:
    assert ROUTES and all(key == (r.method, r.path) for key, r in CARD_ROUTES.items())
    assert {r.source for r in ROUTES} == {"send", "update", "create", "deliver", "stream"}
    assert sorted(VALID_BODIES) == sorted(r.operation for r in ROUTES)


def test_the_http_app_registers_exactly_the_card_routes() -> None:
    app = web.Application()
    FakeDing().openapi.add_routes(app)
    registered = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
    }
    card_like = {
        (m, p)
        for m, p in registered
        if ("/card" in p or "interactiveCards" in p) and p != CARD_CALLBACK_REGISTER_PATH
    }  # configures callbacks; no card state
    assert card_like == set(CARD_ROUTES)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_every_card_route_answers_over_http(fakeding: ThreadedFakeDing, route: CardRoute) -> None:
    """An empty body reaches the route's own checks: its error, not DingTalk's 404."""
    r = _call(fakeding, route, {}, _token(fakeding))
    expected = _store_error(route, {})
    assert r.json()["code"] != "InvalidAction.NotFound"
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (
        expected.status,
        expected.code,
        expected.message,
    )
    [record] = [c for c in fakeding.timeline(["api"]) if c["route"] == f"{route.method} {route.path}"]
    assert record["status"] == expected.status
    assert fakeding.timeline(["violation"]) == []


def test_every_card_route_serves_its_operation_and_records_its_source(fakeding: ThreadedFakeDing) -> None:
    token = _token(fakeding)
    for route in ROUTES:
        r = _call(fakeding, route, VALID_BODIES[route.operation], token)
        assert r.status_code == 200, (route, r.text)
    changes = fakeding.timeline(["card.send", "card.update"])
    assert [c["via"] for c in changes] == [r.source for r in ROUTES]
    assert [c["card"] for c in changes] == [
        "biz-1",
        "biz-1",
        "track-1",
        "track-1",
        "track-1",
        "track-2",
        "track-1",
    ]


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_call_dispatches_to_the_named_operation(route: CardRoute) -> None:
    via_call, direct = make_store(), make_store()
    for earlier in ROUTES[: ROUTES.index(route)]:
        via_call.call(earlier, 0.0, CLIENT, VALID_BODIES[earlier.operation])
        getattr(direct, earlier.operation)(0.0, CLIENT, VALID_BODIES[earlier.operation])
    card, out = via_call.call(route, 1.0, CLIENT, VALID_BODIES[route.operation])
    twin, twin_out = getattr(direct, route.operation)(1.0, CLIENT, VALID_BODIES[route.operation])
    assert (card.id, out) == (twin.id, twin_out)
    assert [(v.t, v.source, v.card_data) for v in card.versions] == [
        (v.t, v.source, v.card_data) for v in twin.versions
    ]
    assert card.versions[-1].t == 1.0


def test_routes_that_share_a_path_share_a_scope() -> None:
    scopes: dict[str, set[str]] = defaultdict(set)
    for route in ROUTES:
        scopes[route.path].add(route.scope)
    assert all(len(found) == 1 for found in scopes.values()), scopes
    assert {r.scope for r in ROUTES} <= ALL_SCOPES


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_every_card_route_needs_its_scope(route: CardRoute) -> None:
    platform = Platform(Settings())
    full = platform.add_app("full", "s")
    narrow = platform.add_app("narrow", "s", scopes=ALL_SCOPES - {route.scope})
    platform.check_scope(full, route.path)
    with pytest.raises(OpenApiError) as info:
        platform.check_scope(narrow, route.path)
    # the real platform hides a missing card scope behind 500 unknownError
    expected = 500 if route.scope.startswith("Card.") else 403
    assert info.value.status == expected and route.scope in info.value.message
