"""Published contracts of what the fake serves: an OpenAPI document of the DingTalk routes and
an AsyncAPI document of the Stream protocol, built from the tables and constants the servers
use (routes from ``OpenApi.table``, topics and frame shapes from ``stream.protocol``).

Why: a robot team in any language can generate a client, mock or contract test from them, and
our own tests hold both ways: every served route and pushed topic is documented, and the
answers and frames real clients receive validate against the documents. Pure: dicts out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fakeding.core.stream import protocol

S = dict[str, Any]
STR: S = {"type": "string"}
INT: S = {"type": "integer"}
BOOL: S = {"type": "boolean"}
ANY: S = {}


def obj(required: tuple[str, ...], **props: S) -> S:
    return {"type": "object", "required": list(required), "properties": props}


def arr(items: S) -> S:
    return {"type": "array", "items": items}


ERROR = obj(("code", "message", "requestid"), code=STR, message=STR, requestid=STR)
ERRCODE = obj(("errcode", "errmsg"), errcode=INT, errmsg=STR)
SUCCESS_TRUE = obj(("success", "result"), success=BOOL, result=BOOL)
PQK = obj(("processQueryKey",), processQueryKey=STR)
DELIVER_RESULT = obj(
    ("spaceType", "spaceId", "success", "carrierId", "errorMsg"),
    spaceType=STR,
    spaceId=STR,
    success=BOOL,
    carrierId=STR,
    errorMsg=STR,
)
SUBSCRIPTION = obj(("type", "topic"), type={"enum": ["EVENT", "CALLBACK", "SYSTEM"]}, topic=STR)
MSG_SEND = obj(
    ("robotCode", "msgKey", "msgParam"),
    robotCode=STR,
    msgKey=STR,
    msgParam={"type": "string", "description": "a JSON object as a string"},
)


@dataclass(frozen=True)
class RouteDoc:
    method: str
    path: str
    host: str  # api | oapi | handed out
    summary: str
    response: S
    request: S | None = None  # JSON body; None: none or not JSON
    query: tuple[str, ...] = ()
    errcode: bool = False  # refusals come as an errcode on HTTP 200, not as a 4xx/5xx
    media: str = "application/json"

    @property
    def errors(self) -> S:
        """The shape of a refusal."""
        return ERRCODE if self.errcode else ERROR


ROUTES: tuple[RouteDoc, ...] = (
    RouteDoc(
        "POST",
        "/v1.0/gateway/connections/open",
        "api",
        "open a Stream connection: a single-use ticket and the websocket endpoint",
        obj(("endpoint", "ticket"), endpoint=STR, ticket=STR),
        obj(
            ("clientId", "clientSecret", "subscriptions"),
            clientId=STR,
            clientSecret=STR,
            subscriptions=arr(SUBSCRIPTION),
            ua=STR,
            localIp=STR,
        ),
    ),
    RouteDoc(
        "POST",
        "/v1.0/oauth2/accessToken",
        "api",
        "an app's access token",
        obj(("accessToken", "expireIn"), accessToken=STR, expireIn=INT),
        obj(("appKey", "appSecret"), appKey=STR, appSecret=STR),
    ),
    RouteDoc(
        "GET",
        "/gettoken",
        "oapi",
        "an app's access token (legacy; errors as errcode)",
        obj(("errcode", "errmsg"), errcode=INT, errmsg=STR, access_token=STR, expires_in=INT),
        query=("appkey", "appsecret"),
        errcode=True,
    ),
    RouteDoc(
        "POST",
        "/robot/sendBySession",
        "handed out",
        "reply through a message's session webhook (errcode on HTTP 200)",
        ERRCODE,
        {
            "type": "object",
            "description": "a custom-robot message {msgtype, <msgtype>: "
            "{...}, at?} or a graph reply {contentType, content}",
        },
        query=("session",),
        errcode=True,
    ),
    RouteDoc(
        "POST",
        "/robot/send",
        "oapi",
        "a custom group robot's message (errcode on HTTP 200)",
        ERRCODE,
        obj(("msgtype",), msgtype={"enum": ["text", "markdown", "link", "actionCard", "feedCard"]}, at=ANY),
        query=("access_token", "timestamp", "sign"),
        errcode=True,
    ),
    RouteDoc(
        "POST",
        "/v1.0/im/v1.0/robot/interactiveCards/send",
        "api",
        "send an interactive card to a group or a user",
        PQK,
        obj(
            ("cardTemplateId", "cardBizId", "cardData"),
            cardTemplateId=STR,
            cardBizId=STR,
            cardData={"type": "string", "description": "the card JSON as a string"},
            robotCode=STR,
            openConversationId=STR,
            singleChatReceiver=STR,
            callbackUrl=STR,
            sendOptions=ANY,
        ),
    ),
    RouteDoc(
        "PUT",
        "/v1.0/im/robots/interactiveCards",
        "api",
        "update an interactive card",
        PQK,
        obj(("cardBizId", "cardData"), cardBizId=STR, cardData=STR, updateOptions=ANY),
    ),
    RouteDoc(
        "POST",
        "/v1.0/card/instances",
        "api",
        "create a card instance from a template",
        obj(("success", "result"), success=BOOL, result=STR),
        obj(
            ("cardTemplateId", "outTrackId", "cardData"),
            cardTemplateId=STR,
            outTrackId=STR,
            cardData=ANY,
            callbackType=STR,
            callbackRouteKey=STR,
            privateData=ANY,
        ),
    ),
    RouteDoc(
        "PUT",
        "/v1.0/card/instances",
        "api",
        "update a card instance's data",
        SUCCESS_TRUE,
        obj(("outTrackId",), outTrackId=STR, cardData=ANY, privateData=ANY, cardUpdateOptions=ANY),
    ),
    RouteDoc(
        "POST",
        "/v1.0/card/instances/deliver",
        "api",
        "deliver a card instance to spaces (groups, 1:1 chats)",
        obj(("success", "result"), success=BOOL, result=arr(DELIVER_RESULT)),
        obj(("outTrackId", "openSpaceId"), outTrackId=STR, openSpaceId=STR),
    ),
    RouteDoc(
        "POST",
        "/v1.0/card/instances/createAndDeliver",
        "api",
        "create a card instance and deliver it",
        obj(
            ("success", "result"),
            success=BOOL,
            result=obj(("outTrackId", "deliverResults"), outTrackId=STR, deliverResults=arr(DELIVER_RESULT)),
        ),
        obj(
            ("cardTemplateId", "outTrackId", "openSpaceId"),
            cardTemplateId=STR,
            outTrackId=STR,
            openSpaceId=STR,
            cardData=ANY,
        ),
    ),
    RouteDoc(
        "PUT",
        "/v1.0/card/streaming",
        "api",
        "stream text into a card variable (AI cards)",
        SUCCESS_TRUE,
        obj(
            ("outTrackId", "guid", "key", "content"),
            outTrackId=STR,
            guid=STR,
            key=STR,
            content=STR,
            isFull=BOOL,
            isFinalize=BOOL,
            isError=BOOL,
        ),
    ),
    RouteDoc(
        "POST",
        "/v1.0/robot/oToMessages/batchSend",
        "api",
        "a robot message to users in 1:1 chats",
        obj(
            ("processQueryKey", "invalidStaffIdList", "flowControlledStaffIdList"),
            processQueryKey=STR,
            invalidStaffIdList=arr(STR),
            flowControlledStaffIdList=arr(STR),
        ),
        {
            **MSG_SEND,
            "required": [*MSG_SEND["required"], "userIds"],
            "properties": {**MSG_SEND["properties"], "userIds": arr(STR)},
        },
    ),
    RouteDoc(
        "POST",
        "/v1.0/robot/groupMessages/send",
        "api",
        "a robot message to a group",
        PQK,
        {
            **MSG_SEND,
            "required": [*MSG_SEND["required"], "openConversationId"],
            "properties": {**MSG_SEND["properties"], "openConversationId": STR},
        },
    ),
    RouteDoc(
        "POST",
        "/v1.0/robot/messageFiles/download",
        "api",
        "a download URL for a file a user sent",
        obj(("downloadUrl",), downloadUrl=STR),
        obj(("downloadCode", "robotCode"), downloadCode=STR, robotCode=STR),
    ),
    RouteDoc(
        "POST",
        "/v1.0/innerApi/robot/stream/away/template/update",
        "api",
        "the card shown while the robot is offline (undocumented inner API)",
        SUCCESS_TRUE,
        {"type": "object"},
    ),
    RouteDoc(
        "POST",
        "/v1.0/card/callbacks/register",
        "api",
        "register an HTTP callback route for card clicks",
        obj(
            ("success", "result"),
            success=BOOL,
            result=obj(("callbackUrl", "apiSecret"), callbackUrl=STR, apiSecret=STR),
        ),
        obj(
            ("callbackRouteKey", "callbackUrl"),
            callbackRouteKey=STR,
            callbackUrl=STR,
            apiSecret=STR,
            forceUpdate=BOOL,
        ),
    ),
    RouteDoc(
        "POST",
        "/media/upload",
        "oapi",
        "upload media (multipart; errcode on HTTP 200)",
        obj(
            ("errcode", "errmsg", "media_id", "type", "created_at"),
            errcode=INT,
            errmsg=STR,
            media_id=STR,
            type=STR,
            created_at=INT,
        ),
        query=("access_token", "type"),
        errcode=True,
    ),
    RouteDoc(
        "GET",
        "/_files/{code}",
        "handed out",
        "a file's bytes (the downloadUrl)",
        {"type": "string", "format": "binary"},
        media="application/octet-stream",
    ),
)


def document() -> S:
    """The OpenAPI 3.1 document of the DingTalk routes this fake serves."""
    paths: S = {}
    for route in ROUTES:
        op: S = {
            "summary": route.summary,
            "x-dingtalk-host": route.host,
            "responses": {
                "200": {"description": "done", "content": {route.media: {"schema": route.response}}},
                "default": {
                    "description": "refused, in DingTalk's shape",
                    "content": {"application/json": {"schema": route.errors}},
                },
            },
        }
        if route.request is not None:
            op["requestBody"] = {"content": {"application/json": {"schema": route.request}}}
        parameters = [{"name": n, "in": "query", "required": False, "schema": STR} for n in route.query]
        if "{code}" in route.path:
            parameters.append({"name": "code", "in": "path", "required": True, "schema": STR})
        if route.host == "api":
            parameters.append(
                {
                    "name": "x-acs-dingtalk-access-token",
                    "in": "header",
                    "required": route.path not in _NO_TOKEN,
                    "schema": STR,
                }
            )
        if parameters:
            op["parameters"] = parameters
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DingTalk OpenAPI as fakeding serves it",
            "version": "1",
            "description": "The routes robots call, with the answers the fake gives. "
            "Served at /_fakeding/dingtalk-openapi.json.",
        },
        "servers": [{"url": "https://api.dingtalk.com"}, {"url": "https://oapi.dingtalk.com"}],
        "paths": paths,
    }


_NO_TOKEN = {"/v1.0/gateway/connections/open", "/v1.0/oauth2/accessToken"}


def response_schema(method: str, path: str) -> S | None:
    """The documented 200 answer of a route, for checking real answers."""
    for route in ROUTES:
        if (route.method, route.path) == (method, path):
            return route.response
    return None


def documented_routes() -> set[tuple[str, str]]:
    return {(r.method, r.path) for r in ROUTES}


# -- the Stream protocol ---------------------------------------------------------------------

HEADERS = obj(
    ("contentType", "messageId", "time", "topic"),
    contentType=STR,
    messageId=STR,
    time={"type": "string", "pattern": "^[0-9]+$"},
    topic=STR,
    appId=STR,
    connectionId=STR,
    eventType=STR,
    eventId=STR,
    eventCorpId=STR,
    eventBornTime=STR,
    eventUnifiedAppId=STR,
)


def frame_schema(type_: str) -> S:
    return {
        "type": "object",
        "required": ["specVersion", "type", "headers", "data"],
        "properties": {
            "specVersion": {"const": "1.0"},
            "type": {"const": type_},
            "headers": {**HEADERS, "additionalProperties": STR},
            "data": {"type": "string", "description": "JSON as a string"},
        },
    }


ACK = {
    "type": "object",
    "required": ["code", "headers", "message", "data"],
    "properties": {
        "code": INT,
        "headers": obj(("messageId",), messageId=STR, contentType=STR),
        "message": STR,
        "data": {"type": "string", "description": "JSON as a string"},
    },
}
BOT_MESSAGE = obj(
    (
        "conversationId",
        "msgId",
        "msgtype",
        "senderStaffId",
        "sessionWebhook",
        "sessionWebhookExpiredTime",
        "robotCode",
        "chatbotUserId",
        "createAt",
    ),
    conversationId=STR,
    conversationType={"enum": ["1", "2"]},
    msgId=STR,
    msgtype=STR,
    senderStaffId=STR,
    senderNick=STR,
    sessionWebhook=STR,
    sessionWebhookExpiredTime=INT,
    robotCode=STR,
    chatbotUserId=STR,
    createAt=INT,
    text=obj(("content",), content=STR),
    isInAtList=BOOL,
)
CARD_CALLBACK = obj(
    ("outTrackId", "userId", "content"),
    outTrackId=STR,
    userId=STR,
    content={"type": "string", "description": "JSON: {cardPrivateData: {actionIds, params}}"},
    corpId=STR,
    spaceType=STR,
    spaceId=STR,
    type=STR,
    value=STR,
    extension=STR,
    userIdType=INT,
)


@dataclass(frozen=True)
class Channel:
    type: str  # CALLBACK | EVENT | SYSTEM
    topic: str
    summary: str
    data: S  # the decoded ``data`` of the frame


CHANNELS: tuple[Channel, ...] = (
    Channel("CALLBACK", protocol.TOPIC_BOT_MESSAGE, "a user's @mention or 1:1 message", BOT_MESSAGE),
    Channel("CALLBACK", protocol.TOPIC_CARD_CALLBACK, "a click on a card button", CARD_CALLBACK),
    Channel(
        "CALLBACK",
        protocol.TOPIC_GRAPH,
        "an AI-assistant (graph) request",
        obj(("requestLine", "headers", "body"), requestLine=ANY, headers=ANY, body=STR),
    ),
    Channel("EVENT", "*", "an organisation event (eventType header names it)", {"type": "object"}),
    Channel("SYSTEM", "ping", "a liveness probe: ack with the same opaque", obj(("opaque",), opaque=STR)),
    Channel(
        "SYSTEM",
        "disconnect",
        "the platform will close this connection: reconnect",
        obj(("reason",), reason=STR),
    ),
)


def asyncapi() -> S:
    """The AsyncAPI 2.6 document of the Stream protocol as the fake speaks it."""
    channels: S = {}
    for ch in CHANNELS:
        channels[f"{ch.type} {ch.topic}"] = {
            "description": ch.summary,
            "subscribe": {
                "summary": f"the platform pushes a {ch.type} frame",
                "message": {
                    "name": f"{ch.type.lower()}-frame",
                    "payload": frame_schema(ch.type),
                    "x-data": ch.data,
                },
            },
            "publish": {
                "summary": "the robot acks it (messageId from the frame's headers)",
                "message": {"name": "ack", "payload": ACK},
            },
        }
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "DingTalk Stream protocol as fakeding serves it",
            "version": "1",
            "description": "One websocket per connection, opened with a ticket from "
            "POST /v1.0/gateway/connections/open; frames are JSON "
            "text. Served at /_fakeding/asyncapi.json.",
        },
        "servers": {"stream": {"url": "wss://wss-open-connection.dingtalk.com/connect", "protocol": "wss"}},
        "channels": channels,
    }


def documented_topics() -> set[tuple[str, str]]:
    return {(c.type, c.topic) for c in CHANNELS}


def topics_in(frames: Iterable[S]) -> set[tuple[str, str]]:
    """(type, topic) of frames as documented: every EVENT is the ``*`` channel."""
    return {(f["type"], "*" if f["type"] == "EVENT" else f["headers"]["topic"]) for f in frames}
