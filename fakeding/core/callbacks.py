"""HTTP callbacks: the platform POSTing to a robot's URL instead of pushing over Stream.

Two kinds, both documented by DingTalk: robot messages of an app in HTTP mode (headers
``timestamp`` and ``sign`` = Base64(HMAC-SHA256(key=appSecret, msg=timestamp + "\\n" +
appSecret))), and clicks on cards created with ``callbackType: HTTP`` (headers
``x-ddpaas-signature-timestamp`` and ``x-ddpaas-signature`` = Base64(HMAC-SHA256(key=apiSecret,
msg=timestamp))). The signing and the judging of answers are pure functions here; ``post_json``,
the one I/O edge, is in ``fakeding.aio.http_post``. Targets must be loopback: the fake never calls
out of the machine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakeding.core import jsonsafe
from fakeding.core.exceptions import ConfigError

LOOPBACK_NAMES = ("localhost",)


def loopback_url(url: Any, field: str) -> str:
    """``url`` if it is an http(s) URL on this machine; ``ConfigError`` naming ``field`` else."""
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{field}: expected an http:// URL on 127.0.0.1, found {jsonsafe.echo(url)}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{field}: expected an http:// or https:// URL, found {jsonsafe.echo(url)}")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host in LOOPBACK_NAMES
    if not loopback:
        raise ConfigError(
            f"{field}: the fake calls back only to loopback (127.0.0.1, ::1, "
            f"localhost), found host {jsonsafe.echo(host)} in {jsonsafe.echo(url)}"
        )
    return url


def robot_sign(timestamp: str, app_secret: str) -> str:
    """The ``sign`` header of an HTTP-mode robot message."""
    digest = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def card_sign(timestamp: str, api_secret: str) -> str:
    """The ``x-ddpaas-signature`` header of an HTTP card callback."""
    digest = hmac.new(api_secret.encode(), timestamp.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def robot_headers(timestamp_ms: int, app_secret: str) -> dict[str, str]:
    ts = str(timestamp_ms)
    return {"timestamp": ts, "sign": robot_sign(ts, app_secret)}


def card_headers(timestamp_ms: int, api_secret: str) -> dict[str, str]:
    ts = str(timestamp_ms)
    return {"x-ddpaas-signature-timestamp": ts, "x-ddpaas-signature": card_sign(ts, api_secret)}


def session_key(webhook_url: str) -> str | None:
    """The session a message's ``sessionWebhook`` names (its ``session`` query value)."""
    values = parse_qs(urlsplit(webhook_url).query).get("session")
    return values[0] if values else None


@dataclass(frozen=True)
class Answer:
    """What a robot's HTTP answer means: a reply body (or None) and, if wrong, why."""

    reply: dict[str, Any] | None
    problem: str | None = None


def judge(status: int, raw: bytes, *, what: str) -> Answer:
    """A 2xx answer with an empty body or a JSON object is fine; anything else is a problem."""
    if not 200 <= status < 300:
        return Answer(None, f"{what} answered HTTP {status}, expected 2xx")
    if not raw.strip():
        return Answer(None)
    try:
        body = jsonsafe.loads(raw)
    except jsonsafe.BadJson as exc:
        return Answer(
            None, f"{what} answered a body that is not JSON ({exc}); expected an empty body or a JSON object"
        )
    if not isinstance(body, dict):
        return Answer(None, f"{what} answered {type(body).__name__} JSON, expected an object")
    return Answer(body if body else None)


ANSWER_MAX_BYTES = 1 << 20  # a callback answer is read to this much, in chunks, never whole


@dataclass(frozen=True)
class Response:
    """What a callback target answered, as far as the platform reads it."""

    status: int
    body: bytes  # at most ``ANSWER_MAX_BYTES``
    location: str | None = None  # a redirect's target: recorded, never followed
    oversized: str | None = None  # why the body was not read to its end, if it was not


def redirect_problem(response: Response, *, what: str) -> str | None:
    """A 3xx is the robot's answer (the platform never follows one): why it is wrong."""
    if not 300 <= response.status < 400:
        return None
    where = f" to {response.location}" if response.location else ""
    return (
        f"{what} answered HTTP {response.status} (a redirect{where}); the platform does not "
        "follow redirects and re-sends nothing: answer 2xx at the registered URL"
    )
