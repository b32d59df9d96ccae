"""The control API and the emulator accept only their own origin, JSON writes, a Host they
serve, and (beyond loopback) their token — with real HTTP requests shaped as a hostile page,
a DNS-rebinding page and a stranger on the network would send them."""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fakeding import FakeDing, ThreadedFakeDing
from fakeding.aio.control_guard import check, check_host, is_loopback
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings

MESSAGE = {
    "conversation": {"id": "cidSec", "type": "group"},
    "sender": {"staffId": "eve"},
    "text": "injected",
    "atBot": False,
}
EVIL = "http://attacker.example"


def _raw(
    fake: ThreadedFakeDing,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One request exactly as given (http.client adds only Host, unless one is given)."""
    conn = http.client.HTTPConnection("127.0.0.1", fake.fake.http_port, timeout=10)
    try:
        hdrs = dict(headers or {})
        conn.putrequest(method, path, skip_host="Host" in hdrs, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        ctype = r.getheader("Content-Type") or ""
        return r.status, (json.loads(data) if "json" in ctype else data)
    finally:
        conn.close()


def _nothing_happened(fake: ThreadedFakeDing) -> None:
    assert fake.timeline() == [] and fake.transcript() == []


# -- cross-site writes ----------------------------------------------------------------------------

CROSS_SITE = [
    pytest.param({"Origin": EVIL, "Content-Type": "text/plain"}, "Origin", id="text-plain-origin"),
    pytest.param({"Origin": EVIL, "Content-Type": "application/json"}, "Origin", id="json-origin"),
    pytest.param({"Origin": "null", "Content-Type": "application/json"}, "Origin", id="null-origin"),
    pytest.param(
        {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"},
        "Sec-Fetch-Site",
        id="fetch-cross-site",
    ),
    pytest.param(
        {"Sec-Fetch-Site": "same-site", "Content-Type": "application/json"},
        "Sec-Fetch-Site",
        id="fetch-same-site",
    ),
    pytest.param({"Content-Type": "text/plain"}, "Content-Type", id="text-plain"),
    pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, "Content-Type", id="form"),
    pytest.param({"Content-Type": "multipart/form-data; boundary=x"}, "Content-Type", id="multipart"),
    pytest.param({}, "Content-Type", id="no-type"),
]


@pytest.mark.parametrize(("headers", "field"), CROSS_SITE)
def test_a_foreign_page_cannot_inject_a_message(
    fakeding: ThreadedFakeDing, headers: dict[str, str], field: str
) -> None:
    status, body = _raw(fakeding, "POST", "/_fakeding/messages", json.dumps(MESSAGE).encode(), headers)
    assert status in (403, 415) and body["field"] == field, body
    assert body["error"].startswith(f"{field}: expected")
    if field in ("Origin", "Sec-Fetch-Site"):
        assert "must come from the emulator's own origin or a non-browser client" in body["error"]
    else:
        assert "application/json" in body["error"]
    _nothing_happened(fakeding)


def test_a_foreign_page_cannot_reset_change_settings_or_swap_an_app_secret(
    fakeding: ThreadedFakeDing,
) -> None:
    fakeding.send_message("kept", conversation_id="cidKeep", at_bot=False)
    before = fakeding.timeline()
    attacks = [
        ("POST", "/_fakeding/reset", b"{}"),
        ("PATCH", "/_fakeding/settings", b'{"qps_limit": 0}'),
        ("POST", "/_fakeding/settings", b'{"qps_limit": 0}'),
        (
            "POST",
            "/_fakeding/apps",
            json.dumps({"clientId": DEFAULT_CLIENT_ID, "clientSecret": "stolen"}).encode(),
        ),
        ("POST", "/_fakeding/faults", b'{"kind": "expire_token"}'),
        ("POST", "/_fakeding/push", b'{"topic": "/v1.0/x", "data": {}}'),
    ]
    for method, path, raw in attacks:
        for headers in (
            {"Origin": EVIL, "Content-Type": "text/plain"},
            {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},
        ):
            status, body = _raw(fakeding, method, path, raw, headers)
            assert status == 403, (method, path, body)
    assert fakeding.timeline() == before
    assert fakeding.settings.qps_limit == Settings().qps_limit
    r = requests.post(
        f"{fakeding.http_url}/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    )
    assert r.status_code == 200 and r.json()["accessToken"]  # the robot's secret still works


def test_a_foreign_page_cannot_follow_the_live_stream(fakeding: ThreadedFakeDing) -> None:
    status, body = _raw(
        fakeding,
        "GET",
        "/_fakeding/events",
        headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Accept": "text/event-stream"},
    )
    assert status == 403 and body["field"] == "Sec-Fetch-Site"


def test_the_emulator_itself_and_plain_clients_keep_working(fakeding: ThreadedFakeDing) -> None:
    own = f"http://127.0.0.1:{fakeding.fake.http_port}"
    status, body = _raw(
        fakeding,
        "POST",
        "/_fakeding/messages",
        json.dumps(MESSAGE).encode(),
        {"Origin": own, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json; charset=utf-8"},
    )
    assert status == 200 and body["delivered"] is False
    status, _ = _raw(fakeding, "POST", "/_fakeding/reset")  # curl -X POST: no body, no type
    assert status == 200
    r = requests.post(fakeding.http_url + "/_fakeding/messages", json=MESSAGE, timeout=10)
    assert r.status_code == 200  # requests, as scripts and the SDK helpers send
    status, _ = _raw(fakeding, "GET", "/_fakeding/timeline", headers={"Sec-Fetch-Site": "none"})
    assert status == 200  # typed into the address bar
    # a link from another site may open the page (not the API behind it)
    status, page = _raw(fakeding, "GET", "/", headers={"Sec-Fetch-Site": "cross-site"})
    assert status == 200 and b"<html" in page.lower()


# -- Host: DNS rebinding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example:{port}",
        "attacker.example",
        "127.0.0.1.nip.io:{port}",
        "localhost:1",
        "127.0.0.1",
        "localhost:{port}x",
        "[::1:{port}",
        "",
    ],
)
def test_a_rebinding_host_cannot_read_or_write(fakeding: ThreadedFakeDing, host: str) -> None:
    value = host.format(port=fakeding.fake.http_port)
    fakeding.send_message("secret plans", conversation_id="cidHost", at_bot=False)
    for method, path in (
        ("GET", "/_fakeding/timeline"),
        ("GET", "/_fakeding/conversations/cidHost"),
        ("GET", "/_fakeding/events"),
        ("GET", "/"),
        ("POST", "/_fakeding/reset"),
    ):
        status, body = _raw(fakeding, method, path, headers={"Host": value})
        assert status == 403 and body["field"] == "Host", (path, body)
        assert body["error"].startswith("Host: expected a host this fake serves (127.0.0.1:")
        assert "secret plans" not in str(body)
    assert len(fakeding.timeline()) == 1


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}", "127.0.0.2:{port}"]
)
def test_the_hosts_the_fake_serves_are_accepted(fakeding: ThreadedFakeDing, host: str) -> None:
    status, body = _raw(
        fakeding, "GET", "/_fakeding/health", headers={"Host": host.format(port=fakeding.fake.http_port)}
    )
    assert status == 200 and body == {"status": "ok"}


def test_dingtalk_routes_are_not_guarded(fakeding: ThreadedFakeDing) -> None:
    """Robots never change: the gateway and OpenAPI answer under any Host, from any origin."""
    status, body = _raw(
        fakeding,
        "POST",
        "/v1.0/oauth2/accessToken",
        json.dumps({"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET}).encode(),
        {"Host": "api.dingtalk.com", "Origin": EVIL, "Content-Type": "application/json"},
    )
    assert status == 200 and body["accessToken"]


# -- the token --------------------------------------------------------------------------------


@pytest.fixture
def guarded_fake() -> Iterator[ThreadedFakeDing]:
    with ThreadedFakeDing(control_token="t0ken-for-tests") as fake:
        yield fake


def test_a_token_protected_fake_wants_its_token_on_every_control_request(
    guarded_fake: ThreadedFakeDing,
) -> None:
    url = guarded_fake.http_url
    r = requests.post(url + "/_fakeding/messages", json=MESSAGE, timeout=10)
    assert r.status_code == 401 and r.json()["field"] == "Authorization"
    assert "expected this fake's control token" in r.json()["error"]
    assert "Authorization: Bearer TOKEN" in r.json()["error"]
    r = requests.get(url + "/_fakeding/timeline", timeout=10, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and "does not match" in r.json()["error"]
    assert "t0ken-for-tests" not in r.text
    assert guarded_fake.timeline() == []
    r = requests.post(
        url + "/_fakeding/messages",
        json=MESSAGE,
        timeout=10,
        headers={"Authorization": "Bearer t0ken-for-tests"},
    )
    assert r.status_code == 200
    r = requests.get(url + "/_fakeding/timeline", timeout=10, headers={"X-Fakeding-Token": "t0ken-for-tests"})
    assert r.status_code == 200 and len(r.json()) == 1
    # the page and its files load without it (the page then sends it); so does health
    for path in ("/", "/_fakeding/web/app.js", "/_fakeding/health"):
        assert requests.get(url + path, timeout=10).status_code == 200, path
    # the DingTalk side does not know about it
    r = requests.post(
        url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    )
    assert r.status_code == 200


def test_a_fake_beyond_loopback_makes_a_token_and_loopback_needs_none() -> None:
    assert FakeDing(Settings(host="127.0.0.1")).control_token is None
    assert FakeDing(Settings(host="localhost")).control_token is None
    made = {FakeDing(Settings(host=h)).control_token for h in ("0.0.0.0", "::", "192.168.1.5")}
    assert None not in made and len(made) == 3 and all(len(t or "") >= 24 for t in made)
    assert FakeDing(Settings(host="0.0.0.0"), control_token="mine").control_token == "mine"
    assert [is_loopback(h) for h in ("127.0.0.9", "::1", "[::1]", "0.0.0.0", "example.com")] == [
        True,
        True,
        True,
        False,
        False,
    ]


# -- the pure rules -------------------------------------------------------------------------


def test_hosts_under_a_wildcard_bind_or_a_name() -> None:
    def ok(value: str, bound: str = "0.0.0.0") -> bool:
        return check_host(value, bound=bound, port=8080, scheme="http") is None

    assert ok("192.168.1.5:8080") and ok("[fe80::1]:8080") and ok("localhost:8080")
    assert not ok("myhost.lan:8080") and ok("myhost.lan:8080", bound="myhost.lan")
    assert not ok("192.168.1.5:8081") and not ok("192.168.1.5")
    assert check_host("127.0.0.1", bound="127.0.0.1", port=80, scheme="http") is None
    assert check_host("127.0.0.1", bound="127.0.0.1", port=443, scheme="https") is None


def test_a_huge_origin_is_not_echoed_whole() -> None:
    refusal = check(
        "POST",
        "/_fakeding/reset",
        {"Host": "127.0.0.1:1", "Origin": "x" * 100_000},
        scheme="http",
        bound="127.0.0.1",
        port=1,
        token=None,
        has_body=False,
    )
    assert refusal is not None and refusal.field == "Origin" and len(refusal.error) < 500


# -- every route, as the app has them (a route added later is covered too) ---------------------


def _guarded_routes(fake: ThreadedFakeDing) -> list[tuple[str, str]]:
    app = fake.fake.web_app
    assert app is not None
    out = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter", "")
        if route.method in ("HEAD", "*") or not (path == "/" or path.startswith("/_fakeding/")):
            continue
        out.append(
            (
                route.method,
                path.replace("{card_id}", "c1").replace("{cid}", "cidX").replace("{name}", "app.js"),
            )
        )
    return sorted(set(out))


def test_every_control_route_refuses_foreign_origins_rebinding_hosts_and_plain_text(
    fakeding: ThreadedFakeDing,
) -> None:
    fakeding.send_message("kept", conversation_id="cidKeep", at_bot=False)
    before = (fakeding.timeline(), fakeding.settings, fakeding.apps())
    routes = _guarded_routes(fakeding)
    assert ("POST", "/_fakeding/messages") in routes and ("GET", "/_fakeding/events") in routes
    assert len(routes) >= 20, routes
    body = json.dumps({"text": "x"}).encode()
    for method, path in routes:
        write = method in ("POST", "PATCH", "PUT", "DELETE")
        navigation = method == "GET" and path in ("/", "/favicon.ico")
        attempts: list[tuple[dict[str, str], str]] = [
            ({"Host": f"rebind.attacker.example:{fakeding.fake.http_port}"}, "Host")
        ]
        if not navigation:
            attempts += [
                ({"Origin": EVIL, "Content-Type": "application/json"}, "Origin"),
                ({"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}, "Sec-Fetch-Site"),
            ]
        if write:
            attempts.append(({"Content-Type": "text/plain"}, "Content-Type"))
        for headers, field in attempts:
            status, answer = _raw(fakeding, method, path, body if write else None, headers)
            assert status in (403, 415), (method, path, headers, status)
            assert answer["field"] == field and answer["error"].startswith(f"{field}: expected")
    assert (fakeding.timeline(), fakeding.settings, fakeding.apps()) == before


# -- errors never echo a huge value whole ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/_fakeding/messages", {"conversation": "x" * 900_000}, "conversation"),
        ("POST", "/_fakeding/settings", {"qps_limit": "y" * 900_000}, "qps_limit"),
        ("PATCH", "/_fakeding/settings", {"qps_limit": "y" * 900_000}, "qps_limit"),
        ("POST", "/_fakeding/faults", {"kind": "z" * 900_000}, "kind"),
        ("POST", "/_fakeding/apps", {"clientId": "a", "clientSecret": ["q" * 900_000]}, "clientSecret"),
        ("POST", "/_fakeding/reset", {"seed": "s" * 900_000}, "seed"),
    ],
)
def test_a_900_kb_value_is_not_echoed_in_a_control_error(
    fakeding: ThreadedFakeDing, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    r = requests.request(method, fakeding.http_url + path, json=body, timeout=10)
    assert r.status_code == 400 and r.json()["field"] == field
    error = r.json()["error"]
    # the value is clipped where it is quoted (saying how big it was), or the message around it
    assert len(error) <= 1100 and re.search(r"characters cut|\(90000\d (bytes|chars)\)", error), len(error)
    assert error.startswith(f"{field}: expected"), error[:200]


def test_header_bytes_that_are_not_utf8_are_refused_in_words(guarded_fake: ThreadedFakeDing) -> None:
    """A token, Origin, Host or type header of raw bytes is a 4xx naming it, never a 500."""
    port = guarded_fake.fake.http_port
    base = b"Host: 127.0.0.1:%d\r\nContent-Type: application/json\r\n" % port
    cases = [
        (base + b"Authorization: Bearer \xff\xfe\r\n", 401, "Authorization"),
        (base + b"X-Fakeding-Token: \xed\xa0\xbd\r\n", 401, "Authorization"),
        (base + b"Origin: http://\xff\r\n", 403, "Origin"),
        (b"Host: \xff:%d\r\n" % port, 403, "Host"),
        (b"Host: 127.0.0.1:%d\r\nContent-Type: \xff\r\n" % port, 415, "Content-Type"),
    ]
    for head, status, field in cases:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /_fakeding/reset HTTP/1.1\r\n"
                + head
                + b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
            )
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        head_line, _, body = raw.partition(b"\r\n\r\n")
        assert head_line.startswith(b"HTTP/1.1 %d" % status), raw[:200]
        assert json.loads(body)["field"] == field
