"""The robot's HTTP-mode endpoint, free of any server: signatures, replay guard, webhook checks
and ``CallbackEndpoint`` (a POST's headers and body in, an ``Outcome`` out). Its hosts are
``http_aiohttp`` (``HttpServer``, ``make_app``) and ``http_asgi`` (``AsgiApp``); the overview is
in ``http_mode``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from bot.core import strict_json
from bot.core.incoming import parse_incoming
from bot.errors import StoreError, StoreUnwritable
from bot.im_robots.dingtalk_stream.openapi import OpenApiCallError
from bot.storage.store import Claim

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.im_robots.dingtalk_stream.config import RobotConfig
    from bot.im_robots.dingtalk_stream.conversation import Responder
    from bot.im_robots.dingtalk_stream.handlers import FeedbackHandler, MessageHandler
    from bot.im_robots.dingtalk_stream.openapi import OpenApiClient
    from bot.storage.storage import Storage

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


class CallbackHost(Protocol):
    """What the endpoint asks of the robot (``DingTalkStreamRobot`` is one): a protocol, so the
    endpoint and its hosts never import the robot that imports them."""

    @property
    def cfg(self) -> RobotConfig: ...
    @property
    def api(self) -> OpenApiClient | None: ...
    @property
    def responder(self) -> Responder | None: ...
    @property
    def storage(self) -> Storage | None: ...
    @property
    def owner(self) -> str: ...
    @property
    def tasks(self) -> set[asyncio.Task[Any]]: ...
    @property
    def clock(self) -> Clock: ...
    def build_core(self) -> Responder: ...
    def message_handler(self) -> MessageHandler: ...
    def feedback_handler(self) -> FeedbackHandler: ...
    def wall(self) -> float: ...
    def store_unwritable(self, msg_id: str, exc: StoreUnwritable) -> None: ...
    async def recover(self) -> int: ...
    async def _keep(self, prune_every: float = 3600.0) -> None: ...
    async def aclose(self, deadline: float | None = None) -> None: ...


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

    def __init__(self, robot: CallbackHost) -> None:
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


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


Accept = Callable[[Mapping[str, str], bytes], Awaitable[Outcome]]


def too_large(size: int | str) -> Outcome:
    return Outcome(
        413,
        {"error": f"body larger than {MAX_BODY} bytes ({size}): expected one robot message or card callback"},
    )
