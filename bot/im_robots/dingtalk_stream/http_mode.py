"""``mode: "http"``: the platform POSTs each robot message to us, the way a serverless robot runs.

DingTalk signs each POST with headers ``timestamp`` (ms) and ``sign`` = Base64(HMAC-SHA256(
key=appSecret, msg=timestamp + "\\n" + appSecret)); a missing or wrong sign is refused with
401, a timestamp more than an hour off our clock with 403 (a replayed request). The answer
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
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ...core.incoming import parse_incoming
from ...errors import StoreError
from ...store import Claim
from .openapi import OpenApiCallError

if TYPE_CHECKING:
    from .handlers import FeedbackHandler, MessageHandler
    from .robot import DingTalkStreamRobot

log = logging.getLogger("bot.http")
MAX_SKEW = 3600.0  # seconds a timestamp may be off our clock
MAX_BODY = 1 << 20
CARD_TIMESTAMP, CARD_SIGN = "x-ddpaas-signature-timestamp", "x-ddpaas-signature"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def expected_sign(timestamp: str, app_secret: str) -> str:
    digest = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def card_sign(timestamp: str, api_secret: str) -> str:
    digest = hmac.new(api_secret.encode(), timestamp.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_signature(headers: Mapping[str, str], app_secret: str, now: float, *,
                    max_skew: float = MAX_SKEW) -> tuple[int, str] | None:
    """None if the request is the platform's; else the HTTP status and why (pure)."""
    return _check(headers, "timestamp", "sign", expected_sign, app_secret, now, max_skew)


def check_card_signature(headers: Mapping[str, str], api_secret: str, now: float, *,
                         max_skew: float = MAX_SKEW) -> tuple[int, str] | None:
    """The same for a card click, signed with the registered apiSecret (pure)."""
    return _check(headers, CARD_TIMESTAMP, CARD_SIGN, card_sign, api_secret, now, max_skew)


def _check(headers: Mapping[str, str], ts_name: str, sign_name: str,
           signer: Callable[[str, str], str], secret: str, now: float,
           max_skew: float) -> tuple[int, str] | None:
    timestamp, sign = headers.get(ts_name), headers.get(sign_name)
    if not timestamp or not sign:
        missing = " and ".join(n for n, v in ((ts_name, timestamp), (sign_name, sign))
                               if not v)
        return 401, f"header {missing} missing: expected the platform's signed request"
    if not timestamp.isdigit():
        return 401, f"header {ts_name} must be milliseconds since the epoch, found {timestamp!r}"
    if not hmac.compare_digest(sign.encode(), signer(timestamp, secret).encode()):
        return 401, f"header {sign_name} does not match {ts_name} and this app's secret"
    skew = int(timestamp) / 1000 - now
    if abs(skew) > max_skew:
        return 403, (f"header {ts_name} is {abs(skew):.0f} s "
                     f"{'ahead of' if skew > 0 else 'behind'} this robot's clock, more than the "
                     f"{max_skew:g} s allowed (a replay?)")
    return None


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
            log.error("could not register %s for card clicks (%s); votes are not received",
                      url, exc)

    def _signed(self, check: Check, headers: Mapping[str, str], raw: bytes,
                what: str) -> dict[str, Any] | Outcome:
        """The body of a request ``check`` accepts (signed with this app's secret), or the
        refusal to answer."""
        self.ready()
        refused = check(headers, self.robot.cfg.client_secret, self.robot.clock.time())
        return _signed_object(refused, raw, what)

    async def accept(self, headers: Mapping[str, str], raw: bytes) -> Outcome:
        robot = self.robot
        data = self._signed(check_signature, headers, raw, "HTTP callback")
        if isinstance(data, Outcome):
            return data
        inc = parse_incoming(data)
        if not inc.msg_id:
            return Outcome(400, {"error": "body has no msgId: expected a robot message"})
        assert robot.storage is not None
        payload = json.dumps(data, ensure_ascii=False)
        claim = robot.storage.claim_message_now(inc.dedup_key, msg_id=inc.msg_id,
                                                owner=robot.owner, payload=payload)
        if claim is None:
            try:
                claim = await robot.storage.claim_message(inc.dedup_key, msg_id=inc.msg_id,
                                                          owner=robot.owner, payload=payload)
            except StoreError as exc:  # answering twice beats never answering
                log.error("could not claim message %s (%s); answering it unclaimed",
                          inc.msg_id, exc)
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
        before = set(robot.tasks)
        assert self._feedback is not None
        try:
            answer = self._feedback.click(data)
        except (ValueError, TypeError, AttributeError) as exc:
            return Outcome(400, {"error": f"body is not a card callback ({exc}): expected "
                                          "content holding JSON text"})
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


def _signed_object(refused: tuple[int, str] | None, raw: bytes,
                   what: str) -> dict[str, Any] | Outcome:
    """The body of a signed request, or the refusal to answer (pure)."""
    if refused is not None:
        log.warning("%s refused (%d): %s", what, *refused)
        return Outcome(refused[0], {"error": refused[1]})
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return Outcome(400, {"error": f"body is not JSON ({exc})"})
    if not isinstance(data, dict):
        return Outcome(400, {"error": f"body must be a JSON object, found "
                                      f"{type(data).__name__}"})
    return data


Check = Callable[[Mapping[str, str], str, float], "tuple[int, str] | None"]


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


Accept = Callable[[Mapping[str, str], bytes], Awaitable[Outcome]]


async def _aiohttp_handler(accept: Accept, request: web.Request) -> web.Response:
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return web.json_response({"error": f"body larger than {MAX_BODY} bytes"}, status=413)
    outcome = await accept(_lower(dict(request.headers)), raw)
    return web.Response(status=outcome.status, body=outcome.encoded(),
                        content_type="application/json")


def routes(app: web.Application, endpoint: CallbackEndpoint, path: str,
           card_path: str) -> None:
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
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, cfg.listen_host, cfg.http_port).start()
            port = self._runner.addresses[0][1]
            host = "127.0.0.1" if cfg.listen_host in ("0.0.0.0", "::") else cfg.listen_host
            self.url = f"http://{host}:{port}{cfg.http_path}"
            await self.endpoint.register(cfg.card_callback_url
                                         or f"http://{host}:{port}{cfg.card_path}")
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
            outcome = Outcome(404 if path not in accept else 405,
                              {"error": f"expected POST {cfg.http_path} (or {cfg.card_path}), "
                                        f"found {method} {path}"})
        else:
            raw = await _read_body(receive)
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope.get("headers", [])}
            outcome = await accept[path](headers, raw) if raw is not None else \
                Outcome(413, {"error": f"body larger than {MAX_BODY} bytes"})
        await send({"type": "http.response.start", "status": outcome.status,
                    "headers": [(b"content-type", b"application/json")]})
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


def asgi_app(instance_dir: Path | None = None, *, env: Mapping[str, str] | None = None,
             **overrides: Any) -> AsgiApp:
    """The ASGI entry of an instance folder (default: the demo), in ``mode: "http"``."""
    from ...elements import ELEMENTS_DIR
    from .robot import DingTalkStreamRobot

    folder = instance_dir or ELEMENTS_DIR / "imRobots.dingTalkDemo"
    overrides.setdefault("mode", "http")
    return AsgiApp(DingTalkStreamRobot.from_instance(folder, env=env, **overrides))
