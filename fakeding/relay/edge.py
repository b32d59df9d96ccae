"""The relay's I/O edge: an OpenAPI forwarder and a Stream relay, both recording.

The robot talks to the relay as it would to DingTalk. Its gateway call goes upstream and the
answer comes back pointing at the relay's Stream port (with a ticket of the relay's), so each
robot connection gets its own upstream connection, opened with the upstream ticket. Frames
pass both ways as they are, except that a robot message's ``sessionWebhook`` is pointed at the
relay (``/_relay/webhook/N``) so webhook replies pass through it too. Every OpenAPI call is
forwarded unchanged, tokens included, and its answer returned unchanged. Everything is noted
in ``entries`` (the cassette); ``write`` turns it into a redacted scenario and cassette.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import ssl
import urllib.parse
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from fakeding.core.exceptions import FakedingError
from fakeding.relay.redact import Redactor
from fakeding.relay.scenario import ROBOT_TOPIC, parse_json, scenario_from_cassette

GATEWAY = "/v1.0/gateway/connections/open"
WEBHOOK = "/_relay/webhook/"
DINGTALK = "https://api.dingtalk.com"
HOP = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "accept-encoding",
        "content-encoding",
        "upgrade",
        "proxy-connection",
    }
)
UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
MAX_FRAME = 1 << 20


class RelayError(FakedingError):
    """The relay cannot work (upstream unreachable, credentials refused); ``exit_code`` says
    which, for scripts."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


UNREACHABLE, REFUSED, LEAK = 3, 4, 5


def _body(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    return parse_json(text) if text else None


class Relay:
    """``start`` serves; ``entries`` grows as traffic passes; ``write`` saves it."""

    def __init__(
        self,
        upstream: str,
        client_id: str,
        client_secret: str,
        *,
        host: str = "127.0.0.1",
        upstream_ssl: ssl.SSLContext | None = None,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.client_id, self.client_secret = client_id, client_secret
        self.host = host
        self.upstream_ssl = upstream_ssl
        self.entries: list[dict[str, Any]] = []
        self.http_url = self.ws_endpoint = ""
        self.http_port = self.ws_port = 0
        self._tickets: dict[str, tuple[str, str]] = {}  # local ticket -> (endpoint, ticket)
        self._hooks: dict[str, str] = {}  # original webhook URL -> local number
        self._hook_urls: dict[str, str] = {}  # local number -> original webhook URL
        self._sockets: set[web.WebSocketResponse] = set()
        self._runners: list[web.AppRunner] = []
        self._session: aiohttp.ClientSession | None = None
        self._connections = 0
        self._t0 = 0.0

    @property
    def _ssl(self) -> ssl.SSLContext | bool:
        return self.upstream_ssl if self.upstream_ssl is not None else True

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the relay is not started")
        return self._session

    def _note(self, kind: str, **fields: Any) -> None:
        t = round(asyncio.get_running_loop().time() - self._t0, 3)
        self.entries.append({"t": t, "kind": kind, **fields})

    async def check_upstream(self) -> None:
        """Open a Stream ticket upstream with the app's credentials (nothing connects with it):
        an unreachable upstream or refused credentials is a ``RelayError`` before the robot
        comes."""
        body = {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": ROBOT_TOPIC}],
            "ua": "fakeding-record",
        }
        url = self.upstream + GATEWAY
        try:
            async with self.session.post(
                url, json=body, ssl=self._ssl, headers={"Accept": "application/json"}
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise RelayError(
                f"cannot reach the upstream {url}: {exc or type(exc).__name__}; "
                "check --upstream (and that it is running)",
                UNREACHABLE,
            ) from None
        answer = _body(raw)
        if status != 200 or not isinstance(answer, dict) or not answer.get("ticket"):
            shown = raw.decode("utf-8", errors="replace")[:300]
            raise RelayError(
                f"the upstream {url} refused the app {self.client_id!r}: HTTP "
                f"{status} {shown}; check --app CLIENT_ID:CLIENT_SECRET",
                REFUSED,
            )

    async def start(
        self, *, port: int = 0, ws_port: int = 0, server_ssl: ssl.SSLContext | None = None
    ) -> None:
        self._t0 = asyncio.get_running_loop().time()
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=UPSTREAM_TIMEOUT)
        http = web.Application(client_max_size=64 << 20)
        http.router.add_route("*", "/{tail:.*}", self._http)
        ws = web.Application()
        ws.router.add_get("/connect", self._connect)
        scheme = "https" if server_ssl else "http"
        for app, wanted in ((http, port), (ws, ws_port)):
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            self._runners.append(runner)
            site = web.TCPSite(runner, self.host, wanted, ssl_context=server_ssl)
            await site.start()
            bound = runner.addresses[0][1]
            if app is http:
                self.http_port = bound
                self.http_url = f"{scheme}://{self._shown_host()}:{bound}"
            else:
                self.ws_port = bound
                self.ws_endpoint = f"{'wss' if server_ssl else 'ws'}://{self._shown_host()}:{bound}/connect"

    def _shown_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host

    async def open_session(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=UPSTREAM_TIMEOUT)

    async def stop(self) -> None:
        for sock in list(self._sockets):
            with contextlib.suppress(Exception):
                await sock.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"relay stopped")
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- OpenAPI -----------------------------------------------------------------------------

    async def _http(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if request.path.startswith(WEBHOOK):
            target = self._hook_urls.get(request.path[len(WEBHOOK) :])
            if target is None:
                return web.json_response(
                    {
                        "errcode": 300001,
                        "errmsg": "fakeding record: unknown session webhook (not handed out by this relay)",
                    },
                    status=404,
                )
            kind, url = "webhook", target
        else:
            kind, url = "upstream", self.upstream + request.path_qs
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        entry: dict[str, Any] = {
            "method": request.method,
            "target": kind,
            "path": request.path_qs if kind == "upstream" else url,
            "headers": headers,
            "request": _body(raw),
        }
        try:
            async with self.session.request(
                request.method, url, data=raw, headers=headers, allow_redirects=False, ssl=self._ssl
            ) as resp:
                answer = await resp.read()
                status = resp.status
                back = {k: v for k, v in resp.headers.items() if k.lower() not in HOP}
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            problem = f"fakeding record: cannot reach {url.partition('?')[0]}: {exc or type(exc).__name__}"
            self._note("http", **entry, status=502, response=None, error=problem)
            return web.json_response(
                {"code": "relay.upstreamUnreachable", "message": problem, "requestid": ""}, status=502
            )
        if kind == "upstream" and request.path == GATEWAY and status == 200:
            answer = self._local_ticket(answer)
        self._note("http", **entry, status=status, response=_body(answer))
        return web.Response(status=status, body=answer, headers=back)

    def _local_ticket(self, answer: bytes) -> bytes:
        """The gateway's answer pointing at the relay; the upstream ticket waits for the robot."""
        data = _body(answer)
        if not isinstance(data, dict) or not data.get("endpoint") or not data.get("ticket"):
            return answer
        local = secrets.token_hex(16)
        self._tickets[local] = (str(data["endpoint"]), str(data["ticket"]))
        return json.dumps({**data, "endpoint": self.ws_endpoint, "ticket": local}).encode()

    # -- Stream ------------------------------------------------------------------------------

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        target = self._tickets.pop(request.query.get("ticket", ""), None)
        if target is None:
            return web.json_response(
                {
                    "code": "relay.unknownTicket",
                    "message": "fakeding record: unknown ticket; call the gateway first",
                },
                status=401,
            )
        endpoint, ticket = target
        url = f"{endpoint}?ticket={urllib.parse.quote_plus(ticket)}"
        try:
            upstream = await self.session.ws_connect(
                url, ssl=self._ssl, autoping=True, max_msg_size=MAX_FRAME
            )
        except aiohttp.WSServerHandshakeError as exc:  # DingTalk's own refusal, passed on
            return web.json_response(
                {"code": "relay.upstreamRefused", "message": f"upstream {exc.status} {exc.message}"},
                status=exc.status,
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return web.json_response(
                {"code": "relay.upstreamUnreachable", "message": f"cannot reach {endpoint}: {exc}"},
                status=502,
            )
        robot = web.WebSocketResponse(max_msg_size=MAX_FRAME, autoping=True)
        await robot.prepare(request)
        self._connections += 1
        n = self._connections
        self._sockets.add(robot)
        self._note("connect", connection=n)
        down = asyncio.create_task(self._down(upstream, robot, n))
        try:
            async for msg in robot:
                if msg.type == WSMsgType.TEXT:
                    self._note("ack", connection=n, frame=parse_json(msg.data))
                    await upstream.send_str(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await upstream.send_bytes(msg.data)
        except (aiohttp.ClientError, ConnectionError):
            pass
        finally:
            self._sockets.discard(robot)
            down.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await down
            if not upstream.closed:
                await upstream.close(code=robot.close_code or aiohttp.WSCloseCode.OK)
            self._note("close", connection=n, by="robot", code=robot.close_code)
        return robot

    async def _down(
        self, upstream: aiohttp.ClientWebSocketResponse, robot: web.WebSocketResponse, n: int
    ) -> None:
        """Upstream frames to the robot until upstream closes; then close the robot's socket
        with upstream's code, as DingTalk would have."""
        try:
            async for msg in upstream:
                if msg.type == WSMsgType.TEXT:
                    frame = parse_json(msg.data)
                    self._note("push", connection=n, frame=frame)
                    await robot.send_str(self._rewrite(frame, msg.data))
                elif msg.type == WSMsgType.BINARY:
                    await robot.send_bytes(msg.data)
        except (aiohttp.ClientError, ConnectionError):
            pass
        self._note("close", connection=n, by="upstream", code=upstream.close_code)
        if not robot.closed:
            await robot.close(code=upstream.close_code or aiohttp.WSCloseCode.OK)

    def _rewrite(self, frame: Any, text: str) -> str:
        """A robot message with its ``sessionWebhook`` pointed at the relay; else ``text``."""
        if not isinstance(frame, dict) or (frame.get("headers") or {}).get("topic") != ROBOT_TOPIC:
            return text
        data = parse_json(frame.get("data"))
        hook = data.get("sessionWebhook") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(hook, str):
            return text
        if hook not in self._hooks:
            number = str(len(self._hooks) + 1)
            self._hooks[hook], self._hook_urls[number] = number, hook
        data["sessionWebhook"] = f"{self.http_url}{WEBHOOK}{self._hooks[hook]}"
        frame = {**frame, "data": json.dumps(data, ensure_ascii=False, separators=(",", ":"))}
        return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))

    # -- output ------------------------------------------------------------------------------

    def write(
        self, out: Path, *, keep_names: bool = False, name: str | None = None, profile: str | None = None
    ) -> tuple[Path, Path]:
        """The scenario at ``out`` and the cassette next to it (``X.cassette.json``), both
        redacted; a secret that would still show is a ``RelayError`` and nothing is written."""
        return write_recording(
            self.entries,
            out,
            upstream=self.upstream,
            client_id=self.client_id,
            client_secret=self.client_secret,
            keep_names=keep_names,
            name=name,
            profile=profile,
        )


def cassette_path(out: Path) -> Path:
    return out.with_name(out.name.rsplit(".", 1)[0] + ".cassette.json")


def write_recording(
    entries: list[dict[str, Any]],
    out: Path,
    *,
    upstream: str,
    client_id: str,
    client_secret: str,
    keep_names: bool = False,
    name: str | None = None,
    profile: str | None = None,
) -> tuple[Path, Path]:
    from fakeding.aio.scenario_yaml import to_yaml

    redactor = Redactor(keep_names=keep_names)
    redactor.secret(client_secret)
    redactor.placeholder(client_id, "app")
    redactor.walk(entries)
    scenario = scenario_from_cassette(
        entries, name=name or f"recorded {out.stem}", key_of=redactor.placeholder
    )
    if profile is not None:  # the platform it was recorded against, for the replay
        scenario = {
            **{k: scenario.pop(k) for k in ("name", "description")},
            "platform": {"profile": profile},
            **scenario,
        }
    scenario_text = redactor.apply(to_yaml(scenario))
    cassette = {"upstream": upstream, "app": client_id, "entries": entries}
    cassette_text = redactor.apply(json.dumps(cassette, ensure_ascii=False, indent=1)) + "\n"
    leaks = redactor.leaks(scenario_text + cassette_text)
    if leaks:
        raise RelayError(f"refusing to write {out}: a secret would remain ({', '.join(leaks)})", LEAK)
    tape = cassette_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(scenario_text, encoding="utf-8")
    tape.write_text(cassette_text, encoding="utf-8")
    return out, tape
