"""The probe's I/O: a robot-side client measuring an upstream without harm, bounded.

It fetches a token (lifetime from ``expireIn``) and provokes one refused token call (the error
shape); opens a Stream connection and listens to its SYSTEM pings (cadence); asks a person to
message the robot (or plays one through a fake's control API, ``--message-via``), reads the
session webhook's lifetime from the message, replies once, leaves the first delivery un-acked
and times the redelivery; opens a second connection to see whether it is balanced, kicks the
first or is refused; last, bursts of a harmless refused call (a bogus download code) at rising
rates up to ``max_qps`` find the QPS threshold. Every wait is bounded by ``wait`` seconds and
the calls by the bursts' sizes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from fakeding.core.exceptions import FakedingError
from fakeding.testing.probe.findings import Findings, connection_rule, ping_interval, qps_from_burst

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
BURSTS = (5, 10, 20, 40, 60)
TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)


class ProbeError(FakedingError):
    """The probe could not run (upstream unreachable, credentials refused)."""


@dataclass
class Options:
    upstream: str
    client_id: str
    client_secret: str
    wait: float = 90.0
    max_qps: int = 20
    message_via: str | None = None
    control_token: str | None = None
    settle: float = 3.0
    say: Any = print


@dataclass
class Listener:
    """One Stream connection read in the background: pings acked (and timed), robot messages
    kept, the first delivery of each left un-acked so the platform redelivers it."""

    ws: aiohttp.ClientWebSocketResponse
    pings: list[float] = field(default_factory=list)
    messages: list[tuple[float, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    told_to_go: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    seen: set[str] = field(default_factory=set)

    async def run(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            headers = frame.get("headers") or {}
            topic = headers.get("topic")
            now = time.monotonic()
            if frame.get("type") == "SYSTEM" and topic == "ping":
                self.pings.append(now)
                await self._ack(headers, frame.get("data") or "{}")
            elif frame.get("type") == "SYSTEM" and topic == "disconnect":
                self.told_to_go = True
            elif topic == ROBOT_TOPIC:
                data = json.loads(frame.get("data") or "{}")
                self.messages.append((now, headers, data))
                key = str(data.get("msgId") or headers.get("messageId"))
                if key in self.seen:  # the redelivery: consumed now
                    await self._ack(headers, json.dumps({"response": None}))
                self.seen.add(key)
            else:
                await self._ack(headers, json.dumps({"status": "SUCCESS"}))
            self.changed.set()

    async def _ack(self, headers: dict[str, Any], data: str) -> None:
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await self.ws.send_str(
                json.dumps(
                    {
                        "code": 200,
                        "message": "OK",
                        "data": data,
                        "headers": {
                            "messageId": headers.get("messageId", ""),
                            "contentType": "application/json",
                        },
                    }
                )
            )

    async def until(self, check: Any, limit: float) -> bool:
        deadline = time.monotonic() + limit
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)
        return True


class Probe:
    def __init__(self, options: Options, session: aiohttp.ClientSession) -> None:
        self.o = options
        self.s = session
        self.base = options.upstream.rstrip("/")
        self.f = Findings(self.base)

    async def _call(self, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        self.f.calls += 1
        try:
            async with self.s.request(method, url, **kwargs) as resp:
                raw = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ProbeError(
                f"cannot reach {url.partition('?')[0]}: {exc or type(exc).__name__}; check --upstream"
            ) from None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", errors="replace")

    async def token(self) -> str:
        url = self.base + "/v1.0/oauth2/accessToken"
        status, body = await self._call(
            "POST", url, json={"appKey": self.o.client_id, "appSecret": self.o.client_secret}
        )
        if status != 200 or not isinstance(body, dict) or "accessToken" not in body:
            raise ProbeError(
                f"the upstream refused the app {self.o.client_id!r}: HTTP {status} "
                f"{str(body)[:200]}; check --app CLIENT_ID:CLIENT_SECRET"
            )
        if isinstance(body.get("expireIn"), int | float):
            self.f.found("token_ttl", float(body["expireIn"]), "expireIn of a fresh token")
        bad_status, bad = await self._call(
            "POST", url, json={"appKey": self.o.client_id, "appSecret": "fakeding-probe-wrong-secret"}
        )
        shape = sorted(bad) if isinstance(bad, dict) else type(bad).__name__
        self.f.note(
            f"a refused token call: HTTP {bad_status}, body keys {shape}, code "
            f"{bad.get('code') if isinstance(bad, dict) else None!r}"
        )
        return str(body["accessToken"])

    async def connect(self) -> tuple[Listener | None, int | None]:
        """A Stream connection, or the status its handshake was refused with."""
        status, body = await self._call(
            "POST",
            self.base + "/v1.0/gateway/connections/open",
            headers={"Accept": "application/json"},
            json={
                "clientId": self.o.client_id,
                "clientSecret": self.o.client_secret,
                "subscriptions": [{"type": "CALLBACK", "topic": ROBOT_TOPIC}],
                "ua": "fakeding-probe",
            },
        )
        if status != 200 or not isinstance(body, dict) or not body.get("ticket"):
            raise ProbeError(
                f"the gateway refused the app {self.o.client_id!r}: HTTP {status} {str(body)[:200]}"
            )
        url = f"{body['endpoint']}?ticket={urllib.parse.quote_plus(str(body['ticket']))}"
        try:
            ws = await self.s.ws_connect(url, autoping=True)
        except aiohttp.WSServerHandshakeError as exc:
            return None, exc.status
        listener = Listener(ws)
        return listener, None

    async def message(self, first: Listener) -> None:
        """A person's message: webhook lifetime, one reply, the redelivery delay."""
        if self.o.message_via:
            headers = {"Authorization": f"Bearer {self.o.control_token}"} if self.o.control_token else {}
            status, body = await self._call(
                "POST",
                self.o.message_via.rstrip("/") + "/_fakeding/messages",
                headers=headers,
                json={
                    "conversation": {"id": "cidFakedingProbe", "type": "single"},
                    "sender": {"staffId": "fakeding-probe", "nick": "probe"},
                    "text": "fakeding probe",
                    "clientId": self.o.client_id,
                },
            )
            if status != 200:
                raise ProbeError(f"--message-via {self.o.message_via}: HTTP {status} {body}")
        else:
            self.o.say(
                f"Send the robot a message now (any text, within {self.o.wait:g} s); "
                "it will answer once and the platform will be seen redelivering it."
            )
        if not await first.until(lambda: first.messages, self.o.wait):
            self.f.note(
                f"no message arrived within {self.o.wait:g} s: webhook lifetime and redelivery not measured"
            )
            return
        t0, _, data = first.messages[0]
        expires, created = data.get("sessionWebhookExpiredTime"), data.get("createAt")
        if isinstance(expires, int | float) and isinstance(created, int | float):
            self.f.found(
                "webhook_ttl",
                round((expires - created) / 1000.0),
                "sessionWebhookExpiredTime - createAt of a message",
            )
        hook = data.get("sessionWebhook")
        if isinstance(hook, str):
            status, body = await self._call(
                "POST",
                hook,
                json={"msgtype": "text", "text": {"content": "fakeding probe: message received"}},
            )
            self.f.note(f"a reply through the session webhook right away: HTTP {status} {body}")
        if await first.until(lambda: len(first.messages) > 1, self.o.wait):
            delay = first.messages[1][0] - t0
            self.f.found(
                "redelivery_delay", round(delay), f"an un-acked message came again after {delay:.1f} s"
            )
        else:
            self.f.note(f"an un-acked message was not redelivered within {self.o.wait:g} s")
        if isinstance(hook, str) and "webhook_ttl" in self.f.settings:
            await self._webhook_expiry(hook, t0, float(self.f.settings["webhook_ttl"]))

    async def _webhook_expiry(self, hook: str, t0: float, ttl: float) -> None:
        """When the claimed lifetime ends within ``wait``: one reply just after it, which a
        platform keeping its word refuses."""
        due = t0 + ttl + 1.0
        if due - t0 > self.o.wait:
            self.f.note(
                f"the webhook's claimed lifetime ({ttl:g} s) is longer than --wait: "
                "read from the message, not confirmed by a refused reply"
            )
            return
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        status, body = await self._call(
            "POST",
            hook,
            json={"msgtype": "text", "text": {"content": "fakeding probe: after the webhook's expiry"}},
        )
        errcode = body.get("errcode") if isinstance(body, dict) else None
        setting = "webhook_ttl"
        if status == 200 and errcode in (0, None):
            self.f.note(
                f"a reply 1 s after the webhook's claimed expiry was still accepted: "
                f"it lives longer than {ttl:g} s"
            )
        else:
            self.f.sources[setting] += (
                f"; confirmed: a reply 1 s after it was refused (HTTP {status}, errcode {errcode})"
            )

    async def second_connection(self, first: Listener) -> None:
        second, refused = await self.connect()
        told = refused is None and await first.until(lambda: first.told_to_go, self.o.settle)
        rule = connection_rule(refused, told)
        how = {
            "refuse": f"a second connection's handshake was refused (HTTP {refused})",
            "kick": "the first connection was sent a disconnect when a second opened",
            "balance": f"both connections stayed open for {self.o.settle:g} s",
        }[rule]
        self.f.found("second_connection", rule, how)
        if second is not None:
            await second.ws.close()

    async def qps(self, token: str) -> None:
        url = self.base + "/v1.0/robot/messageFiles/download"
        headers = {"x-acs-dingtalk-access-token": token}
        body = {"downloadCode": "fakeding-probe-no-such-file", "robotCode": self.o.client_id}
        sizes = [b for b in BURSTS if b <= self.o.max_qps]
        for i, n in enumerate(sizes):
            if i:
                await asyncio.sleep(1.1)  # each burst in a fresh one-second window
            answers = await asyncio.gather(
                *(self._call("POST", url, headers=headers, json=body) for _ in range(n))
            )
            codes = [str(b.get("code", "")) if isinstance(b, dict) else "" for _, b in answers]
            limit = qps_from_burst(codes)
            if limit is not None:
                self.f.found(
                    "qps_limit",
                    limit,
                    f"a burst of {n} calls in one second: {limit} passed, the rest were QpsLimit refusals",
                )
                return
        self.f.note(
            f"no QPS refusal up to {min(self.o.max_qps, BURSTS[-1])} calls a second "
            "(raise --max-qps to probe higher)"
        )


async def probe(options: Options) -> Findings:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        p = Probe(options, session)
        token = await p.token()
        first, refused = await p.connect()
        if first is None:
            raise ProbeError(f"the Stream handshake was refused: HTTP {refused}")
        reader = asyncio.create_task(first.run())
        try:
            await p.message(first)
            if await first.until(lambda: len(first.pings) >= 2, options.wait):
                interval = ping_interval(first.pings)
                p.f.found(
                    "system_ping_interval", interval, f"gap between SYSTEM pings ({len(first.pings)} seen)"
                )
            else:
                p.f.note(f"fewer than two SYSTEM pings within {options.wait:g} s")
            await p.second_connection(first)
            await p.qps(token)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            await first.ws.close()
        return p.f
