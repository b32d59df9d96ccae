"""``mode: "http"``: the platform POSTs each robot message to us, the way a serverless robot runs.

DingTalk signs each POST with headers ``timestamp`` (ms) and ``sign`` = Base64(HMAC-SHA256(
key=appSecret, msg=timestamp + "\\n" + appSecret)); a missing or wrong sign is refused with
401, a timestamp more than an hour off the wall clock (read afresh for every request) with 403.
The sign covers the timestamp only, so a captured one would carry any body for that hour: a
signature seen before is refused as a replay (409) unless it comes again within seconds for
another message (two messages signed in the same millisecond share it). A ``sessionWebhook``
must be on DingTalk's hosts or the configured endpoint, or the robot would POST its answer
wherever a body says. Bodies are read whole, up to ``MAX_BODY`` bytes (413 beyond), and parsed
strictly (``bot.core.strict_json``); every refusal is a JSON error. The answer
must come within the platform's time limit, so the handler only checks, claims the message in
the store and answers ``{}`` ("no reply now"); the cards and webhook replies follow from
background work, whose every step is a progress record in the store.

Card clicks (the feedback buttons) come over HTTP too: a robot without a Stream connection gets
no Stream card callbacks. At start-up the robot registers ``cardCallbackUrl`` (default: its own
address + ``<httpPath>card``) with ``POST /v1.0/card/callbacks/register`` (apiSecret: the app
secret); its cards then carry ``callbackUrl`` (interactive) or ``callbackType: HTTP`` and the
route key (AI cards). A click is signed with headers ``x-ddpaas-signature-timestamp`` (ms) and
``x-ddpaas-signature`` = Base64(HMAC-SHA256(key=apiSecret, msg=timestamp)); it is checked like
a message, recorded by the same ``FeedbackHandler.click`` as a Stream click and answered at
once (an AI card's "You rated ..." for the clicking user is in the answer).

Three ways to host it, sharing ``CallbackEndpoint``:

* ``python -m bot run`` with ``mode: "http"``: ``HttpServer`` listens on
  ``listenHost:httpPort`` (path ``httpPath``) and the robot keeps its usual upkeep (owner
  lease, take-over of orphans, pruning);
* ``make_app(robot)``: an aiohttp application for any aiohttp host (gunicorn's aiohttp
  worker, ``aiohttp.web.run_app``);
* ``AsgiApp``: a plain ASGI callable for serverless platforms. An invocation sends its answer
  first and then, still inside the call, does the long work; afterwards it takes over what
  invocations that were killed or frozen left unfinished (their owner lease ran out), so no
  message stays on "thinking" as long as messages keep coming.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.core import strict_json
from bot.core.incoming import parse_incoming
from bot.errors import StoreError, StoreUnwritable
from bot.im_robots.dingtalk_stream.openapi import OpenApiCallError
from bot.storage.store import Claim

if TYPE_CHECKING:
    from bot.im_robots.dingtalk_stream.handlers import FeedbackHandler, MessageHandler
    from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot

log = logging.getLogger("bot.http")
MAX_SKEW = 3600.0  # seconds a timestamp may be off our clock
MAX_BODY = 1 << 20
MAX_TIMESTAMP_DIGITS = 15  # milliseconds until the year 33658
BODY_TIMEOUT = 30.0  # seconds a request's body may take to arrive whole
IDLE_TIMEOUT = 60.0  # seconds a connection may sit without a whole request head (or idle)
REUSE_WINDOW = 10.0  # seconds a signature may come again, for other messages of its millisecond
REPLAY_MEMORY = 50_000  # signatures remembered at most (real traffic only: forging needs the secret)
# Where DingTalk's session webhooks live (reference: sessionWebhook, hosts of the platform)
DINGTALK_HOSTS = ("oapi.dingtalk.com", "api.dingtalk.com", "api.dingtalk.io")
CARD_TIMESTAMP, CARD_SIGN = "x-ddpaas-signature-timestamp", "x-ddpaas-signature"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def expected_sign(timestamp: str, app_secret: str) -> str:
    digest = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def card_sign(timestamp: str, api_secret: str) -> str:
    digest = hmac.new(api_secret.encode(), timestamp.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_signature(
    headers: Mapping[str, str], app_secret: str, now: float, *, max_skew: float = MAX_SKEW
) -> tuple[int, str] | None:
    """None if the request is the platform's; else the HTTP status and why (pure)."""
    return _check(headers, "timestamp", "sign", expected_sign, app_secret, now, max_skew)


def check_card_signature(
    headers: Mapping[str, str], api_secret: str, now: float, *, max_skew: float = MAX_SKEW
) -> tuple[int, str] | None:
    """The same for a card click, signed with the registered apiSecret (pure)."""
    return _check(headers, CARD_TIMESTAMP, CARD_SIGN, card_sign, api_secret, now, max_skew)


def _check(
    headers: Mapping[str, str],
    ts_name: str,
    sign_name: str,
    signer: Callable[[str, str], str],
    secret: str,
    now: float,
    max_skew: float,
) -> tuple[int, str] | None:
    timestamp, sign = headers.get(ts_name), headers.get(sign_name)
    if not timestamp or not sign:
        missing = " and ".join(n for n, v in ((ts_name, timestamp), (sign_name, sign)) if not v)
        return 401, f"header {missing} missing: expected the platform's signed request"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        return 401, (
            f"header {ts_name} must be milliseconds since the epoch (at most "
            f"{MAX_TIMESTAMP_DIGITS} digits 0-9), found {timestamp[:40]!r}"
            f"{'...' if len(timestamp) > 40 else ''}"
        )
    if not hmac.compare_digest(sign.encode(), signer(timestamp, secret).encode()):
        return 401, f"header {sign_name} does not match {ts_name} and this app's secret"
    skew = int(timestamp) / 1000 - now
    if abs(skew) > max_skew:
        return 403, (
            f"header {ts_name} is {abs(skew):.0f} s "
            f"{'ahead of' if skew > 0 else 'behind'} this robot's clock, more than the "
            f"{max_skew:g} s allowed (a replay?)"
        )
    return None


class ReplayGuard:
    """Signatures seen within the signature window (in memory, per process).

    The platform signs only the timestamp, so messages signed in the same millisecond share a
    signature: a seen signature passes again for another message id within ``reuse`` seconds
    of its first sight, never for the same id, never later."""

    def __init__(
        self, *, keep: float = 2 * MAX_SKEW, reuse: float = REUSE_WINDOW, limit: int = REPLAY_MEMORY
    ) -> None:
        self.keep, self.reuse, self.limit = keep, reuse, limit
        self._seen: OrderedDict[str, tuple[float, set[str]]] = OrderedDict()

    def refusal(self, sign: str, key: str, now: float) -> str | None:
        """None (and ``sign`` remembered with ``key``), or why it is a replay. ``now`` is
        monotonic seconds."""
        while self._seen:
            oldest, (first, _) = next(iter(self._seen.items()))
            if now - first <= self.keep and len(self._seen) < self.limit:
                break
            del self._seen[oldest]
        seen = self._seen.get(sign)
        if seen is None:
            self._seen[sign] = (now, {key})
            return None
        first, keys = seen
        if key in keys:
            return (
                f"replay: this signature already came with {key[:100]} "
                f"{now - first:.0f} s ago; expected a request signed afresh"
            )
        if now - first > self.reuse:
            return (
                f"replay: this signature was first used {now - first:.0f} s ago, for "
                f"another request; a signature is reused only within {self.reuse:g} s"
            )
        keys.add(key)
        return None

    def forget(self, sign: str, key: str) -> None:
        """``key`` was not taken after all (the store could not write): the platform's retry
        of that very request must pass."""
        seen = self._seen.get(sign)
        if seen is not None:
            seen[1].discard(key)
            if not seen[1]:
                del self._seen[sign]


def webhook_refusal(url: str, endpoint: str) -> str | None:
    """None if the robot may POST its answer to ``url`` (a ``sessionWebhook``): https on
    DingTalk's hosts, or the configured endpoint's own scheme, host and port (pure)."""
    try:
        where = urlsplit(url)
        home = urlsplit(endpoint)
        port, home_port = where.port, home.port
    except ValueError:
        where = None
    if where is not None and not where.username and not where.password:
        if where.scheme == "https" and where.hostname in DINGTALK_HOSTS and port in (None, 443):
            return None
        defaults = {"http": 80, "https": 443}
        if (where.scheme, where.hostname, port or defaults.get(where.scheme)) == (
            home.scheme,
            home.hostname,
            home_port or defaults.get(home.scheme),
        ):
            return None
    return (
        f"sessionWebhook {url[:200]!r} is not on DingTalk's hosts (https://"
        f"{', https://'.join(DINGTALK_HOSTS)}) nor this robot's endpoint {endpoint}: "
        "expected the platform's https://oapi.dingtalk.com/robot/sendBySession?session=..."
    )


@dataclass
class Outcome:
    """The HTTP answer and the work it started (to await after answering, or not)."""

    status: int
    body: dict[str, Any]
    work: set[asyncio.Task[Any]] = field(default_factory=set)

    def encoded(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode()


class CallbackEndpoint:
    """The robot's message handler behind one HTTP route, whatever serves it."""

    def __init__(self, robot: DingTalkStreamRobot) -> None:
        self.robot = robot
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handler: MessageHandler | None = None
        self._feedback: FeedbackHandler | None = None
        self._card_url: str | None = None  # registered for card clicks
        self._replays = {"message": ReplayGuard(), "click": ReplayGuard()}

    def ready(self) -> None:
        """Build the robot's core once per event loop (a serverless runtime may run each
        invocation on a new loop; sessions and store connections belong to one)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self.robot.responder is None:
            self.robot.build_core()
            self._loop = loop
            self._handler = self.robot.message_handler()
            self._feedback = self.robot.feedback_handler()
            assert self.robot.api is not None
            self.robot.api.card_callback_url = self._card_url  # a new client, same registration

    async def register(self, url: str) -> None:
        """Have the platform POST card clicks to ``url``; a failure is logged, not fatal (the
        robot still answers messages; cards then carry no HTTP callback)."""
        self.ready()
        assert self.robot.api is not None
        try:
            await self.robot.api.register_card_callback(url)
            self._card_url = url
            log.info("HTTP mode: card clicks go to %s", url)
        except OpenApiCallError as exc:
            log.error("could not register %s for card clicks (%s); votes are not received", url, exc)

    def _signed(
        self, check: Check, headers: Mapping[str, str], raw: bytes, what: str
    ) -> dict[str, Any] | Outcome:
        """The body of a request ``check`` accepts (signed with this app's secret), or the
        refusal to answer. The clock is the wall clock as it is now (a clock corrected since
        start-up counts at once)."""
        self.ready()
        refused = check(headers, self.robot.cfg.client_secret, self.robot.wall())
        return _signed_object(refused, raw, what)

    def _replayed(self, route: str, sign: str, key: str) -> Outcome | None:
        why = self._replays[route].refusal(sign, key, self.robot.clock.monotonic())
        if why is None:
            return None
        log.warning("%s refused (409): %s", route, why)
        return Outcome(409, {"error": why})

    async def accept(self, headers: Mapping[str, str], raw: bytes) -> Outcome:
        robot = self.robot
        data = self._signed(check_signature, headers, raw, "HTTP callback")
        if isinstance(data, Outcome):
            return data
        inc = parse_incoming(data)
        if not inc.msg_id:
            return Outcome(400, {"error": "body has no msgId: expected a robot message"})
        replay_key = f"msgId {inc.msg_id}"
        replayed = self._replayed("message", headers["sign"], replay_key)
        if replayed is not None:
            return replayed
        if inc.webhook is not None:
            bad = webhook_refusal(inc.webhook, robot.cfg.endpoint)
            if bad is not None:
                log.warning("HTTP callback refused (400): %s", bad)
                return Outcome(400, {"error": bad})
        assert robot.storage is not None
        payload = json.dumps(data, ensure_ascii=False)
        try:
            claim = await robot.storage.claim_message_soon(
                inc.dedup_key, msg_id=inc.msg_id, owner=robot.owner, payload=payload
            )
        except StoreUnwritable as exc:  # not taken: the platform may deliver it again
            self._replays["message"].forget(headers["sign"], replay_key)
            robot.store_unwritable(inc.msg_id, exc)
            return Outcome(503, {"error": f"message {inc.msg_id[:100]} not taken: {exc}"})
        except StoreError as exc:  # answering twice beats never answering
            log.error("could not claim message %s (%s); answering it unclaimed", inc.msg_id[:100], exc)
            claim = Claim("new")
        before = set(robot.tasks)
        assert self._handler is not None
        self._handler.handle(inc, claim)  # spawns the answer (synchronously: no interleaving)
        return Outcome(200, {}, robot.tasks - before)

    async def click(self, headers: Mapping[str, str], raw: bytes) -> Outcome:
        """A card click: checked, recorded, answered (the card shows the vote afterwards)."""
        robot = self.robot
        data = self._signed(check_card_signature, headers, raw, "card callback")
        if isinstance(data, Outcome):
            return data
        if CARD_SIGN in headers:  # (unsigned clicks: a card sent with a bare callbackUrl)
            body = hashlib.sha256(raw).hexdigest()[:16]
            replayed = self._replayed("click", headers[CARD_SIGN], f"body {body}")
            if replayed is not None:
                return replayed
        before = set(robot.tasks)
        assert self._feedback is not None
        try:
            answer = self._feedback.click(data)
        except (ValueError, TypeError, AttributeError) as exc:
            return Outcome(
                400, {"error": f"body is not a card callback ({exc}): expected content holding JSON text"}
            )
        return Outcome(200, answer if isinstance(answer, dict) else {}, robot.tasks - before)

    async def upkeep(self) -> set[asyncio.Task[Any]]:
        """Renew this robot's lease and take over orphans; the work it started."""
        self.ready()
        robot = self.robot
        assert robot.storage is not None
        before = set(robot.tasks)
        try:
            await robot.storage.beat(robot.owner, robot.cfg.owner_lease)
            await robot.recover()
        except StoreError as exc:
            log.warning("store upkeep failed: %s", exc)
        return robot.tasks - before


def _signed_object(refused: tuple[int, str] | None, raw: bytes, what: str) -> dict[str, Any] | Outcome:
    """The body of a signed request, or the refusal to answer (pure)."""
    if refused is not None:
        log.warning("%s refused (%d): %s", what, *refused)
        return Outcome(refused[0], {"error": refused[1]})
    try:
        data = strict_json.loads(raw)
    except strict_json.JsonRefused as exc:
        return Outcome(400, {"error": str(exc)})
    if not isinstance(data, dict):
        return Outcome(400, {"error": f"body must be a JSON object, found {type(data).__name__}"})
    return data


Check = Callable[[Mapping[str, str], str, float], "tuple[int, str] | None"]


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


Accept = Callable[[Mapping[str, str], bytes], Awaitable[Outcome]]


async def _aiohttp_handler(accept: Accept, request: web.Request) -> web.Response:
    raw = await read_whole(request)
    outcome = raw if isinstance(raw, Outcome) else await accept(_lower(dict(request.headers)), raw)
    return web.Response(status=outcome.status, body=outcome.encoded(), content_type="application/json")


def _too_large(size: int | str) -> Outcome:
    return Outcome(
        413,
        {"error": f"body larger than {MAX_BODY} bytes ({size}): expected one robot message or card callback"},
    )


async def read_whole(request: web.Request) -> bytes | Outcome:
    """The whole body, however many TCP segments it came in (``content.read(n)`` returns only
    what has arrived so far), up to ``MAX_BODY`` bytes within ``BODY_TIMEOUT`` seconds."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return _too_large(f"Content-Length {length}")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            while chunk := await request.content.read(MAX_BODY + 1 - size):
                size += len(chunk)
                if size > MAX_BODY:
                    return _too_large("more arrived")
                chunks.append(chunk)
    except TimeoutError:
        return Outcome(
            408,
            {
                "error": f"body not complete after {BODY_TIMEOUT:g} s "
                f"({size} bytes arrived): send the whole body"
            },
        )
    return b"".join(chunks)


def routes(app: web.Application, endpoint: CallbackEndpoint, path: str, card_path: str) -> None:
    """Messages at ``path``, card clicks at ``card_path``."""
    for where, accept in ((path, endpoint.accept), (card_path, endpoint.click)):
        app.router.add_post(where, functools.partial(_aiohttp_handler, accept))


def make_app(robot: DingTalkStreamRobot) -> web.Application:
    """An aiohttp application answering the platform's POSTs at ``httpPath`` (card clicks at
    ``<httpPath>card``, registered as ``cardCallbackUrl`` when set); it starts the robot's
    upkeep (lease, orphans, pruning) with the app and drains the robot on cleanup."""
    app = web.Application()
    endpoint = CallbackEndpoint(robot)
    routes(app, endpoint, robot.cfg.http_path, robot.cfg.card_path)
    keeper: list[asyncio.Task[None]] = []

    async def startup(_: web.Application) -> None:
        endpoint.ready()
        if robot.cfg.card_callback_url is not None:
            await endpoint.register(robot.cfg.card_callback_url)
        keeper.append(asyncio.ensure_future(robot._keep()))

    async def cleanup(_: web.Application) -> None:
        for task in keeper:
            task.cancel()
        await robot.aclose()

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app


class HttpServer:
    """``mode: "http"`` under ``robot.run()``: the place of the Stream connection."""

    def __init__(self, robot: DingTalkStreamRobot) -> None:
        self.robot = robot
        self.endpoint = CallbackEndpoint(robot)
        self.connected = asyncio.Event()
        self.url: str | None = None  # the callback URL to register with the platform
        self._stopped: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        cfg = self.robot.cfg
        self._stopped = asyncio.Event()
        self.endpoint.ready()
        app = web.Application()
        routes(app, self.endpoint, cfg.http_path, cfg.card_path)
        # keepalive_timeout also closes a connection whose request head never ends (aiohttp
        # arms it when the connection opens), so no client can hold one forever
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=IDLE_TIMEOUT)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, cfg.listen_host, cfg.http_port).start()
            port = self._runner.addresses[0][1]
            host = "127.0.0.1" if cfg.listen_host in ("0.0.0.0", "::") else cfg.listen_host
            self.url = f"http://{host}:{port}{cfg.http_path}"
            await self.endpoint.register(cfg.card_callback_url or f"http://{host}:{port}{cfg.card_path}")
            self.connected.set()
            log.info("HTTP mode: register %s as the app's message callback URL", self.url)
            await self._stopped.wait()
        finally:
            self.connected.clear()
            await self._runner.cleanup()

    async def stop(self) -> None:
        if self._stopped is not None:
            self._stopped.set()


class AsgiApp:
    """A plain ASGI application (``http`` and ``lifespan`` scopes) for serverless hosts.

    ``AsgiApp(robot)`` or ``asgi_app(instance_dir)``. Each request is answered first; the
    same call then awaits the answer it started and the take-over of orphaned messages, so a
    host that keeps an invocation alive until the call returns finishes every card.
    """

    def __init__(self, robot: DingTalkStreamRobot) -> None:
        self.robot = robot
        self.endpoint = CallbackEndpoint(robot)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"AsgiApp serves http and lifespan scopes, found {scope['type']!r}")
        cfg = self.robot.cfg
        path, method = scope.get("path", "/"), scope.get("method", "GET")
        accept = {cfg.http_path: self.endpoint.accept, cfg.card_path: self.endpoint.click}
        if path not in accept or method != "POST":
            outcome = Outcome(
                404 if path not in accept else 405,
                {"error": f"expected POST {cfg.http_path} (or {cfg.card_path}), found {method} {path}"},
            )
        else:
            raw = await _read_body(receive)
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            outcome = await accept[path](headers, raw) if raw is not None else _too_large("more arrived")
        await send(
            {
                "type": "http.response.start",
                "status": outcome.status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": outcome.encoded()})
        # The platform has its answer; now the long work, inside this invocation.
        work = outcome.work
        if outcome.status == 200:
            work |= await self.endpoint.upkeep()
        if work:
            await asyncio.wait(work)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.endpoint.ready()
                if self.robot.cfg.card_callback_url is not None:
                    await self.endpoint.register(self.robot.cfg.card_callback_url)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.robot.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def asgi_app(
    instance_dir: Path | None = None, *, env: Mapping[str, str] | None = None, **overrides: Any
) -> AsgiApp:
    """The ASGI entry of an instance folder (default: the demo), in ``mode: "http"``."""
    from bot.elements import ELEMENTS_DIR
    from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot

    folder = instance_dir or ELEMENTS_DIR / "imRobots.dingTalkDemo"
    overrides.setdefault("mode", "http")
    return AsgiApp(DingTalkStreamRobot.from_instance(folder, env=env, **overrides))
