"""The control API under ``/_fakeding/``: the Python API over JSON, one call per route.

Bad input answers 400 ``{"error": ..., "field": ...}`` naming the field: bodies are checked
against the table's schemas before a handler runs (``fakeding.aio.control_routes``), so the
handlers keep only what a schema cannot say. Control traffic is never recorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fakeding.aio.control_routes import body_of, clipped, register
from fakeding.core import contracts, control_settings, control_spec, jsonsafe
from fakeding.core.api import FakeDingAPI
from fakeding.core.exceptions import ConfigError, ControlError
from fakeding.core.templates import TemplateError

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ok(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=jsonsafe.dumps_readable)  # whatever is stored


__all__ = ["add_control_routes", "clipped", "refused", "send_message"]


def refused(exc: ControlError | ConfigError) -> dict[str, Any]:
    """The 400 body ``{"error", "field"}`` for bad input a handler found."""
    if isinstance(exc, ControlError):
        return {"error": clipped(str(exc)), "field": exc.field}
    text = str(exc)
    field = text.partition(":")[0] if text.startswith("callbackUrl:") else "clientId"
    return {"error": clipped(text if field != "clientId" else f"clientId: {exc}"), "field": field}


def _guard(fn: Callable[[web.Request], Awaitable[Any]]) -> Route:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return _ok(await fn(request))
        except (ControlError, ConfigError) as exc:
            return _ok(refused(exc), 400)

    return handle


def send_message(fake: FakeDingAPI, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_fakeding/messages`` with its checked body: a user's message, pushed to the robot."""
    conv, sender = body["conversation"], body["sender"]
    msgtype = body.get("msgtype", "text")
    text = body.get("text")
    if msgtype == "text" and text is None:
        raise ControlError("text", "expected a string (a text message's words), found nothing")
    sent = fake.send_message(
        text,
        conversation_id=conv["id"],
        conversation_type=conv["type"],
        title=conv.get("title"),
        staff_id=sender["staffId"],
        nick=sender.get("nick"),
        msgtype=msgtype,
        content=body.get("content"),
        at_bot=body.get("atBot", True),
        client_id=body.get("clientId"),
        at_users=tuple(body.get("atUsers", ())),
    )
    return {"msgId": sent.msg_id, "messageId": sent.message_id, "delivered": sent.delivered}


def add_control_routes(app: web.Application, fake: FakeDingAPI) -> None:
    async def health(_: web.Request) -> Any:
        return {"status": "ok"}

    async def messages(request: web.Request) -> Any:
        return send_message(fake, body_of(request))  # shapes checked against the table's schema

    async def cards(_: web.Request) -> Any:
        return fake.cards()

    async def click(request: web.Request) -> Any:
        body = body_of(request)
        message_id = fake.click(
            request.match_info["card_id"],
            staff_id=body["staffId"],
            button_id=body["buttonId"],
            params=body.get("params"),
        )
        return {"messageId": message_id or None}  # null while queued, as for /messages

    async def timeline(request: web.Request) -> web.StreamResponse:
        """The recording as JSON, or as JSON lines with ``?format=jsonl`` (a file to keep);
        ``since=SEQ`` returns only records after that one, at the cost of what it returns."""
        kinds = set(request.query.getall("kind", []))
        fmt = request.query.get("format", "json")
        since = request.query.get("since")
        if since is not None and not since.isdigit():
            return _ok(
                {
                    "error": f"since: expected a record's seq (an integer >= 0), found {since[:40]!r}",
                    "field": "since",
                },
                400,
            )
        if fmt not in ("json", "jsonl"):
            return _ok(
                {"error": f"format: expected json or jsonl, found {fmt[:40]!r}", "field": "format"}, 400
            )
        records = fake.recorder.since(int(since)) if since is not None else fake.recorder.records
        rows = [r for r in records if not kinds or r.kind in kinds]
        if fmt == "jsonl":
            return web.Response(text=fake.recorder.to_json_lines(rows), content_type="application/x-ndjson")
        return _ok([r.to_dict() for r in rows])

    async def conversation(request: web.Request) -> Any:
        return fake.transcript(request.match_info["cid"])

    async def faults(request: web.Request) -> Any:
        f = fake.fault(body_of(request))
        return {"armed": f.describe()}

    async def reset(request: web.Request) -> Any:
        body = body_of(request)
        seed = body.get("seed")
        fake.reset(None if seed is None else int(seed), sessions=body.get("sessions", False))
        return {"status": "reset"}

    async def push(request: web.Request) -> Any:
        """``{"eventType", "data"}`` pushes an EVENT with its headers; ``{"topic", "data",
        "type"}`` any CALLBACK or EVENT frame."""
        body = body_of(request)
        data = body.get("data", {})
        client_id = body.get("clientId")
        if "eventType" in body:
            return {"messageId": fake.push_event(body["eventType"], data, client_id=client_id) or None}
        if "topic" not in body:
            raise ControlError("topic", "expected a non-empty string, found nothing; give eventType or topic")
        type_ = body.get("type") or "CALLBACK"
        return {"messageId": fake.push(body["topic"], data, type_=type_, client_id=client_id) or None}

    async def violations(_: web.Request) -> Any:
        return [r.to_dict() for r in fake.violations]

    async def settings(request: web.Request) -> Any:
        if request.method == "PATCH":
            return fake.update_settings(body_of(request))
        return control_settings.view(fake.settings)

    async def apps(request: web.Request) -> Any:
        if request.method == "POST":
            body = body_of(request)
            fake.add_app(
                body["clientId"],
                body["clientSecret"],
                scopes=body.get("scopes"),
                robot_code=body.get("robotCode"),
                callback_url=body.get("callbackUrl"),
            )
            return next(a for a in fake.apps() if a["clientId"] == body["clientId"])
        return fake.apps()

    async def custom_robots(request: web.Request) -> Any:
        if request.method == "POST":
            return fake.add_custom_robot(body_of(request))
        return fake.custom_robots()

    async def groups(request: web.Request) -> Any:
        body = body_of(request)
        cid = body["conversationId"]
        return {"conversationId": cid, "robots": fake.join_group(cid, body["clientId"])}

    async def templates(request: web.Request) -> Any:
        if request.method == "PUT":
            template_id = request.match_info["templateId"]
            try:
                return fake.register_template(template_id, body_of(request))
            except TemplateError as exc:
                raise ControlError("body", str(exc)) from None
        return fake.templates()

    async def card_view(request: web.Request) -> Any:
        local: dict[str, Any] = {}
        for key, value in request.query.items():
            if key.startswith("local."):
                local[key[len("local.") :]] = value
        raw = request.query.get("version")
        if raw is not None and (not raw.isdigit() or int(raw) < 1):
            raise ControlError("version", f"expected a version number (1 = the first), found {raw[:40]!r}")
        version = int(raw) if raw is not None else None
        try:
            view = fake.card_view(
                request.match_info["card_id"], user=request.query.get("user"), local=local, version=version
            )
        except KeyError as exc:
            raise ControlError("card_id", str(exc.args[0]) if exc.args else str(exc)) from None
        return view

    async def doctor(_: web.Request) -> Any:
        return {"findings": fake.doctor()}

    async def openapi(_: web.Request) -> Any:
        return control_spec.document()

    async def dingtalk_openapi(_: web.Request) -> Any:
        return contracts.document()

    async def stream_asyncapi(_: web.Request) -> Any:
        return contracts.asyncapi()

    handlers = {
        "health": _guard(health),
        "messages": _guard(messages),
        "cards": _guard(cards),
        "click": _guard(click),
        "timeline": timeline,
        "conversation": _guard(conversation),
        "faults": _guard(faults),
        "reset": _guard(reset),
        "violations": _guard(violations),
        "settings": _guard(settings),
        "apps": _guard(apps),
        "custom_robots": _guard(custom_robots),
        "doctor": _guard(doctor),
        "templates": _guard(templates),
        "card_view": _guard(card_view),
        "groups": _guard(groups),
        "openapi": _guard(openapi),
        "dingtalk_openapi": _guard(dingtalk_openapi),
        "stream_asyncapi": _guard(stream_asyncapi),
        "push": _guard(push),
    }
    register(app.router, "control", handlers)
