"""Every platform HTTP route, served by a transport-free core: ``OpenApi.serve`` takes an
``HttpRequest`` and produces an ``HttpReply``. aiohttp is one edge (``add_routes``); the
in-process requests transport (``fakeding.testing.inprocess``) is another, so a robot's blocking
``requests`` call on the fake's own loop is answered by the same rules: ``_endpoint`` applies
the cross-cutting ones in the platform's order (token, scope, QPS, injected faults) and
records the call.

A core is a generator: it yields the seconds an injected delay fault holds the call and returns
the reply; each edge waits its own way (``await asyncio.sleep`` or advancing virtual time).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from fakeding.aio.openapi import media, robot_settings
from fakeding.core import jsonsafe
from fakeding.core.cards import CARD_ROUTES, Card, CardRoute
from fakeding.core.cards.model import OPEN_SPACE_PREFIX
from fakeding.core.clock import Clock
from fakeding.core.exceptions import OpenApiError
from fakeding.core.jsonsafe import echo
from fakeding.core.platform import App, Platform, session_tag
from fakeding.core.record_kinds import RecordKind

Handler = Callable[[App, Any, float], tuple[dict[str, Any], Card | None, str | None]]
MSG_KEYS = (
    "sampleText",
    "sampleMarkdown",
    "sampleImageMsg",
    "sampleLink",
    "sampleActionCard",
    "sampleActionCard2",
    "sampleActionCard3",
    "sampleActionCard4",
    "sampleActionCard5",
    "sampleActionCard6",
    "sampleAudio",
    "sampleFile",
    "sampleVideo",
)
FILES = "/_files/"
_ENCODE = jsonsafe.encoder()  # json.dumps(ensure_ascii=False), set up once


def _api_fields(route: str, client: str | None, sent: bytes, answered: bytes) -> dict[str, Any]:
    """The fields of an answered API call's record, from its request's and reply's bytes."""
    return {
        "route": route,
        "client": client,
        "status": 200,
        "request": json.loads(sent),
        "response": json.loads(answered),
    }


@dataclass(frozen=True)
class HttpRequest:
    """One call as any transport received it; look ``headers`` up by lower-case name (the
    aiohttp edge hands over its case-insensitive mapping as is, not a lower-cased copy)."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    remote: str = "127.0.0.1"  # the caller's address (custom robots' IP allowlists read it)


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"


Served = Generator[float, None, HttpReply]  # yields delays (seconds), returns the reply
Core = Callable[[HttpRequest], Served]


def instant(fn: Callable[[HttpRequest], HttpReply]) -> Core:
    """A core that never waits."""

    def core(req: HttpRequest) -> Served:
        yield from ()
        return fn(req)

    return core


def run_sync(served: Served, wait: Callable[[float], None]) -> HttpReply:
    """Drive a core to its reply, waiting out delays with ``wait`` (a blocking edge)."""
    try:
        delay = next(served)
        while True:
            wait(delay)
            delay = served.send(None)
    except StopIteration as stop:
        reply: HttpReply = stop.value
        return reply


async def run_async(served: Served) -> HttpReply:
    """Drive a core to its reply on the running loop."""
    try:
        delay = next(served)
        while True:
            await asyncio.sleep(delay)
            delay = served.send(None)
    except StopIteration as stop:
        reply: HttpReply = stop.value
        return reply


def to_aiohttp(reply: HttpReply) -> web.Response:
    if reply.content_type is None:
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)
    return web.Response(
        status=reply.status,
        body=reply.body,
        content_type=reply.content_type,
        charset="utf-8",
        headers=reply.headers,
    )


async def from_aiohttp(request: web.Request) -> HttpRequest:
    """The request as the core reads it; aiohttp's query and header mappings are read-only
    views already (headers case-insensitive), so they are handed over, not copied."""
    return HttpRequest(
        request.method,
        request.path,
        request.query,
        request.headers,
        await request.read(),
        request.remote or "127.0.0.1",
    )


class OpenApi:
    """The platform's HTTP face; it knows the platform core and the clock, nothing else."""

    def __init__(self, platform: Platform, clock: Clock) -> None:
        self.platform = platform
        self.clock = clock
        self.table: dict[tuple[str, str], Core] = {
            ("POST", "/v1.0/gateway/connections/open"): instant(self.open_connection),
            ("POST", "/v1.0/oauth2/accessToken"): instant(self.access_token),
            ("GET", "/gettoken"): instant(self.legacy_token),
            ("POST", "/robot/sendBySession"): instant(self.session_webhook),
            ("POST", "/robot/send"): instant(self.custom_robot_send),
        }
        for key, core in self.table.items():  # api faults reach these too
            self.table[key] = self._faultable(*key, core)
        api: list[tuple[str, str, Handler]] = [
            (method, path, self._card_route(route)) for (method, path), route in CARD_ROUTES.items()
        ]
        api += [
            ("POST", "/v1.0/robot/oToMessages/batchSend", self._batch_send),
            ("POST", "/v1.0/robot/groupMessages/send", self._group_send),
            ("POST", "/v1.0/robot/messageFiles/download", self._file_download),
        ]
        api += [(method, path, self._bound(fn)) for method, path, fn in robot_settings.ROUTES]
        for method, path, fn in api:
            self.table[(method, path)] = self._endpoint(method, path, fn)

    def now(self) -> float:
        return self.clock.monotonic()

    def routes(self) -> list[str]:
        """``METHOD /path`` of every route an ``api`` fault can target."""
        return sorted(f"{method} {path}" for method, path in self.table)

    def _faultable(self, method: str, path: str, core: Core) -> Core:
        """A token, gateway or session-webhook route that an armed ``api`` fault can delay or
        fail (before the route reads its body, as a platform outage would)."""

        def handle(req: HttpRequest) -> Served:
            platform = self.platform
            fault = platform.faults.on_call(None, method, path)
            if fault is not None:
                t = self.now()
                platform.recorder.add(
                    t,
                    RecordKind.FAULT,
                    fault="api",
                    fired=True,
                    route=f"{method} {path}",
                    status=fault.status,
                    code=fault.code,
                    delay=fault.delay,
                )
                if fault.delay:
                    yield fault.delay
                if fault.status >= 400:
                    rid = platform.ids.request_id()
                    out = OpenApiError(fault.status, fault.code, fault.message).body(rid)
                    self._record_api(self.now(), method, path, None, fault.status, None, out)
                    return self._json(fault.status, out, rid)
            return (yield from core(req))

        return handle

    def serve(self, req: HttpRequest) -> Served:
        """Any platform call, whatever carried it; unknown routes get DingTalk's 404."""
        core = self.table.get((req.method, req.path))
        if core is not None:
            return core(req)
        if req.method == "GET" and req.path.startswith(FILES):
            return instant(self.file_content)(req)
        return instant(self.not_found_core)(req)

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        for (method, path), core in self.table.items():
            r.add_route(method, path, self._aiohttp(core))
        r.add_get(FILES + "{code}", self._aiohttp(instant(self.file_content)))
        r.add_post(media.PATH, self.media_upload)  # multipart: served over HTTP only

    def _aiohttp(self, core: Core) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            return to_aiohttp(await run_async(core(await from_aiohttp(request))))

        return handle

    # -- plumbing -------------------------------------------------------------------------------
    def _bound(self, fn: Callable[[Platform, App, Any, float], Any]) -> Handler:
        def handler(app: App, body: Any, t: float) -> Any:
            return fn(self.platform, app, body, t)

        return handler

    def _json(self, status: int, body: Any, request_id: str) -> HttpReply:
        return HttpReply(
            status,
            _ENCODE(body).encode(),
            {"x-acs-request-id": request_id, "Server": "DingTalk/1.0.0"},
        )

    def _body(self, req: HttpRequest) -> Any:
        if not req.body:
            raise OpenApiError(400, "MissingBody", "body is mandatory for this action")
        try:
            return jsonsafe.loads(req.body)
        except jsonsafe.BadJson as exc:
            self._refused(req, str(exc))
            raise OpenApiError(
                400, "InvalidBody", f"{exc} (send a JSON object, Content-Type: application/json)"
            ) from None

    def _refused(self, req: HttpRequest, problem: str) -> None:
        """Input no DingTalk API would accept is a robot bug: recorded as a violation."""
        self.platform.recorder.add(
            self.now(), RecordKind.VIOLATION, reason=f"{req.method} {req.path}: {problem}"
        )

    def _record_api(
        self, t: float, method: str, path: str, client: str | None, status: int, body: Any, response: Any
    ) -> None:
        self.platform.recorder.add(
            t,
            RecordKind.API,
            route=f"{method} {path}",
            client=client,
            status=status,
            request=body,
            response=response,
        )

    def _endpoint(self, method: str, path: str, fn: Handler) -> Core:
        route = f"{method} {path}"  # as recorded, made once per route

        def handle(req: HttpRequest) -> Served:
            platform = self.platform
            t = self.now()
            rid = platform.ids.request_id()
            client: str | None = None
            body: Any = None
            try:
                app = platform.authenticate(t, req.headers.get("x-acs-dingtalk-access-token"))
                client = app.client_id
                platform.check_scope(app, path)
                platform.check_qps(t, app, method, path)
                platform.meter(app, method, path)
                fault = platform.faults.on_call(client, method, path)
                if fault is not None:
                    platform.recorder.add(
                        t,
                        RecordKind.FAULT,
                        fault="api",
                        fired=True,
                        route=route,
                        status=fault.status,
                        code=fault.code,
                        delay=fault.delay,
                    )
                    if fault.delay:
                        yield fault.delay
                        t = self.now()
                    if fault.status >= 400:
                        raise OpenApiError(fault.status, fault.code, fault.message)
                body = self._body(req)
                response, card, source = fn(app, body, t)
            except OpenApiError as exc:
                out = exc.body(rid)
                platform.recorder.add(
                    t,
                    RecordKind.API,
                    route=route,
                    client=client,
                    status=exc.status,
                    request=body,
                    response=out,
                )
                if exc.violation:
                    platform.recorder.add(
                        t, RecordKind.VIOLATION, client=client, reason=f"{route}: {exc.message}"
                    )
                return self._json(exc.status, out, rid)
            reply = self._json(200, response, rid)
            # the bytes sent and answered: recorded as they were, read when asked
            platform.recorder.add_later(t, RecordKind.API, _api_fields, route, client, req.body, reply.body)
            if card is not None and source is not None:
                platform.note_card(t, card, source)
            return reply

        return handle

    async def not_found(self, request: web.Request) -> web.Response:
        return to_aiohttp(self.not_found_core(await from_aiohttp(request)))

    def not_found_core(self, req: HttpRequest) -> HttpReply:
        t = self.now()
        rid = self.platform.ids.request_id()
        body = {
            "code": "InvalidAction.NotFound",
            "message": f"Specified api is not found, please check your url and method. "
            f"({req.method} {req.path})",
            "requestid": rid,
        }
        self._record_api(t, req.method, req.path, None, 404, None, body)
        self.platform.recorder.add(t, RecordKind.VIOLATION, reason=f"unknown route {req.method} {req.path}")
        return self._json(404, body, rid)

    # -- gateway and tokens -------------------------------------------------------------------
    def open_connection(self, req: HttpRequest) -> HttpReply:
        t = self.now()
        rid = self.platform.ids.request_id()
        path = "/v1.0/gateway/connections/open"
        body: Any = None
        try:
            body = self._body(req)
            ticket = self.platform.open_connection(t, body)
        except OpenApiError as exc:
            out = exc.body(rid)
            self._record_api(t, "POST", path, _client(body), exc.status, body, out)
            return self._json(exc.status, out, rid)
        out = {"endpoint": self.platform.ws_endpoint, "ticket": ticket}
        self._record_api(t, "POST", path, body["clientId"], 200, body, out)
        return self._json(200, out, rid)

    def access_token(self, req: HttpRequest) -> HttpReply:
        t = self.now()
        rid = self.platform.ids.request_id()
        body: Any = None
        try:
            body = self._body(req)
            if not isinstance(body, dict):
                raise OpenApiError(400, "invalidParameter", "body must be a JSON object")
            token, ttl = self.platform.issue_token(t, body.get("appKey"), body.get("appSecret"))
        except OpenApiError as exc:
            out = exc.body(rid)
            self._record_api(
                t, "POST", "/v1.0/oauth2/accessToken", _client(body, "appKey"), exc.status, body, out
            )
            return self._json(exc.status, out, rid)
        out = {"accessToken": token, "expireIn": ttl}
        self._record_api(t, "POST", "/v1.0/oauth2/accessToken", body["appKey"], 200, body, out)
        return self._json(200, out, rid)

    def legacy_token(self, req: HttpRequest) -> HttpReply:
        t = self.now()
        rid = self.platform.ids.request_id()
        key, secret = req.query.get("appkey"), req.query.get("appsecret")
        try:
            token, ttl = self.platform.issue_token(t, key, secret)
            out: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": ttl}
        except OpenApiError:
            out = {"errcode": 40089, "errmsg": "不合法的corpId或corpSecret"}
        self._record_api(t, "GET", "/gettoken", key, 200, {"appkey": key}, out)
        return self._json(200, out, rid)

    # -- session webhook and files ------------------------------------------------------------
    def session_webhook(self, req: HttpRequest) -> HttpReply:
        t = self.now()
        rid = self.platform.ids.request_id()
        body: Any = None
        try:
            body = jsonsafe.loads(req.body) if req.body else None
        except jsonsafe.BadJson as exc:
            self._refused(req, str(exc))
        session, out = self.platform.webhook(t, req.query.get("session"), body)
        self.platform.recorder.add(
            t,
            RecordKind.WEBHOOK,
            client=session.client_id if session else None,
            conversation=session.conversation.id if session else None,
            msgId=session.msg_id if session else None,
            msgtype=_webhook_kind(body),
            session=session_tag(req.query.get("session")),
            errcode=out["errcode"],
            errmsg=out.get("errmsg"),
            request=body,
        )
        return self._json(200, out, rid)

    def custom_robot_send(self, req: HttpRequest) -> HttpReply:
        """A custom group robot's message (``/robot/send?access_token=…``): HTTP 200 with an
        errcode, as the platform answers; a refusal is the sender's bug, so also a violation."""
        t = self.now()
        rid = self.platform.ids.request_id()
        body: Any = None
        if req.body:
            try:
                body = jsonsafe.loads(req.body)
            except jsonsafe.BadJson as exc:
                self._refused(req, str(exc))
        post = self.platform.custom_robot_send(
            t, int(self.clock.time() * 1000), dict(req.query), req.remote, body
        )
        robot = post.robot
        self.platform.recorder.add(
            t,
            RecordKind.CUSTOM_ROBOT,
            robot=robot.name if robot else None,
            conversation=robot.conversation_id if robot else None,
            msgtype=post.msgtype,
            errcode=post.errcode,
            errmsg=post.errmsg,
            request=body,
        )
        if post.errcode != 0:
            self.platform.recorder.add(
                t,
                RecordKind.VIOLATION,
                reason=f"POST /robot/send refused: errcode {post.errcode} {post.errmsg}",
            )
        return self._json(200, post.answer, rid)

    async def media_upload(self, request: web.Request) -> web.Response:
        t = self.now()
        client, seen, out = await media.upload(self.platform, t, request)
        self._record_api(t, "POST", media.PATH, client, 200, seen, out)
        return to_aiohttp(self._json(200, out, self.platform.ids.request_id()))

    def file_content(self, req: HttpRequest) -> HttpReply:
        entry = self.platform.files.get(req.path[len(FILES) :])
        if entry is None:
            rid = self.platform.ids.request_id()
            return self._json(
                404,
                {
                    "code": "InvalidAction.NotFound",
                    "message": "unknown or expired download url",
                    "requestid": rid,
                },
                rid,
            )
        name, data = entry
        return HttpReply(
            200, data, {"Content-Disposition": f'attachment; filename="{name}"'}, content_type=None
        )

    # -- OpenAPI endpoints (pure functions of app, body, t) -------------------------------------
    def _card_route(self, route: CardRoute) -> Handler:
        def handle(app: App, body: Any, t: float) -> tuple[dict[str, Any], Card | None, str]:
            body = _obj(body)
            self._own_robot_codes(app, body)
            self._in_groups(app, body)
            card, out = self.platform.cards.call(route, t, app.client_id, body)
            return out, card, route.source

        return handle

    def _own_robot_codes(self, app: App, body: dict[str, Any]) -> None:
        """A card names a robot (``robotCode``, or in a deliver model): when it names one, it
        must be the calling app's; the card core checks the rest."""
        for where, holder in (
            ("", body),
            ("imGroupOpenDeliverModel.", body.get("imGroupOpenDeliverModel")),
            ("imRobotOpenDeliverModel.", body.get("imRobotOpenDeliverModel")),
        ):
            code = holder.get("robotCode") if isinstance(holder, dict) else None
            if isinstance(code, str) and code and code != app.robot_code:
                raise self._foreign_robot(app, code, f"{where}robotCode")

    def _in_groups(self, app: App, body: dict[str, Any]) -> None:
        """Every group a card goes to must have this app's robot in it."""
        cid = body.get("openConversationId")
        if isinstance(cid, str) and cid:
            self.platform.check_member(app.client_id, cid, "openConversationId")
        space = body.get("openSpaceId")
        if isinstance(space, str) and space.startswith(OPEN_SPACE_PREFIX):
            for part in space[len(OPEN_SPACE_PREFIX) :].split(";"):
                kind, _, space_id = part.partition(".")
                if kind.upper() == "IM_GROUP" and space_id:
                    self.platform.check_member(app.client_id, space_id, "openSpaceId")

    def _foreign_robot(self, app: App, code: Any, field: str = "robotCode") -> OpenApiError:
        """The error for a robotCode that is not the calling app's, naming both apps."""
        owner = next(
            (a.client_id for a in self.platform.apps.values() if a.robot_code == code and a is not app), None
        )
        whose = f"app {owner!r}'s robot" if owner else "no robot of this app"
        # DingTalk's code when the token's app does not own the robot named ("This app's appkey
        # does not match the bot's robotCode"); an unknown code is just invalid
        code_name = "invalidParameter.robotCode.auth" if owner else "invalidParameter.robotCode.invalid"
        return OpenApiError(
            400,
            code_name,
            f"{field}: expected this app's robotCode {app.robot_code!r} (the "
            f"access token is app {app.client_id!r}'s), found {echo(code)}, "
            f"which is {whose}",
            violation=owner is not None,
        )

    def _check_msg(self, app: App, body: dict[str, Any]) -> str:
        if body.get("robotCode") != app.robot_code:
            raise self._foreign_robot(app, body.get("robotCode"))
        key = body.get("msgKey")
        if key not in MSG_KEYS:
            raise OpenApiError(
                400,
                "invalidParameter.msgKey.invalid",
                f"msgKey must be one of {', '.join(MSG_KEYS)}, found {echo(key)}",
            )
        param = body.get("msgParam")
        if not isinstance(param, str):
            raise OpenApiError(400, "invalidParameter.msgParam.invalid", "msgParam must be a JSON string")
        try:  # the rules of request bodies: no lone surrogates, NaN or deep nesting either
            parsed = jsonsafe.loads(param, what="msgParam")
        except jsonsafe.BadJson as exc:
            raise OpenApiError(
                400, "invalidParameter.msgParam.invalid", f"{exc}; msgParam must be a JSON object as text"
            ) from None
        if not isinstance(parsed, dict):
            raise OpenApiError(400, "invalidParameter.msgParam.invalid", "msgParam must be a JSON object")
        shown = media.check_message_media(self.platform, app, key, parsed)
        return str(parsed.get("content") or parsed.get("text") or parsed.get("title") or shown)

    def _batch_send(self, app: App, body: Any, t: float) -> tuple[dict[str, Any], None, None]:
        body = _obj(body)
        text = self._check_msg(app, body)
        users = body.get("userIds")
        if not isinstance(users, list) or not users:
            raise OpenApiError(400, "invalidParameter.userIds.empty", "userIds must not be empty")
        wrong = [u for u in users if not isinstance(u, str) or not u]
        if wrong:
            raise OpenApiError(
                400,
                "invalidParameter.userIds.invalid",
                f"userIds must be non-empty strings (staff ids), found {echo(wrong[0])}",
            )
        if len(users) > self.platform.settings.batch_send_max_users:
            raise OpenApiError(
                400,
                "invalidParameter.userIds.overMax",
                f"at most {self.platform.settings.batch_send_max_users} userIds, found {len(users)}",
            )
        self._markdown(t, body)
        for user in users:
            conv = self.platform.conversation_of(app.client_id, None, user)
            self.platform.note(t, conv, "bot", f"robot:{body['msgKey']}", text)
        return (
            {
                "processQueryKey": self.platform.ids.process_query_key(),
                "invalidStaffIdList": [],
                "flowControlledStaffIdList": [],
            },
            None,
            None,
        )

    def _group_send(self, app: App, body: Any, t: float) -> tuple[dict[str, Any], None, None]:
        body = _obj(body)
        text = self._check_msg(app, body)
        cid = body.get("openConversationId")
        if not isinstance(cid, str) or not cid:
            raise OpenApiError(400, "invalid.openConversationId", "openConversationId is required")
        self.platform.check_member(app.client_id, cid, "openConversationId")
        if len(body["msgParam"].encode()) > 15_000:
            raise OpenApiError(
                400, "invalidParameter.msgParam.invalid", "msgParam is larger than 15000 bytes"
            )
        self._markdown(t, body)
        self.platform.note(t, cid, "bot", f"robot:{body['msgKey']}", text)
        return {"processQueryKey": self.platform.ids.process_query_key()}, None, None

    def _markdown(self, t: float, body: dict[str, Any]) -> None:
        if body.get("msgKey") == "sampleMarkdown":
            param = jsonsafe.loads(body["msgParam"], what="msgParam")
            self.platform.note_markdown(t, "sampleMarkdown", str(param.get("text", "")))

    def _file_download(self, app: App, body: Any, t: float) -> tuple[dict[str, Any], None, None]:
        body = _obj(body)
        code = body.get("downloadCode")
        if not isinstance(code, str) or code not in self.platform.files:
            raise OpenApiError(
                400, "invalidParameter.downloadCode.invalid", f"unknown downloadCode {echo(code)}"
            )
        if body.get("robotCode") != app.robot_code:
            raise self._foreign_robot(app, body.get("robotCode"))
        return {"downloadUrl": f"{self.platform.http_url}/_files/{code}"}, None, None


def _obj(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise OpenApiError(400, "param.error", f"body must be a JSON object, found {type(body).__name__}")
    return body


def _client(body: Any, key: str = "clientId") -> str | None:
    return body.get(key) if isinstance(body, dict) and isinstance(body.get(key), str) else None


def _webhook_kind(body: Any) -> Any:
    """``msgtype``, or a graph reply's ``contentType`` (``ai_card``, ``markdown``...)."""
    if not isinstance(body, dict):
        return None
    return body.get("msgtype") or body.get("contentType")
