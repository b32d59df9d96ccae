"""The control API as one table (``ROUTES``): it registers the routes and checks their request
bodies against the schemas below (``fakeding.aio.control_routes``), documents them as an
OpenAPI 3.1 document and lists them on the reference page.

Why: a robot written in Node, Go or Java drives the fake only through ``/_fakeding/``; the
document (served at ``/_fakeding/openapi.json``) tells it every route and shape, and a test
checks the running server against it both ways. Each route carries an ``example`` request
that must answer 200 and, where it has one, a ``bad`` request that must answer 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakeding.core.faults import KINDS
from fakeding.core.settings import knobs

S = dict[str, Any]


def obj(required: tuple[str, ...] = (), **props: S) -> S:
    return {"type": "object", "required": list(required), "properties": props}


def arr(items: S) -> S:
    return {"type": "array", "items": items}


def closed(schema: S) -> S:
    """An object schema that refuses keys it does not list."""
    return {**schema, "additionalProperties": False}


STR: S = {"type": "string"}
BOOL: S = {"type": "boolean"}
NUM: S = {"type": "number"}
ANY_OBJ: S = {"type": "object"}
NULLABLE_STR: S = {"type": ["string", "null"]}
# Request schemas: what the fake enforces (``fakeding.core.json_check``) before a handler runs.
NONEMPTY: S = {"type": "string", "minLength": 1}
OPT_NONEMPTY: S = {"type": ["string", "null"], "minLength": 1}
OPT_OBJ: S = {"type": ["object", "null"]}
ERROR = obj(("error", "field"), error=STR, field=STR)
RECORD = obj(("seq", "t", "kind"), seq={"type": "integer"}, t=NUM, kind=STR)
CARD = obj(
    ("cardBizId", "kind", "conversationId", "user", "clientId", "callbackType", "privateData", "versions"),
    cardBizId=STR,
    kind={"enum": ["interactive", "instance"]},
    conversationId=NULLABLE_STR,
    user=NULLABLE_STR,
    clientId=STR,
    callbackType={"enum": ["STREAM", "HTTP", None]},
    privateData={"type": "object", "additionalProperties": ANY_OBJ},
    versions=arr(obj(("t", "cardData", "via"), t=NUM, cardData=ANY_OBJ, via=STR, key=STR)),
    atUsers=arr(STR),
    flowStatus=NULLABLE_STR,
    finalized=BOOL,
    failed=BOOL,
)
LINE = obj(
    ("t", "who", "kind", "text", "conversation"),
    t=NUM,
    who=STR,
    kind=STR,
    text=STR,
    ref=STR,
    conversation=STR,
    data=ANY_OBJ,
)
APP = obj(
    ("clientId", "appId", "robotCode", "scopes", "callbackUrl", "offDutyPrompt", "cardCallbackRoutes"),
    clientId=STR,
    appId=STR,
    robotCode=STR,
    scopes=arr(STR),
    callbackUrl=NULLABLE_STR,
    offDutyPrompt={"type": ["object", "null"]},
    cardCallbackRoutes={"type": "object", "additionalProperties": STR},
)
CUSTOM_ROBOT = obj(
    ("accessToken", "conversationId", "name", "signed", "keywords", "ipAllowlist"),
    accessToken={"type": "string", "description": "its first characters only"},
    conversationId=STR,
    name=STR,
    signed=BOOL,
    keywords=arr(STR),
    ipAllowlist=arr(STR),
)
CUSTOM_ROBOT_IN = closed(
    obj(
        ("accessToken", "conversationId"),
        accessToken=NONEMPTY,
        conversationId=NONEMPTY,
        secret={
            "type": ["string", "null"],
            "minLength": 1,
            "description": "signature security: the SEC… value; sends then need timestamp and sign",
        },
        keywords=arr(NONEMPTY),
        ipAllowlist=arr(NONEMPTY),
        name=NONEMPTY,
    )
)
TEMPLATE = obj(
    ("templateId", "type", "variables", "locals", "aiStatuses"),
    templateId=STR,
    type=STR,
    variables=arr(obj(("name", "type", "private"), name=STR, type=STR, private=BOOL)),
    locals=arr(STR),
    aiStatuses=arr({"type": "integer"}),
)
EXAMPLE_EXPORT: S = {
    "editorData": '{"variableList": [{"name": "content", "type": "markdown"}], '
    '"extension": {"extendType": "AI", "aiStatusList": [1, 2, 3, 5]}}',
    "widgetInfo": '<LinearLayout><DDRichTextView attributedText="@data{data.cardData.content}">'
    "</DDRichTextView></LinearLayout>",
    "type": "im",
    "mode": "card",
}
APP_IN = closed(
    obj(
        ("clientId", "clientSecret"),
        clientId=NONEMPTY,
        clientSecret=NONEMPTY,
        scopes={"type": ["array", "null"], "items": STR},
        robotCode=OPT_NONEMPTY,
        callbackUrl={
            "type": ["string", "null"],
            "minLength": 1,
            "description": "loopback only; the app's robot messages are POSTed here (HTTP mode)",
        },
    )
)


GUARD_RESPONSES: S = {
    "401": {
        "description": "this fake wants its control token (Authorization: Bearer TOKEN)",
        "content": {"application/json": {"schema": ERROR}},
    },
    "403": {
        "description": "a foreign Origin or Sec-Fetch-Site, or a Host the fake does not "
        "serve (`field` names the header)",
        "content": {"application/json": {"schema": ERROR}},
    },
}


def settings_schema(*, partial: bool) -> S:
    table = knobs()
    schema = {
        "type": "object",
        "properties": {k.name: k.schema() for k in table.values() if not partial or k.name != "host"},
        "additionalProperties": False,
        "x-key-noun": "setting",
    }
    if not partial:
        schema["required"] = list(table)
    return schema


@dataclass(frozen=True)
class ControlRoute:
    method: str
    path: str
    summary: str
    response: S
    body: S | None = None
    example: S | None = None  # a request body that answers 200
    bad: S | None = None  # a request body that answers 400 (then documented)
    params: dict[str, str] = field(default_factory=dict)  # path parameter -> example value
    media: str = "application/json"  # of the 200 answer; the schema is of its parsed content
    query: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (description, example)
    handler: str = ""  # the name its module serves it under (see ``register``)
    owner: str = "control"  # control: fakeding.aio.control; live: the emulator's; env: fakeding.aio.tls_route
    # body: the request schema, enforced before the handler runs (fakeding.core.json_check)


ROUTES: tuple[ControlRoute, ...] = (
    ControlRoute(
        "GET", "/_fakeding/health", "is the fake up", obj(("status",), status=STR), handler="health"
    ),
    ControlRoute(
        "POST",
        "/_fakeding/messages",
        "a user writes in a conversation",
        obj(("msgId", "messageId", "delivered"), msgId=STR, messageId=NULLABLE_STR, delivered=BOOL),
        body=obj(
            ("conversation", "sender"),
            conversation=obj(
                ("id", "type"), id=NONEMPTY, type={"enum": ["group", "single"]}, title=OPT_NONEMPTY
            ),
            sender=obj(("staffId",), staffId=NONEMPTY, nick=OPT_NONEMPTY),
            text={"type": ["string", "null"], "description": "needed when msgtype is text (the default)"},
            atBot=BOOL,
            msgtype={"enum": ["text", "picture", "richText", "audio", "video", "file"]},
            content=OPT_OBJ,
            clientId=OPT_NONEMPTY,
            atUsers={
                "type": "array",
                "items": NONEMPTY,
                "title": "a list of staff ids",
                "description": "staff ids @mentioned besides the robot (groups)",
            },
        ),
        example={
            "conversation": {"id": "cidExample", "type": "group", "title": "Support"},
            "sender": {"staffId": "alice", "nick": "Alice"},
            "text": "hello",
            "atBot": False,
        },
        bad={
            "conversation": {"id": "cidExample", "type": "channel"},
            "sender": {"staffId": "alice"},
            "text": "hi",
        },
        handler="messages",
    ),
    ControlRoute("GET", "/_fakeding/cards", "every card with its versions", arr(CARD), handler="cards"),
    ControlRoute(
        "POST",
        "/_fakeding/cards/{card_id}/click",
        "a user clicks a card button",
        obj(("messageId",), messageId=NULLABLE_STR),
        body=obj(("staffId", "buttonId"), staffId=NONEMPTY, buttonId=NONEMPTY, params=OPT_OBJ),
        example={"staffId": "alice", "buttonId": "yes"},
        bad={"staffId": "alice"},
        params={"card_id": "card-example"},
        handler="click",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/timeline",
        "the recording, in order (JSON, or JSON lines)",
        arr(RECORD),
        query={
            "kind": ("only these record kinds (repeatable)", "api"),
            "format": ("json (default) or jsonl", "json"),
            "since": ("only records after this seq (pollers keep the last seq they saw)", "0"),
        },
        handler="timeline",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/conversations/{cid}",
        "a conversation's transcript",
        arr(LINE),
        params={"cid": "cidExample"},
        handler="conversation",
    ),
    ControlRoute(
        "POST",
        "/_fakeding/faults",
        "inject a fault now or later (see the fault kinds reference)",
        obj(("armed",), armed=ANY_OBJ),
        body=obj(("kind",), kind={"enum": list(KINDS)}, at=NUM, seconds=NUM),
        example={
            "kind": "api",
            "route": "POST /v1.0/card/instances",
            "status": 500,
            "code": "system.busy",
            "nth": 1000,
        },
        bad={"kind": "earthquake"},
        handler="faults",
    ),
    ControlRoute(
        "POST",
        "/_fakeding/reset",
        "forget what happened (apps stay)",
        obj(("status",), status={"const": "reset"}),
        body=obj((), seed={"type": ["integer", "null"]}, sessions=BOOL),
        example={"seed": 7},
        bad={"seed": "seven"},
        handler="reset",
    ),
    ControlRoute(
        "GET", "/_fakeding/violations", "protocol violations so far", arr(RECORD), handler="violations"
    ),
    ControlRoute(
        "POST",
        "/_fakeding/push",
        "push an EVENT with its event headers ({eventType, data}) or any frame ({topic, data, "
        "type}); an EVENT acked LATER or with code != 200 is redelivered",
        obj(("messageId",), messageId=NULLABLE_STR),
        body=obj(
            (),
            eventType=NONEMPTY,
            topic={**NONEMPTY, "description": "needed without eventType"},
            type={"enum": ["CALLBACK", "EVENT", None]},
            data=ANY_OBJ,
            clientId=OPT_NONEMPTY,
        ),
        example={"eventType": "user_add_org", "data": {"userId": ["alice"]}},
        bad={"eventType": "user_add_org", "data": "not an object"},
        handler="push",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/settings",
        "every setting and its value",
        settings_schema(partial=False),
        handler="settings",
    ),
    ControlRoute(
        "PATCH",
        "/_fakeding/settings",
        "change settings now, keeping what happened; answers every setting",
        settings_schema(partial=False),
        body=settings_schema(partial=True),
        example={"redelivery_delay": 2, "qps_limit": None},
        bad={"redelivery_delay": "soon"},
        handler="settings",
    ),
    ControlRoute("GET", "/_fakeding/apps", "registered apps (never their secrets)", arr(APP), handler="apps"),
    ControlRoute(
        "POST",
        "/_fakeding/apps",
        "register an app (again: replaces scopes and callback URL)",
        APP,
        body=APP_IN,
        example={
            "clientId": "example-app",
            "clientSecret": "example-secret",
            "scopes": ["Card.Instance.Write"],
        },
        bad={"clientId": "example-app"},
        handler="apps",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/custom-robots",
        "custom group robots (never their secrets)",
        arr(CUSTOM_ROBOT),
        handler="custom_robots",
    ),
    ControlRoute(
        "POST",
        "/_fakeding/custom-robots",
        "add a custom group robot to a group: tools then POST to /robot/send?"
        "access_token=… (again: replaces its settings)",
        CUSTOM_ROBOT,
        body=CUSTOM_ROBOT_IN,
        example={"accessToken": "example-token", "conversationId": "cidAlerts", "keywords": ["alert"]},
        bad={"accessToken": "example-token"},
        handler="custom_robots",
    ),
    ControlRoute(
        "POST",
        "/_fakeding/groups",
        "add an app's robot to a group: a robot posts only to groups it is in (one "
        "is in a group once a user's message there was for it)",
        obj(("conversationId", "robots"), conversationId=STR, robots=arr(STR)),
        body=obj(("conversationId", "clientId"), conversationId=NONEMPTY, clientId=NONEMPTY),
        example={"conversationId": "cidExample", "clientId": "fakeding-client"},
        bad={"conversationId": "cidExample"},
        handler="groups",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/templates",
        "registered card templates (see PUT /_fakeding/templates/{templateId})",
        arr(TEMPLATE),
        handler="templates",
    ),
    ControlRoute(
        "PUT",
        "/_fakeding/templates/{templateId}",
        "register a card template: the body is the card platform's export of it "
        "({editorData, widgetInfo, type, mode}); its cards are then drawn and "
        "checked, and unknown template ids refused (forgotten by a reset)",
        TEMPLATE,
        body=obj(
            ("editorData", "widgetInfo"),
            editorData={"type": ["string", "object"], "description": "JSON text, or the object it encodes"},
            widgetInfo={
                "type": "string",
                "minLength": 1,
                "title": "the layout as a string (<LinearLayout ...>)",
            },
            type=STR,
            mode=STR,
        ),
        example=EXAMPLE_EXPORT,
        bad={"editorData": "{}", "widgetInfo": "<broken"},
        params={"templateId": "example-template.schema"},
        handler="templates",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/cards/{card_id}/view",
        "what a user sees of a card of a registered template (null for others): "
        "texts, markdown, images, inputs and buttons with their callback payloads",
        {"type": ["object", "null"]},
        params={"card_id": "card-example"},
        query={
            "user": ("whose private data to draw", "alice"),
            "version": ("the version to draw, with that user's private data then (default: the latest)", "1"),
            "local.NAME": ("a local variable's value (an input's text)", ""),
        },
        handler="card_view",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/doctor",
        "likely misconfigurations so far, in DingTalk's words, errors first",
        obj(
            ("findings",),
            findings=arr(
                obj(
                    ("code", "severity", "title", "detail", "fix", "evidence"),
                    code=STR,
                    severity={"enum": ["error", "warning", "info"]},
                    title=STR,
                    detail=STR,
                    fix=STR,
                    evidence=arr(STR),
                )
            ),
        ),
        handler="doctor",
    ),
    ControlRoute(
        "POST",
        "/_fakeding/settings",
        "the emulator page's settings form: changes a few settings, answers every setting",
        settings_schema(partial=False),
        body=settings_schema(partial=True),
        example={"redelivery_delay": 5},
        bad={"qps_limit": "many"},
        handler="settings",
        owner="live",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/connections",
        "live Stream connections",
        arr(obj(("id", "client", "state", "opened"), id=STR, client=STR, state=STR, opened=NUM)),
        handler="conns",
        owner="live",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/records",
        "older timeline events than the live snapshot carries (it has the latest "
        "500), in its words, oldest first",
        arr(RECORD),
        query={
            "before": ("only records before this seq (the first one the page has)", "100"),
            "limit": ("how many, the latest of them (default 500, at most 5000)", "50"),
        },
        handler="older",
        owner="live",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/frames",
        "the frames pushed for one message (key: its msgId), headers and data, one "
        "per delivery attempt, as the robot received them; kept until history_limit "
        "acked deliveries later",
        arr(
            obj(
                ("client", "attempt", "acked", "frame", "data"),
                client=STR,
                attempt={"type": "integer"},
                acked=BOOL,
                frame=ANY_OBJ,
                data=ANY_OBJ,
            )
        ),
        query={"key": ("the message's msgId", "msgExample")},
        handler="frames",
        owner="live",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/settings/knobs",
        "every setting for a form: its type, whether null switches it off, its default and what it does",
        arr(
            obj(
                ("name", "kind", "nullable", "default", "help", "fixed"),
                name=STR,
                kind=STR,
                nullable=BOOL,
                default={},
                help=STR,
                fixed=BOOL,
            )
        ),
        handler="knob_table",
        owner="live",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/faults",
        "faults still to come: waiting for their time (at) or armed and not used up",
        arr(
            obj(
                ("id", "state", "spec"),
                id={"type": "integer"},
                state={"enum": ["waiting", "armed"]},
                spec=ANY_OBJ,
            )
        ),
        handler="armed",
        owner="live",
    ),
    ControlRoute(
        "POST",
        "/_fakeding/faults/disarm",
        "take back a fault that has not fired (yet, or not all its count)",
        obj(("disarmed", "armed"), disarmed=BOOL, armed={"type": "array"}),
        body=obj(
            ("id",),
            id={
                "type": "integer",
                "title": "the number of an armed fault (GET /_fakeding/faults lists them)",
            },
        ),
        example={"id": 1},
        bad={"id": "one"},
        handler="disarm",
        owner="live",
    ),
    ControlRoute(
        "POST",
        "/_fakeding/files",
        "keep a file a user sends (the emulator's picture and file upload): the "
        "answer's downloadCode goes in a message's content, and the robot downloads "
        "the bytes through /v1.0/robot/messageFiles/download",
        obj(("downloadCode",), downloadCode=STR),
        body=obj(
            ("name", "base64"),
            name={
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "title": "the file's name (1-255 characters)",
            },
            base64={"type": "string", "title": "the file's bytes as base64 text"},
        ),
        example={"name": "hello.txt", "base64": "aGVsbG8="},
        bad={"name": "hello.txt", "base64": "not base64!"},
        handler="upload",
        owner="live",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/events",
        "server-sent events: a snapshot of the run, then every change (the schema is of each event's data)",
        obj(("type",), type=STR),
        media="text/event-stream",
        handler="events",
        owner="live",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/scenario",
        "the session so far as a scenario file",
        obj(("name", "steps"), name=STR, steps={"type": "array"}),
        query={"name": ("the scenario's name", "example session")},
        media="application/yaml",
        handler="scenario",
        owner="live",
    ),
    ControlRoute(
        "POST",
        "/_fakeding/scenario/steps",
        "a scenario file's text checked with the scenario schema and answered as typed steps, "
        "each with the control request that replays it (the emulator's Load scenario); an error "
        "names the file's line, the step and the field",
        obj(
            ("name", "steps", "setup", "notes"),
            name=STR,
            file=STR,
            steps=arr(
                obj(
                    ("n", "index", "line", "at", "kind", "summary", "request"),
                    n={"type": "integer"},
                    index={"type": "integer"},
                    line={"type": "integer"},
                    at=NUM,
                    kind={"enum": ["say", "click", "fault", "event", "graph", "settings", "wait"]},
                    summary=STR,
                    request={"type": ["object", "null"]},
                    conversation=STR,
                    card={"type": "integer"},
                    note=STR,
                )
            ),
            setup=arr(ANY_OBJ),
            notes=arr(STR),
        ),
        body=obj(
            ("yaml",),
            yaml={"type": "string", "minLength": 1, "title": "the scenario file's text"},
            name={"type": ["string", "null"], "title": "the file's name"},
        ),
        example={
            "yaml": "name: hello\nusers: {u1: {nick: Ann}}\nconversations: {team: {type: group}}\n"
            "steps:\n  - at: 0\n    say: {user: u1, in: team, text: hi}\n",
            "name": "hello.yaml",
        },
        bad={"yaml": "name: hello\nsteps:\n  - at: 0\n    say: {user: nobody, in: team, text: hi}\n"},
        handler="scenario_steps",
        owner="live",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/scenarios",
        "the scenario files of `fakeding serve --scenarios DIR`, each with its text (the emulator's "
        "Replay pane lists them); without that option, none and a note saying how",
        obj(
            ("folder", "scenarios"),
            folder=NULLABLE_STR,
            scenarios=arr(obj(("file",), file=STR, yaml=STR, error=STR)),
            note=STR,
        ),
        handler="scenario_files",
        owner="live",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/web/{name}",
        "the emulator page's files",
        STR,
        params={"name": "app.css"},
        media="text/css",
        handler="static",
        owner="live",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/env",
        "what a language's official SDK must set to reach this fake (node, go and java need serve --tls)",
        obj(("lang", "env"), lang=STR, env=ANY_OBJ),
        query={"lang": ("python, node, go or java", "python")},
        handler="env",
        owner="env",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/dingtalk-openapi.json",
        "the OpenAPI document of the DingTalk routes this fake serves",
        obj(("openapi", "paths"), openapi=STR, paths=ANY_OBJ),
        handler="dingtalk_openapi",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/asyncapi.json",
        "the AsyncAPI document of the Stream protocol as this fake speaks it",
        obj(("asyncapi", "channels"), asyncapi=STR, channels=ANY_OBJ),
        handler="stream_asyncapi",
    ),
    ControlRoute(
        "GET",
        "/_fakeding/openapi.json",
        "this document",
        obj(("openapi", "paths"), openapi=STR, paths=ANY_OBJ),
        handler="openapi",
    ),
)


def document() -> S:
    """The OpenAPI 3.1 document of the control API."""
    paths: S = {}
    for route in ROUTES:
        op: S = {
            "summary": route.summary,
            "responses": {
                "200": {"description": "done", "content": {route.media: {"schema": route.response}}}
            },
        }
        parameters = [
            {"name": n, "in": "path", "required": True, "schema": STR, "example": v}
            for n, v in route.params.items()
        ]
        parameters += [
            {"name": n, "in": "query", "required": False, "schema": STR, "description": d, "example": v}
            for n, (d, v) in route.query.items()
        ]
        if parameters:
            op["parameters"] = parameters
        if route.body is not None:
            media: S = {"schema": route.body}
            if route.example is not None:
                media["example"] = route.example
            op["requestBody"] = {"required": False, "content": {"application/json": media}}
        op["responses"].update(GUARD_RESPONSES)
        if route.method in ("POST", "PATCH", "PUT"):
            op["responses"]["415"] = {
                "description": "a body that is not application/json",
                "content": {"application/json": {"schema": ERROR}},
            }
        if route.bad is not None:
            op["responses"]["400"] = {
                "description": "bad input; `field` names it",
                "content": {"application/json": {"schema": ERROR}},
            }
            op["x-bad-example"] = route.bad
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fakeding control API",
            "version": "1",
            "description": "Drive the fake DingTalk from any language. JSON in and "
            "out; bad input answers 400 {error, field}. Never recorded. "
            "Only from the emulator's own origin or a non-browser "
            "client, under a Host the fake serves, writes as "
            "application/json; a fake serving beyond loopback also "
            "wants its control token as a bearer token.",
        },
        "components": {
            "securitySchemes": {
                "controlToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "needed only when the fake has a control token (a --host "
                    "beyond loopback, or --control-token); X-Fakeding-Token works "
                    "too",
                }
            }
        },
        "security": [{}, {"controlToken": []}],
        "paths": paths,
    }
