"""The published contracts against the servers, both ways: every DingTalk route the fake serves
is in its OpenAPI document and every documented route is served; every topic it pushes is in
its AsyncAPI document and every documented topic is pushed; and what real clients receive (the
answers of an SDK robot's session, the frames a raw websocket client reads) validates."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import jsonschema
import requests
from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage
from websockets.asyncio.client import connect

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.core.contracts import (
    ACK,
    CHANNELS,
    asyncapi,
    document,
    documented_routes,
    documented_topics,
    frame_schema,
    response_schema,
    topics_in,
)
from fakeding.testing.sdk import SdkRobot
from tests.fakeding.card_helpers import send_body

V = jsonschema.Draft202012Validator


def served(fake: ThreadedFakeDing, name: str) -> dict[str, Any]:
    answer = requests.get(f"{fake.http_url}/_fakeding/{name}", timeout=10)
    assert answer.status_code == 200
    doc: dict[str, Any] = answer.json()
    return doc


def schemas(node: Any) -> list[dict[str, Any]]:
    """Every schema object in a document (under 'schema' and 'payload' keys)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("schema", "payload", "x-data") and isinstance(value, dict):
                found.append(value)
            found += schemas(value)
    elif isinstance(node, list):
        for item in node:
            found += schemas(item)
    return found


def test_both_documents_are_served_and_well_formed(fakeding: ThreadedFakeDing) -> None:
    openapi, stream = served(fakeding, "dingtalk-openapi.json"), served(fakeding, "asyncapi.json")
    assert openapi == json.loads(json.dumps(document())) and openapi["openapi"] == "3.1.0"
    assert stream == json.loads(json.dumps(asyncapi())) and stream["asyncapi"] == "2.6.0"
    checked = schemas(openapi) + schemas(stream)
    assert len(checked) > 40
    for schema in checked:
        V.check_schema(schema)


def test_every_served_dingtalk_route_is_documented_and_back(fakeding: ThreadedFakeDing) -> None:
    app = fakeding.fake.web_app
    assert app is not None
    ours = ("/_fakeding/", "/{tail}", "/favicon.ico")
    served_routes = {
        (r.method, str(r.resource.canonical))
        for r in app.router.routes()
        if r.resource is not None
        and r.method != "HEAD"
        and not str(r.resource.canonical).startswith(ours)
        and str(r.resource.canonical) != "/"
    }
    assert served_routes - documented_routes() == set(), "served but not documented"
    assert documented_routes() - served_routes == set(), "documented but not served"


class Echo(ChatbotHandler):  # type: ignore[misc]
    async def process(self, callback: Any) -> tuple[int, str]:
        msg = ChatbotMessage.from_dict(callback.data)
        self.reply_text("echo " + msg.text.content.strip(), msg)
        return AckMessage.STATUS_OK, "OK"


def test_answers_real_clients_get_match_the_openapi_document(fakeding: ThreadedFakeDing) -> None:
    with SdkRobot().on_messages(Echo()):  # gateway, token, webhook replies
        fakeding.wait_for("connect")
        fakeding.send_message("hi")
        fakeding.wait_for("webhook")
    token = requests.post(
        fakeding.http_url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    headers = {"x-acs-dingtalk-access-token": token}
    base = fakeding.http_url
    calls = [
        (
            "POST",
            "/v1.0/im/v1.0/robot/interactiveCards/send",
            send_body(robotCode=DEFAULT_CLIENT_ID, cardBizId="c-1"),
        ),
        (
            "POST",
            "/v1.0/card/instances/createAndDeliver",
            {
                "cardTemplateId": "t.schema",
                "outTrackId": "ai-1",
                "cardData": {"cardParamMap": {}},
                "openSpaceId": "dtv1.card//IM_GROUP.cidG",
                "imGroupOpenSpaceModel": {"supportForward": True},
                "imGroupOpenDeliverModel": {"robotCode": DEFAULT_CLIENT_ID},
            },
        ),
        (
            "PUT",
            "/v1.0/card/streaming",
            {
                "outTrackId": "ai-1",
                "guid": "g1",
                "key": "content",
                "content": "hi",
                "isFull": True,
                "isFinalize": True,
            },
        ),
        (
            "POST",
            "/v1.0/robot/groupMessages/send",
            {
                "robotCode": DEFAULT_CLIENT_ID,
                "openConversationId": "cidG",
                "msgKey": "sampleText",
                "msgParam": '{"content": "x"}',
            },
        ),
        (
            "POST",
            "/v1.0/robot/oToMessages/batchSend",
            {
                "robotCode": DEFAULT_CLIENT_ID,
                "userIds": ["u1"],
                "msgKey": "sampleText",
                "msgParam": '{"content": "x"}',
            },
        ),
    ]
    for method, path, body in calls:
        answer = requests.request(method, base + path, json=body, headers=headers, timeout=10)
        assert answer.status_code == 200, (path, answer.text)
    legacy = requests.get(
        base + "/gettoken",
        timeout=10,
        params={"appkey": DEFAULT_CLIENT_ID, "appsecret": DEFAULT_CLIENT_SECRET},
    )
    V(response_schema("GET", "/gettoken") or {}).validate(legacy.json())
    checked = 0
    for record in fakeding.timeline(["api"]):
        if record["status"] != 200:
            continue
        method, path = record["route"].split(" ", 1)
        schema = response_schema(method, path)
        assert schema is not None, f"{record['route']} answered but is not documented"
        V(schema).validate(record["response"])
        checked += 1
    assert checked >= 8


def test_frames_a_raw_client_reads_match_the_asyncapi_document(make_fakeding: Any) -> None:
    fake = make_fakeding(system_ping_interval=0.2)
    subs = [{"type": "CALLBACK", "topic": c.topic} for c in CHANNELS if c.type == "CALLBACK"]
    subs.append({"type": "EVENT", "topic": "*"})
    opened = requests.post(
        fake.http_url + "/v1.0/gateway/connections/open",
        timeout=10,
        json={"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET, "subscriptions": subs},
    ).json()
    wanted = documented_topics() - {("SYSTEM", "disconnect")}
    token = requests.post(
        fake.http_url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    card = {
        "config": {"autoLayout": True},
        "contents": [
            {
                "type": "action",
                "actions": [
                    {
                        "type": "button",
                        "label": {"type": "text", "text": "Yes"},
                        "actionType": "request",
                        "id": "yes",
                        "value": "{}",
                    }
                ],
            }
        ],
    }
    sent = requests.post(
        fake.http_url + "/v1.0/im/v1.0/robot/interactiveCards/send",
        timeout=10,
        headers={"x-acs-dingtalk-access-token": token},
        json=send_body(robotCode=DEFAULT_CLIENT_ID, cardBizId="vote-1", cardData=json.dumps(card)),
    )
    assert sent.status_code == 200, sent.text
    deadline = time.monotonic() + 30  # pings keep coming: bound the reading by time

    async def robot() -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = []
        async with connect(f"{opened['endpoint']}?ticket={opened['ticket']}") as ws:
            await asyncio.to_thread(fake.wait_for, "connect")
            fake.send_message("hello")
            fake.graph_request("what is fakeding?")
            fake.push_event("user_add_org", {"userId": ["alice"]})
            fake.click("vote-1", staff_id="alice", button_id="yes")
            while topics_in(frames) < wanted:
                assert time.monotonic() < deadline, f"still missing {wanted - topics_in(frames)}"
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                frames.append(frame)
                data = json.loads(frame["data"])
                ack = {
                    "code": 200,
                    "message": "OK",
                    "data": json.dumps(
                        {"opaque": data["opaque"]} if frame["headers"]["topic"] == "ping" else {}
                    ),
                    "headers": {
                        "messageId": frame["headers"]["messageId"],
                        "contentType": "application/json",
                    },
                }
                V(ACK).validate(ack)
                await ws.send(json.dumps(ack))
            fake.fault({"kind": "disconnect"})
            while topics_in(frames) < documented_topics():
                assert time.monotonic() < deadline, "no SYSTEM disconnect frame came"
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=10)))
        return frames

    frames = asyncio.run(robot())
    assert topics_in(frames) == documented_topics()
    by_topic = {(c.type, c.topic): c for c in CHANNELS}
    for frame in frames:
        V(frame_schema(frame["type"])).validate(frame)
        channel = by_topic[next(iter(topics_in([frame])))]
        V(channel.data).validate(json.loads(frame["data"]))
    assert list(fake.violations) == []
