"""Who may drive the control API (``/_fakeding/...``) and the emulator page.

Why: the control API injects messages, changes settings, re-registers apps and resets; a
browser on the same machine will send requests to it on behalf of any web page it shows. So:

- ``Host`` must be one the fake serves (an IP address, ``localhost`` or the configured host,
  with the fake's port): a DNS-rebinding page under its own name cannot even read.
- A browser request must come from the fake's own origin (``Origin``, ``Sec-Fetch-Site``);
  clients that send neither (curl, the CLI, SDKs, ThreadedFakeDing) are not browsers.
- Writes carry ``application/json`` (no cross-site "simple" text/plain or form POST).
- A fake bound beyond loopback also wants its token (``Authorization: Bearer TOKEN`` or
  ``X-Fakeding-Token``); the page, its files and ``health`` stay open so the page can load.

The DingTalk-facing routes (gateway, OpenAPI, session webhooks) are never guarded: robots do
not change. ``check`` is pure; ``guard`` is the thin aiohttp edge.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OWN_SITE = frozenset({"same-origin", "none"})  # ``none``: the user typed or bookmarked it
# What a browser must be able to load without a token: the page, its files, a liveness probe.
OPEN_PATHS = frozenset({"/", "/favicon.ico", "/_fakeding/health"})
TOKEN_HEADER = "X-Fakeding-Token"
FIX_ORIGIN = (
    "requests to the control API must come from the emulator's own origin or a "
    "non-browser client (curl, the CLI, the SDKs, ThreadedFakeDing)"
)


class Served(Protocol):
    """What the guard needs of the fake (``fakeding.server.FakeDing`` is one)."""

    http_port: int
    control_token: str | None

    @property
    def settings(self) -> Any: ...


@dataclass(frozen=True)
class Refusal:
    status: int
    field: str
    error: str

    def body(self) -> dict[str, str]:
        return {"error": self.error, "field": self.field}


def is_loopback(host: str) -> bool:
    """True for a bind address only this machine reaches (``localhost``, 127.0.0.0/8, ::1)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def guarded(path: str) -> bool:
    return path == "/" or path.startswith("/_fakeding/")


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``name:port`` / ``[v6]:port`` / ``name`` -> (lower-case name, port); None if malformed."""
    if value.startswith("["):
        name, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    else:
        name, sep, port_text = value.rpartition(":")
        if not sep:
            name, port_text = value, None
    if port_text is not None and not (port_text.isascii() and port_text.isdigit()):
        return None
    return name.lower(), int(port_text) if port_text is not None else None


@functools.lru_cache(maxsize=64)  # every guarded request asks about its Host and the bind
def _ip(name: str) -> bool:
    """Whether ``name`` is an IP literal; bounded, as Host is whatever a client sends."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _short(value: str) -> str:
    return repr(value if len(value) <= 100 else value[:100] + "...")


def check_host(value: str | None, *, bound: str, port: int, scheme: str) -> Refusal | None:
    """An IP literal (it cannot be rebound), ``localhost`` or the configured host, at our port."""
    default = 443 if scheme == "https" else 80
    parsed = _split_host(value or "")
    if parsed is not None:
        name, given = parsed
        known = _ip(name) or name in ("localhost", bound.lower().strip("[]"))
        if known and (given if given is not None else default) == port:
            return None
    served = f"127.0.0.1:{port}, localhost:{port}, [::1]:{port}" + (
        f" or {bound}:{port}" if not _ip(bound.strip("[]")) and bound.lower() != "localhost" else ""
    )
    return Refusal(
        403,
        "Host",
        f"Host: expected a host this fake serves ({served}), found "
        f"{_short(value or '')}; open the control API and the emulator "
        f"by that address, not under another name (DNS rebinding is "
        f"refused)",
    )


def check(
    method: str,
    path: str,
    headers: Mapping[str, str],
    *,
    scheme: str,
    bound: str,
    port: int,
    token: str | None,
    has_body: bool,
) -> Refusal | None:
    """Why this request to a guarded path is refused, or None when it may go on."""
    host = headers.get("Host")
    refusal = check_host(host, bound=bound, port=port, scheme=scheme)
    if refusal is not None:
        return refusal
    navigation = method == "GET" and path in ("/", "/favicon.ico")  # a link may open the page
    site = headers.get("Sec-Fetch-Site")
    if not navigation and site is not None and site.lower() not in OWN_SITE:
        return Refusal(
            403, "Sec-Fetch-Site", f"Sec-Fetch-Site: expected same-origin, found {_short(site)}; {FIX_ORIGIN}"
        )
    origin = headers.get("Origin")
    own = f"{scheme}://{host}".lower()
    if not navigation and origin is not None and origin.lower() != own:
        return Refusal(
            403,
            "Origin",
            f"Origin: expected {own} (the emulator's own origin), found {_short(origin)}; {FIX_ORIGIN}",
        )
    if method in WRITES:
        ctype = headers.get("Content-Type")
        mime = (ctype or "").partition(";")[0].strip().lower()
        if (ctype is not None or has_body) and mime != "application/json":
            return Refusal(
                415,
                "Content-Type",
                f"Content-Type: expected application/json, "
                f"found {_short(ctype or '(none)')}; send the "
                f"body as JSON with that header (curl: --json "
                f"BODY, or -H 'Content-Type: application/json')",
            )
    if token is not None and path not in OPEN_PATHS and not path.startswith("/_fakeding/web/"):
        return _check_token(headers, token)
    return None


def _check_token(headers: Mapping[str, str], token: str) -> Refusal | None:
    auth = headers.get("Authorization", "")
    sent = auth[7:].strip() if auth[:7].lower() == "bearer " else headers.get(TOKEN_HEADER)
    how = (
        f"send it as 'Authorization: Bearer TOKEN' or '{TOKEN_HEADER}: TOKEN' (the token "
        f"`fakeding serve` printed, or --control-token); open the emulator as /?token=TOKEN"
    )
    if not sent:
        return Refusal(
            401,
            "Authorization",
            f"Authorization: expected this fake's control "
            f"token (it serves beyond loopback), found none; "
            f"{how}",
        )
    # Header bytes that are not UTF-8 arrive as surrogates: compare bytes, never raise.
    if not hmac.compare_digest(
        sent.encode("utf-8", "surrogateescape"), token.encode("utf-8", "surrogateescape")
    ):
        return Refusal(
            401, "Authorization", f"Authorization: the control token sent does not match this fake's; {how}"
        )
    return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def guard(fake: Served) -> Any:
    """The aiohttp middleware; refusals are JSON ``{"error", "field"}`` and never recorded."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if guarded(request.path):
            refusal = check(
                request.method,
                request.path,
                request.headers,
                scheme=request.scheme,
                bound=fake.settings.host,
                port=fake.http_port,
                token=fake.control_token,
                has_body=request.body_exists,
            )
            if refusal is not None:
                return web.Response(
                    status=refusal.status,
                    content_type="application/json",
                    text=json.dumps(refusal.body(), ensure_ascii=False),
                )
        return await handler(request)

    return middleware
