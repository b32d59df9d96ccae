"""DingTalk's HTTP APIs as the robot uses them, all async (aiohttp): never a blocking call on
the event loop, unlike the SDK's ``requests`` helpers.

Every OpenAPI call goes through the app-wide ``RateLimiter`` (below 20 QPS per API) and is
retried with backoff on a 403 QPS-limit answer, 5xx, 429 and network errors; an
``InvalidAuthentication`` answer refreshes the token once. Nothing here logs a secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import urllib.request
from collections.abc import Callable, Coroutine, Sequence
from json.encoder import encode_basestring  # the string escaper of ``_dumps``
from typing import Any

import aiohttp

from bot.clock import Clock
from bot.core.card_json import Quoted
from bot.core.ratelimit import RateLimiter
from bot.core.strict_json import dumps as _dumps
from bot.errors import BotError

log = logging.getLogger("bot.openapi")
TOKEN_MARGIN = 300.0  # refresh 5 minutes before expiry, as the SDK does
CARD_ROUTE_KEY = "bot-feedback"  # the callbackRouteKey of this robot's HTTP card callbacks
_decode = json.JSONDecoder().decode  # what json.loads uses once it has the text


class Skipped(BotError):
    """A best-effort call was not made because the app is at its rate limit."""


class OpenApiCallError(BotError):
    def __init__(self, route: str, status: int, code: str, message: str) -> None:
        self.route, self.status, self.code, self.message = route, status, code, message
        super().__init__(f"{route} answered HTTP {status} {code}: {message}")

    @property
    def retriable(self) -> bool:
        return self.status >= 500 or self.status == 429 or "QpsLimit" in self.code or self.status == 0


class OpenApiClient:
    def __init__(
        self,
        *,
        endpoint: str,
        client_id: str,
        client_secret: str,
        clock: Clock,
        qps: float = 18.0,
        burst: int = 1,
        attempts: int = 5,
        rng: random.Random | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.clock = clock
        self.limiter = RateLimiter(qps, clock.monotonic, burst)
        self.attempts = attempts
        self.rng = rng or random.Random(0)
        self.on_event = on_event or (lambda kind, fields: None)
        self.on_error: Callable[[str, int, str], None] = lambda route, status, code: None
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock: asyncio.Lock | None = None
        self.draining = False  # shutting down: best-effort calls are skipped, finals go first
        self.requests = 0  # HTTP requests made (benchmarks compare it with a ceiling)
        # mode "http": where card clicks go, once registered (cards carry it; None: Stream)
        self.card_callback_url: str | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # HTTPS_PROXY/NO_PROXY are honoured as every other HTTP client does (the CA comes from
            # SSL_CERT_FILE through the default SSL context). Only when a proxy is set: trust_env
            # also reads ~/.netrc on an executor thread per request, a real-time hop.
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=10),
                connector=aiohttp.TCPConnector(limit=100),
                trust_env=bool(urllib.request.getproxies()),
            )
        return self._session

    # -- gateway and token ----------------------------------------------------------------------
    async def open_connection(self, subscriptions: list[dict[str, str]]) -> dict[str, Any]:
        body = {
            "clientId": self.client_id,
            "clientSecret": self._secret,
            "subscriptions": subscriptions,
            "ua": "fakeding-bot/0.1 (dingtalk-stream)",
        }
        status, data = await self._raw("POST", "/v1.0/gateway/connections/open", body, {})
        if status != 200 or not isinstance(data, dict) or not data.get("endpoint") or not data.get("ticket"):
            code, message = _error_of(data)
            raise OpenApiCallError("POST /v1.0/gateway/connections/open", status, code, message)
        return data

    async def token(self) -> str:
        if self._token and self.clock.monotonic() < self._token_expires:
            return self._token  # the usual case: no lock to take
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            if self._token and self.clock.monotonic() < self._token_expires:
                return self._token
            body = {"appKey": self.client_id, "appSecret": self._secret}
            status, data = await self._raw("POST", "/v1.0/oauth2/accessToken", body, {})
            if status != 200 or not isinstance(data, dict) or "accessToken" not in data:
                code, message = _error_of(data)
                raise OpenApiCallError("POST /v1.0/oauth2/accessToken", status, code, message)
            self._token = str(data["accessToken"])
            self._token_expires = self.clock.monotonic() + float(data.get("expireIn", 7200)) - TOKEN_MARGIN
            return self._token

    def forget_token(self) -> None:
        self._token = None

    # -- calls ------------------------------------------------------------------------------------
    async def _raw(
        self, method: str, path: str, body: Any, headers: dict[str, str], *, answer: bool = True
    ) -> tuple[int, Any]:
        """One request: its status and its answer read as JSON (not read on a 200 without
        ``answer``: the caller has no use for it)."""
        url = path if path.startswith("http") else self.endpoint + path
        self.requests += 1
        # encoded here, once (what ``json=`` would do, minus a payload object per request);
        # bytes are a body encoded already
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else _dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            async with self.session.request(method, url, data=data, headers=headers) as resp:
                raw = await resp.read()
                if not answer and resp.status == 200:
                    return 200, None
                try:
                    return resp.status, _loads(raw) if raw else None
                except ValueError:
                    return resp.status, {"code": "notJson", "message": raw.decode("utf-8", "replace")[:200]}
        except (TimeoutError, aiohttp.ClientError) as exc:
            return 0, {"code": "network", "message": type(exc).__name__}

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | bytes,
        *,
        best_effort: bool = False,
        max_wait: float = 0.5,
        on_send: Callable[[], None] | None = None,
        answer: bool = True,
    ) -> Any:
        """An authenticated OpenAPI call, paced and retried; raises ``OpenApiCallError``.
        Returns the answer read as JSON (None without ``answer``: the card calls use none).

        ``best_effort`` calls (streaming updates) are made once, and only if a rate-limit slot
        no other call needs frees within ``max_wait`` seconds; otherwise ``Skipped`` is raised.
        ``on_send`` is called right before the request goes out (until then, cancelling the
        call sends nothing).
        """
        route = f"{method} {path}"
        last: OpenApiCallError | None = None
        refreshed = False
        attempts = 2 if best_effort else self.attempts  # best effort: one refresh, no retry
        for attempt in range(1, attempts + 1):
            if best_effort:
                if self.draining:
                    raise Skipped(f"{route}: shutting down, final cards go first")
                if await self.limiter.acquire_best_effort(route, max_wait) is None:
                    raise Skipped(f"{route}: the app is at its rate limit")
            else:  # (``limiter.acquire``, minus a coroutine: the slot is usually free now)
                wait = self.limiter.reserve(route)
                if wait > 0:
                    await asyncio.sleep(wait)
            token = self._token  # the usual case, without the coroutine of ``token()``
            if not token or self.clock.monotonic() >= self._token_expires:
                token = await self.token()
            if on_send is not None:
                on_send()
            status, data = await self._raw(
                method, path, body, {"x-acs-dingtalk-access-token": token}, answer=answer
            )
            if status == 200:
                if attempt > 1:
                    self.on_event("api.recovered", {"route": route, "attempt": attempt})
                return data
            code, message = _error_of(data)
            last = OpenApiCallError(route, status, code, message)
            self.on_error(route, status, code)
            if code == "InvalidAuthentication" and not refreshed:
                refreshed = True
                self.forget_token()
                self.on_event("token.refresh", {"route": route})
                continue
            if best_effort or not last.retriable or attempt == attempts:
                raise last  # no backoff after the last attempt: fail over at once
            delay = self.backoff(attempt, qps_limited="QpsLimit" in code)
            self.on_event(
                "api.retry",
                {
                    "route": route,
                    "status": status,
                    "code": code,
                    "attempt": attempt,
                    "backoff": round(delay, 3),
                },
            )
            await asyncio.sleep(delay)
        assert last is not None
        raise last

    def backoff(self, attempt: int, *, qps_limited: bool) -> float:
        """Exponential backoff with jitter; a QPS-limited call waits at least the 1 s window."""
        base = 1.0 if qps_limited else 0.5
        return float(min(base * 2 ** (attempt - 1), 8.0) * (1 + 0.2 * self.rng.random()))

    # -- robot APIs ---------------------------------------------------------------------------------
    async def send_card(
        self,
        *,
        card_biz_id: str,
        card_data: dict[str, Any] | str,
        conversation_id: str | None,
        user_id: str | None,
        at_users: Sequence[tuple[str, str]] = (),
    ) -> None:
        body: dict[str, Any] = {
            "cardTemplateId": "StandardCard",
            "robotCode": self.client_id,
            "cardBizId": card_biz_id,
            "cardData": _card_text(card_data),
            "sendOptions": {"atAll": False},
        }
        if at_users:
            body["sendOptions"]["atUserListJson"] = _dumps(
                [{"nickName": nick, "userId": uid} for uid, nick in at_users]
            )
        if self.card_callback_url is not None:
            body["callbackUrl"] = self.card_callback_url
        if conversation_id is not None:
            body["openConversationId"] = conversation_id
        else:
            body["singleChatReceiver"] = json.dumps({"userId": user_id})
        await self.call("POST", "/v1.0/im/v1.0/robot/interactiveCards/send", body, answer=False)

    def update_card(
        self,
        card_biz_id: str,
        card_data: dict[str, Any] | str | Quoted,
        *,
        best_effort: bool = False,
        max_wait: float = 0.5,
        on_send: Callable[[], None] | None = None,
    ) -> Coroutine[Any, Any, None]:
        """The update's call, to await (not a coroutine of its own: each level of coroutines
        costs on every resume of the request beneath it, and a robot makes many updates)."""
        body: dict[str, Any] | bytes
        if isinstance(card_data, Quoted):  # the text ``_dumps`` makes of the dict below
            body = f'{{"cardBizId": {encode_basestring(card_biz_id)}, "cardData": {card_data.json}}}'.encode()
        else:
            body = {"cardBizId": card_biz_id, "cardData": _card_text(card_data)}
        return self.call(
            "PUT",
            "/v1.0/im/robots/interactiveCards",
            body,
            best_effort=best_effort,
            max_wait=max_wait,
            on_send=on_send,
            answer=False,
        )

    async def register_card_callback(self, url: str) -> None:
        """Have card clicks POSTed to ``url`` (``mode: "http"``), signed with the app secret;
        cards sent afterwards carry it."""
        await self.call(
            "POST",
            "/v1.0/card/callbacks/register",
            {
                "apiSecret": self._secret,
                "callbackUrl": url,
                "callbackRouteKey": CARD_ROUTE_KEY,
                "forceUpdate": True,
            },
        )
        self.card_callback_url = url

    async def webhook(self, url: str, body: dict[str, Any]) -> None:
        """Reply through a session webhook; errcode != 0 raises (130101 is retried)."""
        for attempt in range(1, self.attempts + 1):
            status, data = await self._raw("POST", url, body, {})
            errcode = data.get("errcode") if isinstance(data, dict) else None
            if status == 200 and errcode == 0:
                return
            err = OpenApiCallError(
                "POST sessionWebhook",
                status,
                str(errcode),
                str(data.get("errmsg") if isinstance(data, dict) else data),
            )
            self.on_error("POST sessionWebhook", status, str(errcode))
            if (
                errcode == 300001
                or (status != 200 and status < 500 and status != 0)
                or attempt == self.attempts
            ):
                raise err
            delay = 60.0 if errcode == 130101 else self.backoff(attempt, qps_limited=False)
            self.on_event(
                "webhook.retry",
                {"errcode": errcode, "status": status, "attempt": attempt, "backoff": round(delay, 3)},
            )
            await asyncio.sleep(delay)
        raise err


def _loads(raw: bytes) -> Any:
    """``json.loads(raw)``. An answer that opens with ``{`` and no NUL after it is the UTF-8 that
    json.loads would detect (no BOM, not UTF-16 or -32), so it is decoded as such at once."""
    if raw[0] == 0x7B and (len(raw) < 2 or raw[1]):
        return _decode(raw.decode("utf-8", "surrogatepass"))
    return json.loads(raw)


def _card_text(card_data: dict[str, Any] | str) -> str:
    """``cardData`` is JSON text; a card already rendered as text (``bot.core.card_json``)
    goes as it is."""
    return card_data if isinstance(card_data, str) else _dumps(card_data)


def _error_of(data: Any) -> tuple[str, str]:
    if isinstance(data, dict):
        return str(data.get("code", "unknown")), str(data.get("message", ""))[:300]
    return "unknown", str(data)[:300]
