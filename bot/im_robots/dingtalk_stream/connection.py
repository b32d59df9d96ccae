"""The Stream connection: the official SDK's frame handling under our own connect loop.

``dingtalk_stream.DingTalkStreamClient`` parses frames, routes them to handlers and writes the
acks; we keep all of that and replace ``start``, whose blocking ``requests`` gateway call would
freeze the event loop and whose fixed 3-10 s sleeps are no backoff. Here: an async gateway
call, exponential backoff with jitter after failures, an immediate reconnect after a SYSTEM
disconnect, and an optional idle watchdog that replaces a connection that went silent.

Permanent-looking failures are loud: a refused clientId/secret and an unreachable endpoint
are logged at WARNING/ERROR with what to check (at most once a minute per kind); credentials
refused ``auth_attempts`` times in a row before any connection succeeded raise
``CredentialsRefused`` (the CLI exits 2). Once connected, a refusal (a secret being rotated)
is logged as an error and retried with backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import dingtalk_stream
import websockets
from websockets.asyncio.client import ClientConnection, connect

from bot.errors import BotError, ConfigError
from bot.im_robots.dingtalk_stream.openapi import OpenApiCallError, OpenApiClient

log = logging.getLogger("bot.stream")
LOUD_EVERY = 60.0  # seconds between two loud lines of one kind


class CredentialsRefused(ConfigError):
    """The platform refused the clientId/clientSecret again and again."""


def is_auth_refusal(exc: BaseException) -> bool:
    """401/403 (not a QPS limit) or an auth-ish code: retrying will not help."""
    if not isinstance(exc, OpenApiCallError) or "QpsLimit" in exc.code:
        return False
    code = exc.code.lower()
    return exc.status in (401, 403) or "auth" in code or "invalidclient" in code


class StreamConnection(dingtalk_stream.DingTalkStreamClient):  # type: ignore[misc]
    def __init__(
        self,
        api: OpenApiClient,
        *,
        rng: random.Random | None = None,
        idle_timeout: float | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        max_backoff: float = 30.0,
        auth_attempts: int = 5,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(dingtalk_stream.Credential(api.client_id, "(held by OpenApiClient)"), logger=log)
        self.api = api
        self.rng = rng or random.Random(0)
        self.idle_timeout = idle_timeout
        self.on_event = on_event or (lambda kind, fields: None)
        self.max_backoff = max_backoff
        self.auth_attempts = auth_attempts
        self.monotonic = monotonic or (lambda: asyncio.get_running_loop().time())
        self._loud_at: dict[str, float] = {}
        self.connected = asyncio.Event()
        self.connections = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False

    def subscriptions(self) -> list[dict[str, str]]:
        return [{"type": "CALLBACK", "topic": topic} for topic in self.callback_handler_map]

    def backoff(self, failures: int) -> float:
        """1, 2, 4 ... s capped at ``max_backoff``, with +-20 % jitter so replicas spread out."""
        base = min(2.0 ** (failures - 1), self.max_backoff)
        return float(base * (0.8 + 0.4 * self.rng.random()))

    async def start(self) -> None:  # noqa: C901 - one loop, each branch a documented case
        self.pre_start()
        failures = refusals = 0
        while not self._stopping:
            try:
                conn = await self.api.open_connection(self.subscriptions())
                uri = f"{conn['endpoint']}?ticket={quote_plus(conn['ticket'])}"
                async with connect(
                    uri,
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                    max_size=1 << 20,
                    compression=None,
                ) as ws:
                    self.websocket = ws
                    self.connections += 1
                    failures = 0
                    self.connected.set()
                    self.on_event("stream.connected", {"connection": self.connections})
                    reason = await self._pump(ws)
                self.connected.clear()
                self.on_event("stream.closed", {"reason": reason})
                if reason == "idle":
                    continue  # replace a silent connection at once
                if reason == "closed-normally":
                    continue  # SYSTEM disconnect or a clean close: reconnect at once
                failures += 1
            except asyncio.CancelledError:
                raise
            except (TimeoutError, OpenApiCallError, OSError, websockets.exceptions.WebSocketException) as exc:
                self.connected.clear()
                failures += 1
                self.on_event("stream.error", {"error": _describe(exc), "failures": failures})
                refusals = refusals + 1 if is_auth_refusal(exc) else 0
                self._complain(exc, refusals)
            if self._stopping:
                break
            delay = self.backoff(failures)
            self.on_event("stream.backoff", {"delay": round(delay, 3), "failures": failures})
            await asyncio.sleep(delay)

    def _complain(self, exc: BaseException, refusals: int) -> None:
        """Say loudly what to check; give up on credentials refused ``auth_attempts`` times."""
        endpoint = self.api.endpoint
        if refusals >= self.auth_attempts and not self.connections:
            raise CredentialsRefused(
                f"{endpoint} refused clientId={self.api.client_id} and its clientSecret "
                f"{refusals} times in a row ({_describe(exc)}); check DINGTALK_CLIENT_ID and "
                "DINGTALK_CLIENT_SECRET (or clientId/clientSecret in config.json)"
            )
        if refusals:
            kind, level = "auth", logging.ERROR
            tries = (
                "retrying with backoff"
                if self.connections
                else f"try {refusals} of {self.auth_attempts} before giving up"
            )
            text = (
                f"{endpoint} refused the credentials of clientId={self.api.client_id} "
                f"({_describe(exc)}; {tries}); check the clientId and clientSecret"
            )
        elif isinstance(exc, OpenApiCallError) and exc.status != 0:
            kind, level = f"http{exc.status}", logging.WARNING
            text = f"the gateway at {endpoint} answered {_describe(exc)}; retrying with backoff"
        else:
            kind, level = "unreachable", logging.WARNING
            text = (
                f"cannot reach {endpoint} ({_describe(exc)}); check the endpoint URL "
                "(DINGTALK_OPENAPI_ENDPOINT or endpoint in config.json) and the network; "
                "retrying with backoff"
            )
        now = self.monotonic()
        early = refusals and not self.connections  # each of the few tries before giving up
        if early or now - self._loud_at.get(kind, -LOUD_EVERY) >= LOUD_EVERY:
            self._loud_at[kind] = now
            log.log(level, text)

    async def _pump(self, ws: ClientConnection) -> str:
        """Read frames until the socket closes; return why it ended."""
        while True:
            try:
                if self.idle_timeout:  # (not wait_for: on Python 3.11 it makes a task per frame)
                    async with asyncio.timeout(self.idle_timeout):
                        raw = await ws.recv()
                else:
                    raw = await ws.recv()
            except TimeoutError:
                self.on_event("stream.idle", {"after": self.idle_timeout})
                await ws.close(1000, "idle watchdog")
                return "idle"
            except websockets.exceptions.ConnectionClosedOK:
                return "closed-normally"
            except websockets.exceptions.ConnectionClosedError:
                return "closed-abnormally"
            try:
                frame = json.loads(raw)
            except ValueError:
                log.warning("ignoring a frame that is not JSON (%d bytes)", len(raw))
                continue
            task = asyncio.create_task(self.background_task(frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def background_task(self, json_message: dict[str, Any]) -> None:
        """The SDK's, with a clearer word when the ack cannot be written: the socket closed
        under it, and the platform will redeliver the message (deduplicated on arrival)."""
        try:
            if await self.route_message(json_message) == self.TAG_DISCONNECT and self.websocket:
                await self.websocket.close()
        except websockets.exceptions.ConnectionClosed:
            message_id = (json_message.get("headers") or {}).get("messageId")
            log.warning("ack for %s not sent: the connection closed; the platform redelivers", message_id)
            self.on_event("stream.ack_lost", {"messageId": message_id})
        except BotError as exc:  # said by the handler already; no ack, so it comes again
            message_id = (json_message.get("headers") or {}).get("messageId")
            log.warning("frame %s not acked (%s); the platform delivers it again", message_id, exc)
        except Exception:  # a bug: its traceback, never "Task exception was never retrieved"
            message_id = (json_message.get("headers") or {}).get("messageId")
            log.exception(
                "frame %s not acked: handling it failed; the platform delivers it again", message_id
            )

    async def route_message(self, json_message: dict[str, Any]) -> str:
        """The SDK leaves callbacks on unknown topics un-acked; ack and log them instead."""
        headers = json_message.get("headers") or {}
        topic = headers.get("topic")
        if json_message.get("type") == "SYSTEM" and topic == "ping":
            # The SDK acks pings correctly but then warns "unknown message topic"; ack here.
            ack = await self.system_handler.raw_process(dingtalk_stream.SystemMessage.from_dict(json_message))
            await self.websocket.send(json.dumps(ack.to_dict()))
            return ""
        if json_message.get("type") == "CALLBACK" and topic not in self.callback_handler_map:
            log.warning("callback on unhandled topic %s acked and ignored", topic)
            self.on_event("stream.unknown_topic", {"topic": topic})
            await self._ack_ok(headers)
            return ""
        try:
            result: str = await super().route_message(json_message)
        except RecursionError:  # data nested deeper than json parses: no resend parses either
            log.warning(
                "frame %s on %s acked and ignored: its data is nested too deeply to parse",
                str(headers.get("messageId", "?"))[:100],
                topic,
            )
            await self._ack_ok(headers)
            return ""
        return result

    async def _ack_ok(self, headers: dict[str, Any]) -> None:
        ack = {
            "code": 200,
            "headers": {"messageId": headers.get("messageId", ""), "contentType": "application/json"},
            "message": "OK",
            "data": json.dumps({"response": None}),
        }
        await self.websocket.send(json.dumps(ack))

    async def stop(self) -> None:
        self._stopping = True
        ws = self.websocket
        if ws is not None:
            await ws.close(1000, "robot stopping")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
