"""Shared by the card tests: request bodies, the error assertion, and the real SDK wired to the fake.

The SDK helpers give ``dingtalk_stream``'s own card code (``ChatbotHandler.reply_card``/
``update_card``, the ``card_replier`` classes) a real ``DingTalkStreamClient``: its token comes
from the running fake (the pytest plugin points ``DINGTALK_OPENAPI_ENDPOINT`` at it), every card
call goes over HTTP, and the tests read what happened from ``fakeding.card()`` and the recording.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from dingtalk_stream import ChatbotHandler, ChatbotMessage, Credential, DingTalkStreamClient
from dingtalk_stream.interactive_card import INTERACTIVE_CARD_JSON_SAMPLE_1

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.core.cards import CARD_ROUTES, Card, CardRoute, CardStore
from fakeding.core.exceptions import OpenApiError
from fakeding.core.ids import IdFactory
from fakeding.core.settings import Settings

CLIENT = "dingclient0001"
GROUP = "cidGroupAbc123=="
STAFF = "staff001"
TEMPLATE = "589420e2-c1e2-46ef-a5ed-b8728e654da9.schema"


def access_token(fake: ThreadedFakeDing, app: str = DEFAULT_CLIENT_ID) -> str:
    """An access token of ``app`` (its secret: the default app's), issued by the fake over HTTP."""
    r = requests.post(
        fake.http_url + "/v1.0/oauth2/accessToken",
        json={"appKey": app, "appSecret": DEFAULT_CLIENT_SECRET},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["accessToken"]
    return token


def make_store(**settings: Any) -> CardStore:
    return CardStore(Settings().replace(**settings), IdFactory(0))


def rejects(call: Callable[[], object], code: str, *words: str, status: int = 400) -> OpenApiError:
    """Assert ``call`` raises the platform error ``code`` whose message mentions ``words``."""
    with pytest.raises(OpenApiError) as info:
        call()
    err = info.value
    assert (err.status, err.code) == (status, code), err
    for word in words:
        assert word in err.message, f"{word!r} not in {err.message!r}"
    return err


def send_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cardTemplateId": "StandardCard",
        "robotCode": CLIENT,
        "cardData": json.dumps(INTERACTIVE_CARD_JSON_SAMPLE_1),
        "sendOptions": {"atAll": False},
        "cardBizId": "biz-1",
        "openConversationId": GROUP,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def create_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cardTemplateId": TEMPLATE,
        "outTrackId": "track-1",
        "cardData": {"cardParamMap": {"markdown": "hi"}},
        "callbackType": "STREAM",
        "imGroupOpenSpaceModel": {"supportForward": True},
        "imRobotOpenSpaceModel": {"supportForward": True},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def group_delivery(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "outTrackId": "track-1",
        "userIdType": 1,
        "openSpaceId": f"dtv1.card//IM_GROUP.{GROUP}",
        "imGroupOpenDeliverModel": {"robotCode": CLIENT},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def robot_delivery(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "outTrackId": "track-1",
        "userIdType": 1,
        "openSpaceId": f"dtv1.card//IM_ROBOT.{STAFF}",
        "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def stream_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "outTrackId": "track-1",
        "guid": "g-1",
        "key": "msgContent",
        "content": "Hello",
        "isFull": True,
        "isFinalize": False,
        "isError": False,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def ai_card(store: CardStore, t: float = 0.0, **params: Any) -> Card:
    params = {"flowStatus": "1", **params}
    card, _ = store.create_and_deliver(
        t, CLIENT, {**create_body(cardData={"cardParamMap": params}), **group_delivery()}
    )
    return card


# ---------------------------------------------------------------------------------------------
# the real SDK, over HTTP to the fake

APP = DEFAULT_CLIENT_ID  # the fake's default app: the SDK's clientId and robotCode


def sdk_client() -> DingTalkStreamClient:
    """The SDK's client for the fake's default app; ``get_access_token()`` asks the fake."""
    return DingTalkStreamClient(Credential(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))


def chatbot_handler() -> ChatbotHandler:
    handler = ChatbotHandler()
    handler.dingtalk_client = sdk_client()
    return handler


def incoming(conversation_type: str = "2") -> ChatbotMessage:
    return ChatbotMessage.from_dict(
        {
            "conversationType": conversation_type,
            "conversationId": GROUP,
            "senderStaffId": STAFF,
            "senderNick": "Alice",
            "senderId": "$:LWCP_v1:$abc",
            "senderCorpId": "dingcorp0001",
            "msgId": "msgAbc",
            "msgtype": "text",
            "text": {"content": "hello"},
            "robotCode": APP,
        }
    )


def route_named(recorded: str) -> CardRoute | None:
    """The card route of a recorded ``"METHOD /path"``, None for other APIs."""
    method, _, path = recorded.partition(" ")
    return CARD_ROUTES.get((method, path))


def card_calls(fake: ThreadedFakeDing, operation: str | None = None) -> list[dict[str, Any]]:
    """The recorded card API calls in order (request, response, status), of one operation if given."""
    calls = []
    for record in fake.timeline(["api"]):
        route = route_named(record["route"])
        if route is not None and operation in (None, route.operation):
            calls.append(record)
    return calls


def assert_all_accepted(fake: ThreadedFakeDing) -> None:
    """Every API call so far (token and cards) was answered 200; the SDK only logs failures."""
    calls = fake.timeline(["api"])
    failed = [(r["route"], r["response"]) for r in calls if r["status"] != 200]
    assert calls and not failed, failed
