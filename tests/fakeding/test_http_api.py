"""The platform's HTTP and websocket surface, driven by plain HTTP and raw websocket clients."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing, UnmetExpectation
from tests.fakeding.card_helpers import access_token

GATEWAY = "/v1.0/gateway/connections/open"
BOT_TOPIC = "/v1.0/im/bot/messages/get"
UUID_UPPER = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[0-9A-F]{4}-[0-9A-F]{12}$")


def _gateway_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "clientId": DEFAULT_CLIENT_ID,
        "clientSecret": DEFAULT_CLIENT_SECRET,
        "subscriptions": [{"type": "CALLBACK", "topic": BOT_TOPIC}],
        "ua": "dingtalk-sdk-python/v0.24.3-union",
        "localIp": "",
    }
    body.update(overrides)
    return body


def _open(fake: ThreadedFakeDing, **overrides: Any) -> requests.Response:
    return requests.post(fake.http_url + GATEWAY, json=_gateway_body(**overrides), timeout=10)


def _ticket(fake: ThreadedFakeDing) -> tuple[str, str]:
    r = _open(fake)
    assert r.status_code == 200, r.text
    body = r.json()
    return body["endpoint"], body["ticket"]


def _token(fake: ThreadedFakeDing) -> str:
    return access_token(fake)


def _api(fake: ThreadedFakeDing, method: str, path: str, body: Any, token: str | None) -> requests.Response:
    headers = {"x-acs-dingtalk-access-token": token} if token is not None else {}
    return requests.request(method, fake.http_url + path, json=body, headers=headers, timeout=10)


def _assert_error(r: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = r.json()
    assert set(body) == {"code", "message", "requestid"}
    assert body["code"] == code
    assert UUID_UPPER.match(body["requestid"])
    assert r.headers["x-acs-request-id"] == body["requestid"]
    return body


def _handshake_error(url: str) -> tuple[int, dict[str, Any]]:
    async def attempt() -> tuple[int, dict[str, Any]]:
        with pytest.raises(InvalidStatus) as exc:
            async with connect(url, open_timeout=5):
                pass
        response = exc.value.response
        return response.status_code, json.loads(response.body)

    return asyncio.run(attempt())


# -- gateway --------------------------------------------------------------------------------------


def test_gateway_answers_endpoint_and_ticket(fakeding: ThreadedFakeDing) -> None:
    r = _open(fakeding)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    body = r.json()
    assert set(body) == {"endpoint", "ticket"}
    port = fakeding.fake.stream.port
    assert port > 0
    assert body["endpoint"] == f"ws://127.0.0.1:{port}/connect"
    assert re.fullmatch(r"[0-9a-f-]{36}", body["ticket"])


def test_gateway_call_is_recorded_without_the_secret(fakeding: ThreadedFakeDing) -> None:
    _open(fakeding)
    (rec,) = fakeding.timeline(["api"])
    assert rec["route"] == "POST " + GATEWAY and rec["status"] == 200
    assert rec["client"] == DEFAULT_CLIENT_ID
    assert rec["request"]["clientSecret"] != DEFAULT_CLIENT_SECRET
    assert DEFAULT_CLIENT_SECRET not in json.dumps(fakeding.timeline())


def test_gateway_wrong_secret_is_401_auth_failed(fakeding: ThreadedFakeDing) -> None:
    body = _assert_error(_open(fakeding, clientSecret="wrong"), 401, "authFailed")
    assert body["message"].startswith("鉴权失败")
    (rec,) = fakeding.timeline(["api"])
    assert rec["status"] == 401 and rec["response"]["code"] == "authFailed"


def test_gateway_malformed_json_is_400(fakeding: ThreadedFakeDing) -> None:
    r = requests.post(
        fakeding.http_url + GATEWAY,
        data=b"{clientId: 1",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    body = _assert_error(r, 400, "InvalidBody")
    assert "body is not JSON" in body["message"] and "send a JSON object" in body["message"]
    [v] = fakeding.violations  # no DingTalk API would accept it: a robot bug
    assert v.fields["reason"].startswith(f"POST {GATEWAY}: body is not JSON")
    fakeding.reset()


def test_gateway_empty_body_is_400_missing_body(fakeding: ThreadedFakeDing) -> None:
    r = requests.post(fakeding.http_url + GATEWAY, timeout=10)
    _assert_error(r, 400, "MissingBody")


@pytest.mark.parametrize("name", ["clientId", "clientSecret", "subscriptions"])
def test_gateway_missing_field_is_400_naming_it(fakeding: ThreadedFakeDing, name: str) -> None:
    body = _gateway_body()
    del body[name]
    r = requests.post(fakeding.http_url + GATEWAY, json=body, timeout=10)
    err = _assert_error(r, 400, "invalidParameter")
    assert err["message"].startswith(name)


def test_gateway_event_topic_other_than_star_is_400(fakeding: ThreadedFakeDing) -> None:
    r = _open(fakeding, subscriptions=[{"type": "EVENT", "topic": "bot"}])
    err = _assert_error(r, 400, "invalidParameter")
    assert err["message"] == "subscriptions[0]: EVENT topic must be '*', found 'bot'"


# -- tokens ---------------------------------------------------------------------------------------


def test_access_token_endpoint(fakeding: ThreadedFakeDing) -> None:
    r = requests.post(
        fakeding.http_url + "/v1.0/oauth2/accessToken",
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
        timeout=10,
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"accessToken", "expireIn"}
    assert body["expireIn"] == 7200 and re.fullmatch(r"[0-9a-f]{32}", body["accessToken"])
    assert _token(fakeding) == body["accessToken"]  # same token inside its lifetime
    (rec, _) = fakeding.timeline(["api"])
    assert rec["route"] == "POST /v1.0/oauth2/accessToken" and rec["status"] == 200
    assert body["accessToken"] not in json.dumps(fakeding.timeline())


def test_access_token_wrong_secret_is_400(fakeding: ThreadedFakeDing) -> None:
    r = requests.post(
        fakeding.http_url + "/v1.0/oauth2/accessToken",
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": "nope"},
        timeout=10,
    )
    body = _assert_error(r, 400, "invalidClientIdOrSecret")
    assert body["message"] == "无效的clientId或者clientSecret"


def test_access_token_form_body_is_400(fakeding: ThreadedFakeDing) -> None:
    r = requests.post(
        fakeding.http_url + "/v1.0/oauth2/accessToken",
        data={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
        timeout=10,
    )
    _assert_error(r, 400, "InvalidBody")
    assert len(fakeding.violations) == 1
    fakeding.reset()


def test_legacy_gettoken_gives_the_same_token(fakeding: ThreadedFakeDing) -> None:
    token = _token(fakeding)
    r = requests.get(
        fakeding.http_url + "/gettoken",
        params={"appkey": DEFAULT_CLIENT_ID, "appsecret": DEFAULT_CLIENT_SECRET},
        timeout=10,
    )
    assert r.status_code == 200
    assert r.json() == {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}


def test_legacy_gettoken_wrong_secret_is_200_with_errcode(fakeding: ThreadedFakeDing) -> None:
    r = requests.get(
        fakeding.http_url + "/gettoken", params={"appkey": DEFAULT_CLIENT_ID, "appsecret": "x"}, timeout=10
    )
    assert r.status_code == 200
    assert r.json() == {"errcode": 40089, "errmsg": "不合法的corpId或corpSecret"}


def test_legacy_token_works_on_the_new_api(fakeding: ThreadedFakeDing) -> None:
    r = requests.get(
        fakeding.http_url + "/gettoken",
        params={"appkey": DEFAULT_CLIENT_ID, "appsecret": DEFAULT_CLIENT_SECRET},
        timeout=10,
    )
    token = r.json()["access_token"]
    body = {
        "robotCode": DEFAULT_CLIENT_ID,
        "openConversationId": "cidL",
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "legacy"}),
    }
    assert _api(fakeding, "POST", "/v1.0/robot/groupMessages/send", body, token).status_code == 200


# -- authentication and unknown routes ------------------------------------------------------------

GROUP_SEND = "/v1.0/robot/groupMessages/send"


@pytest.mark.parametrize("token", [None, "", "0" * 32])
def test_openapi_without_a_valid_token_is_400_invalid_authentication(
    fakeding: ThreadedFakeDing, token: str | None
) -> None:
    r = _api(fakeding, "POST", GROUP_SEND, {"robotCode": DEFAULT_CLIENT_ID}, token)
    body = _assert_error(r, 400, "InvalidAuthentication")
    assert body["message"].startswith("不合法的access_token")
    (rec,) = fakeding.timeline(["api"])
    assert rec["route"] == "POST " + GROUP_SEND and rec["status"] == 400 and rec["client"] is None


def test_openapi_with_an_expired_token_is_400(fakeding: ThreadedFakeDing) -> None:
    token = _token(fakeding)
    fakeding.fault({"kind": "expire_token"})
    body = _assert_error(_api(fakeding, "POST", GROUP_SEND, {}, token), 400, "InvalidAuthentication")
    assert body["message"] == "不合法的access_token (expired)"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1.0/robot/nothing"),
        ("POST", "/v1.0/card/instances/unknown"),
        ("GET", "/v1.0/card/streaming"),
    ],
)
def test_unknown_route_is_404_recorded_as_api_call_and_violation(
    fakeding: ThreadedFakeDing, method: str, path: str
) -> None:
    r = requests.request(method, fakeding.http_url + path, timeout=10)
    body = _assert_error(r, 404, "InvalidAction.NotFound")
    assert body["message"] == (
        f"Specified api is not found, please check your url and method. ({method} {path})"
    )
    (api,) = fakeding.timeline(["api"])
    assert api["route"] == f"{method} {path}" and api["status"] == 404
    (violation,) = [v.to_dict() for v in fakeding.violations]
    assert violation["reason"] == f"unknown route {method} {path}"
    fakeding.reset()


def test_unknown_control_route_is_a_plain_404_and_no_violation(fakeding: ThreadedFakeDing) -> None:
    r = requests.get(fakeding.http_url + "/_fakeding/nothing", timeout=10)
    assert r.status_code == 404
    assert fakeding.timeline() == []


# -- robot messages -------------------------------------------------------------------------------


def _msg(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "robotCode": DEFAULT_CLIENT_ID,
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "hello"}),
    }
    body.update(overrides)
    return body


def test_batch_send_to_users(fakeding: ThreadedFakeDing) -> None:
    token = _token(fakeding)
    r = _api(fakeding, "POST", "/v1.0/robot/oToMessages/batchSend", _msg(userIds=["u1", "u2"]), token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"processQueryKey", "invalidStaffIdList", "flowControlledStaffIdList"}
    assert body["invalidStaffIdList"] == [] and body["flowControlledStaffIdList"] == []
    assert isinstance(body["processQueryKey"], str) and body["processQueryKey"]
    for user in ("u1", "u2"):
        (entry,) = fakeding.transcript(f"single:{user}")
        assert (entry["who"], entry["kind"], entry["text"]) == ("bot", "robot:sampleText", "hello")
    rec = fakeding.timeline(["api"])[-1]
    assert rec["route"] == "POST /v1.0/robot/oToMessages/batchSend" and rec["status"] == 200


@pytest.mark.parametrize(
    ("overrides", "code", "names"),
    [
        ({"userIds": []}, "invalidParameter.userIds.empty", "userIds"),
        ({"userIds": [f"u{i}" for i in range(21)]}, "invalidParameter.userIds.overMax", "found 21"),
        ({"userIds": ["u1"], "robotCode": "other"}, "invalidParameter.robotCode.invalid", "robotCode"),
        ({"userIds": ["u1"], "msgKey": "sampleNope"}, "invalidParameter.msgKey.invalid", "msgKey"),
        ({"userIds": ["u1"], "msgParam": "{not json"}, "invalidParameter.msgParam.invalid", "msgParam"),
        ({"userIds": ["u1"], "msgParam": {"content": "x"}}, "invalidParameter.msgParam.invalid", "msgParam"),
    ],
)
def test_batch_send_validation(
    fakeding: ThreadedFakeDing, overrides: dict[str, Any], code: str, names: str
) -> None:
    r = _api(fakeding, "POST", "/v1.0/robot/oToMessages/batchSend", _msg(**overrides), _token(fakeding))
    body = _assert_error(r, 400, code)
    assert names in body["message"]
    assert fakeding.transcript() == []


def test_group_send(fakeding: ThreadedFakeDing) -> None:
    r = _api(
        fakeding,
        "POST",
        GROUP_SEND,
        _msg(
            openConversationId="cidG9",
            msgKey="sampleMarkdown",
            msgParam=json.dumps({"title": "T", "text": "**bold**"}),
        ),
        _token(fakeding),
    )
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"processQueryKey"}
    assert [(e["who"], e["kind"], e["text"]) for e in fakeding.transcript("cidG9")] == [
        ("bot", "robot:sampleMarkdown", "**bold**")
    ]


@pytest.mark.parametrize(
    ("overrides", "code", "names"),
    [
        ({}, "invalid.openConversationId", "openConversationId"),
        ({"openConversationId": ""}, "invalid.openConversationId", "openConversationId"),
        (
            {"openConversationId": "c", "msgParam": json.dumps({"content": "x" * 15_000})},
            "invalidParameter.msgParam.invalid",
            "15000 bytes",
        ),
        ({"openConversationId": "c", "robotCode": None}, "invalidParameter.robotCode.invalid", "robotCode"),
    ],
)
def test_group_send_validation(
    fakeding: ThreadedFakeDing, overrides: dict[str, Any], code: str, names: str
) -> None:
    r = _api(fakeding, "POST", GROUP_SEND, _msg(**overrides), _token(fakeding))
    body = _assert_error(r, 400, code)
    assert names in body["message"]
    assert fakeding.transcript() == []


def test_group_send_non_object_body_is_400(fakeding: ThreadedFakeDing) -> None:
    r = _api(fakeding, "POST", GROUP_SEND, [1, 2], _token(fakeding))
    body = _assert_error(r, 400, "param.error")
    assert body["message"] == "body must be a JSON object, found list"


# -- a raw websocket robot ------------------------------------------------------------------------


async def _next_frame(ws: ClientConnection) -> dict[str, Any]:
    text = await asyncio.wait_for(ws.recv(), timeout=5)
    assert isinstance(text, str)
    frame: dict[str, Any] = json.loads(text)
    return frame


def _ack(frame: dict[str, Any], code: int = 200) -> str:
    return json.dumps(
        {
            "code": code,
            "headers": {"contentType": "application/json", "messageId": frame["headers"]["messageId"]},
            "message": "OK",
            "data": json.dumps({"response": None}),
        }
    )


def _with_robot(fake: ThreadedFakeDing, body: Callable[[ClientConnection], Any]) -> Any:
    endpoint, ticket = _ticket(fake)

    async def run() -> Any:
        async with connect(f"{endpoint}?ticket={ticket}", open_timeout=5) as ws:
            fake.wait_for("connect")
            return await body(ws)

    return asyncio.run(run())


def test_raw_robot_receives_a_platform_frame_and_its_ack_is_recorded(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> dict[str, Any]:
        sent = fakeding.send_message("hi", conversation_id="cidR")
        frame = await _next_frame(ws)
        await ws.send(_ack(frame))
        fakeding.wait_for("ack")
        return {"sent": sent, "frame": frame}

    got = _with_robot(fakeding, robot)
    frame, sent = got["frame"], got["sent"]
    assert frame["specVersion"] == "1.0" and frame["type"] == "CALLBACK"
    assert frame["headers"]["topic"] == BOT_TOPIC
    assert frame["headers"]["messageId"] == sent.message_id
    data = json.loads(frame["data"])
    assert data["msgId"] == sent.msg_id and data["text"] == {"content": " hi"}
    (ack,) = fakeding.timeline(["ack"])
    assert ack["messageId"] == sent.message_id and ack["code"] == 200
    (connect_rec,) = fakeding.timeline(["connect"])
    assert connect_rec["subscriptions"] == [f"CALLBACK {BOT_TOPIC}"]


def test_message_files_download_serves_the_picture(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> dict[str, Any]:
        fakeding.send_message(None, msgtype="picture", conversation_id="cidP")
        frame = await _next_frame(ws)
        await ws.send(_ack(frame))
        fakeding.wait_for("ack")
        return dict(json.loads(frame["data"]))

    data = _with_robot(fakeding, robot)
    assert data["msgtype"] == "picture"
    code = data["content"]["downloadCode"]
    assert data["content"]["pictureDownloadCode"] == code
    r = _api(
        fakeding,
        "POST",
        "/v1.0/robot/messageFiles/download",
        {"downloadCode": code, "robotCode": DEFAULT_CLIENT_ID},
        _token(fakeding),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"downloadUrl": f"{fakeding.http_url}/_files/{code}"}
    file = requests.get(r.json()["downloadUrl"], timeout=10)
    assert file.status_code == 200
    assert file.content == f"fakeding picture {code}".encode()
    assert file.headers["Content-Disposition"] == 'attachment; filename="picture.bin"'


def test_message_files_download_unknown_code_is_400(fakeding: ThreadedFakeDing) -> None:
    r = _api(
        fakeding,
        "POST",
        "/v1.0/robot/messageFiles/download",
        {"downloadCode": "dlnothing", "robotCode": DEFAULT_CLIENT_ID},
        _token(fakeding),
    )
    body = _assert_error(r, 400, "invalidParameter.downloadCode.invalid")
    assert "'dlnothing'" in body["message"]
    assert requests.get(fakeding.http_url + "/_files/dlnothing", timeout=10).status_code == 404


# -- websocket handshake --------------------------------------------------------------------------


def test_handshake_with_a_bad_ticket_is_401(fakeding: ThreadedFakeDing) -> None:
    endpoint, _ = _ticket(fakeding)
    status, body = _handshake_error(f"{endpoint}?ticket=not-a-ticket")
    assert status == 401
    assert (body["code"], body["message"]) == ("ticketInvalid", "unknown ticket")
    assert UUID_UPPER.match(body["requestid"])
    (v,) = [r.to_dict() for r in fakeding.violations]
    assert v["reason"] == "websocket handshake rejected: unknown ticket"
    assert v["ticket"] == "not-…***", "a ticket is never recorded in full"
    assert fakeding.timeline(["connect"]) == []
    fakeding.reset()


def test_handshake_without_a_ticket_is_401(fakeding: ThreadedFakeDing) -> None:
    endpoint, _ = _ticket(fakeding)
    status, body = _handshake_error(endpoint)
    assert status == 401
    assert (body["code"], body["message"]) == ("ticketInvalid", "the ticket query parameter is missing")
    fakeding.reset()


def test_handshake_with_a_used_ticket_is_401(fakeding: ThreadedFakeDing) -> None:
    endpoint, ticket = _ticket(fakeding)
    url = f"{endpoint}?ticket={ticket}"

    async def first() -> None:
        async with connect(url, open_timeout=5):
            fakeding.wait_for("connect")

    asyncio.run(first())
    status, body = _handshake_error(url)
    assert status == 401
    assert body["code"] == "ticketUsed" and "already used" in body["message"]
    assert len(fakeding.timeline(["connect"])) == 1
    fakeding.reset()


def test_handshake_with_an_expired_ticket_is_401(make_fakeding: Callable[..., ThreadedFakeDing]) -> None:
    fake = make_fakeding(ticket_ttl=0.05)
    endpoint, ticket = _ticket(fake)
    time.sleep(0.2)
    status, body = _handshake_error(f"{endpoint}?ticket={ticket}")
    assert status == 401
    assert body["code"] == "ticketExpired"
    assert re.fullmatch(r"ticket expired \d+\.\d s ago \(tickets live 0\.05 s\)", body["message"])
    fake.reset()


def test_handshake_on_another_path_is_404(fakeding: ThreadedFakeDing) -> None:
    endpoint, ticket = _ticket(fakeding)
    status, body = _handshake_error(endpoint.replace("/connect", "/other") + f"?ticket={ticket}")
    assert status == 404
    assert body["code"] == "InvalidAction.NotFound" and "/connect" in body["message"]


# -- protocol violations from a raw client --------------------------------------------------------


def test_bad_acks_are_violations_and_check_lists_them(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> None:
        await ws.send(
            json.dumps({"code": 200, "headers": {"messageId": "nope_1"}, "message": "OK", "data": "{}"})
        )
        await ws.send("this is not json")
        await ws.send(json.dumps({"code": "200", "headers": {"messageId": "m"}}))
        fakeding.wait_for("violation", count=3)

    _with_robot(fakeding, robot)
    reasons = [v.fields["reason"] for v in fakeding.violations]
    assert reasons[0] == "ack for unknown messageId 'nope_1'"
    assert reasons[1].startswith("expected a JSON object, found unparsable text")
    assert reasons[2] == "ack 'code' must be an integer, found '200'"
    assert fakeding.violations[1].fields["frame"] == "this is not json"
    with pytest.raises(UnmetExpectation) as exc:
        fakeding.check()
    message = str(exc.value)
    assert message.startswith("expected no protocol violations, found 3:")
    assert "ack for unknown messageId 'nope_1'" in message
    assert "unparsable text" in message and "found '200'" in message
    fakeding.reset()
    fakeding.check()  # reset clears them


def test_a_binary_frame_is_a_violation(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> None:
        await ws.send(b'{"code": 200}')
        fakeding.wait_for("violation")

    _with_robot(fakeding, robot)
    (v,) = fakeding.violations
    assert "binary frame" in v.fields["reason"]
    fakeding.reset()


def test_a_non_200_ack_is_a_violation(fakeding: ThreadedFakeDing) -> None:
    async def robot(ws: ClientConnection) -> None:
        fakeding.send_message("hi")
        frame = await _next_frame(ws)
        await ws.send(_ack(frame, code=500))
        fakeding.wait_for("violation")

    _with_robot(fakeding, robot)
    (v,) = fakeding.violations
    assert v.fields["reason"] == f"ack code 500 for {BOT_TOPIC}, expected 200"
    fakeding.reset()


def _token_of(fake: ThreadedFakeDing, key: str, secret: str) -> str:
    r = requests.post(
        fake.http_url + "/v1.0/oauth2/accessToken", json={"appKey": key, "appSecret": secret}, timeout=10
    )
    assert r.status_code == 200, r.text
    return str(r.json()["accessToken"])


def test_one_app_cannot_touch_another_apps_cards(fakeding: ThreadedFakeDing) -> None:
    fakeding.add_app("other-app", "other-secret-123")
    mine, theirs = _token(fakeding), _token_of(fakeding, "other-app", "other-secret-123")
    card = {
        "cardTemplateId": "StandardCard",
        "robotCode": DEFAULT_CLIENT_ID,
        "cardBizId": "biz-owned",
        "openConversationId": "cidG",
        "cardData": json.dumps({"contents": [{"type": "markdown", "text": "v1", "id": "m"}]}),
    }
    assert _api(fakeding, "POST", "/v1.0/im/v1.0/robot/interactiveCards/send", card, mine).status_code == 200
    update = {"cardBizId": "biz-owned", "cardData": card["cardData"]}
    body = _assert_error(
        _api(fakeding, "PUT", "/v1.0/im/robots/interactiveCards", update, theirs),
        400,
        "cardInstance.notExist",
    )
    assert "a card of app 'fakeding-client'" in body["message"]
    instance = {
        "cardTemplateId": "tpl.schema",
        "outTrackId": "track-owned",
        "cardData": {"cardParamMap": {"content": "hi"}},
    }
    assert _api(fakeding, "POST", "/v1.0/card/instances", instance, mine).status_code == 200
    stream = {"outTrackId": "track-owned", "guid": "g1", "key": "content", "content": "x", "isFull": True}
    body = _assert_error(
        _api(fakeding, "PUT", "/v1.0/card/streaming", stream, theirs), 400, "param.stream.outTrackId"
    )
    assert "a card of app 'fakeding-client'" in body["message"]
    body = _assert_error(
        _api(
            fakeding,
            "PUT",
            "/v1.0/card/instances",
            {"outTrackId": "track-owned", "cardData": {"cardParamMap": {"content": "x"}}},
            theirs,
        ),
        400,
        "param.cardNotExist",
    )
    assert [v["versions"][-1]["cardData"] for v in fakeding.cards() if v["cardBizId"] == "track-owned"] == [
        {"content": "hi"}
    ]  # untouched
    # each attempt is a robot mixing up identities: a violation naming the card's own app
    reasons = [str(v.fields["reason"]) for v in fakeding.violations]
    assert len(reasons) == 3 and all("a card of app 'fakeding-client'" in r for r in reasons)
    fakeding.expect_violation("a card of app 'fakeding-client'")


def test_batch_send_user_ids_must_be_strings(fakeding: ThreadedFakeDing) -> None:
    body = {
        "robotCode": DEFAULT_CLIENT_ID,
        "userIds": ["alice", 42],
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "hi"}),
    }
    r = _api(fakeding, "POST", "/v1.0/robot/oToMessages/batchSend", body, _token(fakeding))
    assert "found 42" in _assert_error(r, 400, "invalidParameter.userIds.invalid")["message"]


@pytest.mark.parametrize(
    "name", ["x-acs-dingtalk-access-token", "X-Acs-Dingtalk-Access-Token", "X-ACS-DINGTALK-ACCESS-TOKEN"]
)
def test_the_token_header_is_read_in_any_case(fakeding: ThreadedFakeDing, name: str) -> None:
    """HTTP header names are case-insensitive: the aiohttp edge hands the core its
    case-insensitive headers, and a token in any spelling authenticates."""
    body = {
        "robotCode": DEFAULT_CLIENT_ID,
        "userIds": ["alice"],
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "hi"}),
    }
    r = requests.post(
        fakeding.http_url + "/v1.0/robot/oToMessages/batchSend",
        json=body,
        headers={name: _token(fakeding)},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"processQueryKey", "invalidStaffIdList", "flowControlledStaffIdList"}
    assert UUID_UPPER.match(r.headers["x-acs-request-id"])
