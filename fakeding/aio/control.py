"""The control API under ``/_fakeding/``: the Python API over JSON, one call per route.

Bad input answers 400 ``{"error": ..., "field": ...}`` naming the field. Control traffic is
never recorded.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fakeding.core import contracts, control_settings, control_spec, jsonsafe
from fakeding.core.api import FakeDingAPI
from fakeding.core.exceptions import ConfigError, ControlError
from fakeding.core.templates import TemplateError

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # what json.dumps(ensure_ascii=False) builds per call


def _ok(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=jsonsafe.dumps_readable)  # whatever is stored


ERROR_MAX_CHARS = 1000


def clipped(text: str) -> str:
    """An error that quotes a huge value keeps its start (field, expectation) and its end
    (what to do), not the 900 KB in between."""
    if len(text) <= ERROR_MAX_CHARS:
        return text
    cut = len(text) - ERROR_MAX_CHARS + 200
    return f"{text[:600]}... ({cut} characters cut) ...{text[-200:]}"


def _guard(fn: Callable[[web.Request], Awaitable[Any]]) -> Route:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return _ok(await fn(request))
        except ControlError as exc:
            return _ok({"error": clipped(str(exc)), "field": exc.field}, 400)
        except ConfigError as exc:
            text = str(exc)
            field = text.partition(":")[0] if text.startswith("callbackUrl:") else "clientId"
            return _ok(
                {"error": clipped(text if field != "clientId" else f"clientId: {exc}"), "field": field}, 400
            )

    return handle


async def _json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = jsonsafe.loads(raw)
    except jsonsafe.BadJson as exc:
        raise ControlError("body", f"expected a JSON object: {exc}") from None
    if not isinstance(body, dict):
        raise ControlError("body", f"expected a JSON object, found {type(body).__name__}")
    return body


def _str(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ControlError(f"{where}{key}", f"expected a non-empty string, found {value!r}")
    return value


def add_control_routes(app: web.Application, fake: FakeDingAPI) -> None:
    async def health(_: web.Request) -> Any:
        return {"status": "ok"}

    async def messages(request: web.Request) -> Any:
        body = await _json(request)
        conv = body.get("conversation")
        if not isinstance(conv, dict):
            raise ControlError("conversation", f"expected an object {{id, type, title?}}, found {conv!r}")
        sender = body.get("sender")
        if not isinstance(sender, dict):
            raise ControlError("sender", f"expected an object {{staffId, nick?}}, found {sender!r}")
        at_bot = body.get("atBot", True)
        if not isinstance(at_bot, bool):
            raise ControlError("atBot", f"expected true or false, found {at_bot!r}")
        msgtype = body.get("msgtype", "text")
        text = body.get("text")
        if msgtype == "text" and not isinstance(text, str):
            raise ControlError("text", f"expected a string, found {text!r}")
        if text is not None and not isinstance(text, str):  # it lands in typed payload fields
            raise ControlError("text", f"expected a string or null, found {text!r}")
        content = body.get("content")
        if content is not None and not isinstance(content, dict):
            raise ControlError("content", f"expected an object, found {content!r}")
        at_users = body.get("atUsers", [])
        if not isinstance(at_users, list) or not all(isinstance(u, str) and u for u in at_users):
            raise ControlError("atUsers", f"expected a list of staff ids, found {at_users!r}")
        sent = fake.send_message(
            text,
            conversation_id=_str(conv, "id", "conversation.") or "",
            conversation_type=_str(conv, "type", "conversation.") or "",
            title=_str(conv, "title", "conversation.", required=False),
            staff_id=_str(sender, "staffId", "sender.") or "",
            nick=_str(sender, "nick", "sender.", required=False),
            msgtype=msgtype,
            content=content,
            at_bot=at_bot,
            client_id=_str(body, "clientId", "", required=False),
            at_users=tuple(at_users),
        )
        return {"msgId": sent.msg_id, "messageId": sent.message_id, "delivered": sent.delivered}

    async def cards(_: web.Request) -> Any:
        return fake.cards()

    async def click(request: web.Request) -> Any:
        body = await _json(request)
        params = body.get("params")
        if params is not None and not isinstance(params, dict):
            raise ControlError("params", f"expected an object, found {params!r}")
        message_id = fake.click(
            request.match_info["card_id"],
            staff_id=_str(body, "staffId", "") or "",
            button_id=_str(body, "buttonId", "") or "",
            params=params,
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
        body = await _json(request)
        f = fake.fault(body)
        return {"armed": f.describe()}

    async def reset(request: web.Request) -> Any:
        body = await _json(request)
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ControlError("seed", f"expected an integer, found {seed!r}")
        sessions = body.get("sessions", False)
        if not isinstance(sessions, bool):
            raise ControlError("sessions", f"expected true or false, found {sessions!r}")
        fake.reset(seed, sessions=sessions)
        return {"status": "reset"}

    async def push(request: web.Request) -> Any:
        """``{"eventType", "data"}`` pushes an EVENT with its headers; ``{"topic", "data",
        "type"}`` any CALLBACK or EVENT frame."""
        body = await _json(request)
        data = body.get("data", {})
        if not isinstance(data, dict):
            raise ControlError("data", f"expected an object, found {data!r}")
        client_id = _str(body, "clientId", "", required=False)
        if "eventType" in body:
            event_type = _str(body, "eventType", "") or ""
            return {"messageId": fake.push_event(event_type, data, client_id=client_id) or None}
        topic = _str(body, "topic", "") or ""
        type_ = _str(body, "type", "", required=False) or "CALLBACK"
        if type_ not in ("CALLBACK", "EVENT"):
            raise ControlError("type", f"expected CALLBACK or EVENT, found {type_!r}")
        return {"messageId": fake.push(topic, data, type_=type_, client_id=client_id) or None}

    async def violations(_: web.Request) -> Any:
        return [r.to_dict() for r in fake.violations]

    async def settings(request: web.Request) -> Any:
        if request.method == "PATCH":
            return fake.update_settings(await _json(request))
        return control_settings.view(fake.settings)

    async def apps(request: web.Request) -> Any:
        if request.method == "POST":
            spec = control_settings.check_app(await _json(request))
            client_id = spec["client_id"]
            fake.add_app(**spec)
            return next(a for a in fake.apps() if a["clientId"] == client_id)
        return fake.apps()

    async def custom_robots(request: web.Request) -> Any:
        if request.method == "POST":
            return fake.add_custom_robot(await _json(request))
        return fake.custom_robots()

    async def groups(request: web.Request) -> Any:
        body = await _json(request)
        cid = _str(body, "conversationId", "")
        client_id = _str(body, "clientId", "")
        assert cid is not None and client_id is not None
        return {"conversationId": cid, "robots": fake.join_group(cid, client_id)}

    async def templates(request: web.Request) -> Any:
        if request.method == "PUT":
            template_id = request.match_info["templateId"]
            try:
                return fake.register_template(template_id, await _json(request))
            except TemplateError as exc:
                raise ControlError("body", str(exc)) from None
        return fake.templates()

    async def card_view(request: web.Request) -> Any:
        local: dict[str, Any] = {}
        for key, value in request.query.items():
            if key.startswith("local."):
                local[key[len("local.") :]] = value
        try:
            view = fake.card_view(request.match_info["card_id"], user=request.query.get("user"), local=local)
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
    control_spec.register(app.router, "control", handlers)
