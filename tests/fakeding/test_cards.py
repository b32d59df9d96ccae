"""CardStore: the platform's card state and validation, fed plain bodies and real SDK bodies.

The ``sdk`` fixture routes the official ``dingtalk_stream`` card code
(``ChatbotHandler.reply_card``/``update_card``, ``CardReplier``, ``AICardReplier``,
``AIMarkdownCardInstance``) straight into the store by patching ``requests``, so these tests check
the exact bodies the SDK builds, serialised the way ``requests`` serialises them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import dingtalk_stream
import pytest
import requests
from dingtalk_stream import (
    AICardReplier,
    AIMarkdownCardInstance,
    CardReplier,
    ChatbotHandler,
    ChatbotMessage,
    MarkdownCardInstance,
)
from dingtalk_stream.interactive_card import (
    INTERACTIVE_CARD_JSON_SAMPLE_1,
    INTERACTIVE_CARD_JSON_SAMPLE_MULTI_TEXT_LINE,
)

from fakeding.cards import Button, Card, CardStore, parse_open_space_id
from fakeding.exceptions import OpenApiError, ProtocolViolation
from fakeding.ids import IdFactory
from fakeding.settings import Settings

CLIENT = "dingclient0001"
GROUP = "cidGroupAbc123=="
STAFF = "staff001"
TEMPLATE = "589420e2-c1e2-46ef-a5ed-b8728e654da9.schema"


# ---------------------------------------------------------------------------------------------
# helpers


def make_store(**settings: Any) -> CardStore:
    return CardStore(Settings().replace(**settings), IdFactory(0))


@pytest.fixture
def store() -> CardStore:
    return make_store()


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
# the real SDK, routed into the store


class _Response:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self._body = body
        self.text = json.dumps(body, ensure_ascii=False)

    def json(self) -> dict[str, Any]:
        return self._body

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code} {self.text}")


class SdkRoute:
    """Stands in for ``requests.post``/``put``: every SDK card call goes to the store."""

    def __init__(self, store: CardStore) -> None:
        self.store = store
        self.t = 0.0
        self.calls: list[tuple[str, str, dict[str, Any], int, dict[str, Any]]] = []
        self.client = _Client()
        self.routes: dict[tuple[str, str], Callable[..., tuple[Card, dict[str, Any]]]] = {
            ("POST", "/v1.0/im/v1.0/robot/interactiveCards/send"): store.send_interactive,
            ("PUT", "/v1.0/im/robots/interactiveCards"): store.update_interactive,
            ("POST", "/v1.0/card/instances"): store.create_instance,
            ("PUT", "/v1.0/card/instances"): store.update_instance,
            ("POST", "/v1.0/card/instances/deliver"): store.deliver,
            ("POST", "/v1.0/card/instances/createAndDeliver"): store.create_and_deliver,
            ("PUT", "/v1.0/card/streaming"): store.stream,
        }

    def handle(self, method: str, url: str, **kwargs: Any) -> _Response:
        # exactly what goes over the wire: requests' json= encoding, or the SDK's own data=
        wire = json.dumps(kwargs["json"]) if "json" in kwargs else kwargs["data"]
        body = json.loads(wire)
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        self.t += 1.0
        try:
            _, out = self.routes[(method, path)](self.t, CLIENT, body)
            status = 200
        except OpenApiError as exc:
            status, out = exc.status, exc.body("REQ-1")
        self.calls.append((method, path, body, status, out))
        return _Response(status, out)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for _, p, body, _, _ in self.calls if p == path]

    def assert_all_accepted(self) -> None:
        failed = [(m, p, out) for m, p, _, status, out in self.calls if status != 200]
        assert not failed, failed


class _Credential:
    client_id = CLIENT


class _Client:
    credential = _Credential()

    def get_access_token(self) -> str:
        return "token-1"


@pytest.fixture
def sdk(store: CardStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[SdkRoute]:
    route = SdkRoute(store)
    monkeypatch.setattr(requests, "post", lambda url, **kw: route.handle("POST", url, **kw))
    monkeypatch.setattr(requests, "put", lambda url, **kw: route.handle("PUT", url, **kw))
    yield route


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
            "robotCode": CLIENT,
        }
    )


def chatbot_handler(route: SdkRoute) -> ChatbotHandler:
    handler = ChatbotHandler()
    handler.dingtalk_client = route.client
    return handler


# ---------------------------------------------------------------------------------------------
# ordinary interactive cards: send


def test_sdk_reply_card_in_a_group(store: CardStore, sdk: SdkRoute) -> None:
    biz_id = chatbot_handler(sdk).reply_card(
        INTERACTIVE_CARD_JSON_SAMPLE_1, incoming("2"), at_sender=True
    )
    sdk.assert_all_accepted()
    card = store.get(biz_id)
    assert len(biz_id) == 64
    assert card.kind == "interactive"
    assert card.client_id == CLIENT
    assert card.robot_code == CLIENT
    assert card.template_id == "StandardCard"
    assert (card.conversation_id, card.single_user) == (GROUP, None)
    assert card.at_users == [STAFF]
    assert card.current == INTERACTIVE_CARD_JSON_SAMPLE_1
    assert [v.source for v in card.versions] == ["send"]
    assert card.versions[0].t == 1.0
    assert card.delivered and not card.finalized and not card.failed
    assert card.flow_status is None
    out = sdk.calls[0][4]
    assert set(out) == {"processQueryKey"} and isinstance(out["processQueryKey"], str)


def test_sdk_reply_card_one_to_one_with_at_all(store: CardStore, sdk: SdkRoute) -> None:
    biz_id = chatbot_handler(sdk).reply_card(
        INTERACTIVE_CARD_JSON_SAMPLE_MULTI_TEXT_LINE, incoming("1"), at_all=True
    )
    sdk.assert_all_accepted()
    card = store.get(biz_id)
    assert (card.conversation_id, card.single_user) == (None, STAFF)
    assert card.at_users == ["@ALL"]
    assert sdk.bodies("/v1.0/im/v1.0/robot/interactiveCards/send")[0]["singleChatReceiver"] == (
        json.dumps({"userId": STAFF})
    )


def test_request_buttons_make_a_stream_callback_card(store: CardStore) -> None:
    card, _ = store.send_interactive(0.0, CLIENT, send_body())
    assert card.callback_type == "STREAM"
    assert card.buttons() == [Button(id="button_1646816888257", label="回传请求", value={})]


def test_buttons_carry_their_value_and_section_buttons_count(store: CardStore) -> None:
    data = {
        "contents": [
            {
                "type": "action",
                "actions": [
                    {
                        "type": "button",
                        "label": {"type": "text", "text": "Like"},
                        "actionType": "request",
                        "value": {"vote": "up"},
                        "id": "like",
                    },
                    {"type": "button", "label": {"text": "Docs"}, "actionType": "openLink"},
                ],
            },
            {
                "type": "section",
                "extra": {"type": "button", "label": "More", "actionType": "request", "id": "more"},
            },
        ]
    }
    card, _ = store.send_interactive(0.0, CLIENT, send_body(cardData=json.dumps(data)))
    assert card.buttons() == [
        Button("like", "Like", {"vote": "up"}),
        Button("more", "More", {}),
    ]


def test_a_card_without_request_buttons_has_no_callback(store: CardStore) -> None:
    data = json.dumps(INTERACTIVE_CARD_JSON_SAMPLE_MULTI_TEXT_LINE)
    card, _ = store.send_interactive(0.0, CLIENT, send_body(cardData=data))
    assert card.callback_type is None
    assert card.buttons() == []


def test_callback_url_makes_an_http_callback_card(store: CardStore) -> None:
    card, _ = store.send_interactive(0.0, CLIENT, send_body(callbackUrl="https://bot/cb"))
    assert (card.callback_type, card.callback_url) == ("HTTP", "https://bot/cb")


@pytest.mark.parametrize("name", ["cardTemplateId", "robotCode", "cardBizId", "cardData"])
def test_send_requires_fields(store: CardStore, name: str) -> None:
    body = send_body()
    del body[name]
    rejects(lambda: store.send_interactive(0.0, CLIENT, body), "param.error", name)
    assert len(store) == 0


def test_send_requires_a_non_empty_string(store: CardStore) -> None:
    rejects(
        lambda: store.send_interactive(0.0, CLIENT, send_body(robotCode="")),
        "param.error",
        "robotCode",
        "found an empty string",
    )


def test_send_body_must_be_an_object(store: CardStore) -> None:
    rejects(lambda: store.send_interactive(0.0, CLIENT, [1]), "param.error", "array")  # type: ignore[arg-type]


def test_send_only_knows_the_standard_card(store: CardStore) -> None:
    rejects(
        lambda: store.send_interactive(0.0, CLIENT, send_body(cardTemplateId=TEMPLATE)),
        "template.isNotExist",
        "StandardCard",
    )


def test_card_biz_id_at_most_100_chars(store: CardStore) -> None:
    store.send_interactive(0.0, CLIENT, send_body(cardBizId="b" * 100))
    rejects(
        lambda: store.send_interactive(0.0, CLIENT, send_body(cardBizId="b" * 101)),
        "invalid.bizId",
        "at most 100",
        "101",
    )


@pytest.mark.parametrize(
    ("card_data", "found"),
    [
        (INTERACTIVE_CARD_JSON_SAMPLE_1, "object"),  # a dict, not JSON text
        ("{not json", "invalid JSON"),
        ("[1, 2]", "array"),
        ('"text"', "string"),
    ],
)
def test_card_data_must_be_json_text_of_an_object(
    store: CardStore, card_data: Any, found: str
) -> None:
    rejects(
        lambda: store.send_interactive(0.0, CLIENT, send_body(cardData=card_data)),
        "param.isNotJson",
        "cardData",
        found,
    )


def test_card_data_size_is_counted_in_utf8_bytes() -> None:
    store = make_store(interactive_card_max_bytes=100)
    ok = json.dumps({"t": "x" * 80})
    assert len(ok.encode()) <= 100
    store.send_interactive(0.0, CLIENT, send_body(cardData=ok))
    big = json.dumps({"t": "钉" * 31}, ensure_ascii=False)  # 40 characters, 102 bytes
    assert len(big) < 100 < len(big.encode())
    rejects(
        lambda: store.send_interactive(0.0, CLIENT, send_body(cardBizId="b2", cardData=big)),
        "param.error",
        "too large",
        "100 bytes",
        str(len(big.encode())),
    )


def test_card_data_size_limit_can_be_switched_off() -> None:
    store = make_store(interactive_card_max_bytes=None)
    store.send_interactive(0.0, CLIENT, send_body(cardData=json.dumps({"t": "x" * 20_000})))


@pytest.mark.parametrize("targets", ["both", "neither"])
def test_send_needs_exactly_one_target(store: CardStore, targets: str) -> None:
    if targets == "both":
        body = send_body(singleChatReceiver=json.dumps({"userId": STAFF}))
    else:
        body = send_body(openConversationId=None)
    rejects(
        lambda: store.send_interactive(0.0, CLIENT, body),
        "param.error",
        "openConversationId",
        "singleChatReceiver",
        targets,
    )


def test_single_chat_receiver_by_union_id(store: CardStore) -> None:
    body = send_body(openConversationId=None, singleChatReceiver='{"unionId": "u-1"}')
    card, _ = store.send_interactive(0.0, CLIENT, body)
    assert card.single_user == "u-1"


def test_single_chat_receiver_must_be_json_text(store: CardStore) -> None:
    body = send_body(openConversationId=None, singleChatReceiver={"userId": STAFF})
    rejects(
        lambda: store.send_interactive(0.0, CLIENT, body), "param.isNotJson", "singleChatReceiver"
    )


def test_single_chat_receiver_needs_a_user(store: CardStore) -> None:
    body = send_body(openConversationId=None, singleChatReceiver='{"nick": "x"}')
    rejects(lambda: store.send_interactive(0.0, CLIENT, body), "invalid.user", "userId", "nick")


def _at_list(n: int) -> str:
    return json.dumps([{"nickName": f"n{i}", "userId": f"u{i}"} for i in range(n)])


def test_at_user_list_up_to_30(store: CardStore) -> None:
    card, _ = store.send_interactive(
        0.0, CLIENT, send_body(sendOptions={"atUserListJson": _at_list(30)})
    )
    assert card.at_users == [f"u{i}" for i in range(30)]
    rejects(
        lambda: store.send_interactive(
            0.0, CLIENT, send_body(cardBizId="b2", sendOptions={"atUserListJson": _at_list(31)})
        ),
        "param.error",
        "atUserListJson",
        "30",
        "31",
    )


def test_at_user_list_by_union_id(store: CardStore) -> None:
    at = json.dumps([{"nickName": "A", "unionId": "union-a"}])
    card, _ = store.send_interactive(0.0, CLIENT, send_body(sendOptions={"atUserListJson": at}))
    assert card.at_users == ["union-a"]


@pytest.mark.parametrize(
    ("at", "code"),
    [
        ("not json", "param.isNotJson"),
        ('{"userId": "u"}', "param.isNotJson"),
        (json.dumps([{"nickName": "no id"}]), "invalid.user"),
        (json.dumps(["u1"]), "invalid.user"),
    ],
)
def test_at_user_list_must_be_a_json_list_of_users(store: CardStore, at: str, code: str) -> None:
    body = send_body(sendOptions={"atUserListJson": at})
    rejects(lambda: store.send_interactive(0.0, CLIENT, body), code, "atUserListJson")


def test_send_options_other_json_fields_must_parse(store: CardStore) -> None:
    body = send_body(sendOptions={"cardPropertyJson": "{oops"})
    rejects(
        lambda: store.send_interactive(0.0, CLIENT, body), "param.isNotJson", "cardPropertyJson"
    )


def test_send_options_must_be_an_object(store: CardStore) -> None:
    body = send_body(sendOptions="atAll")
    rejects(lambda: store.send_interactive(0.0, CLIENT, body), "param.error", "sendOptions")


def test_send_keeps_private_data(store: CardStore) -> None:
    body = send_body(userIdPrivateDataMap=json.dumps({STAFF: {"liked": "yes"}}))
    card, _ = store.send_interactive(0.0, CLIENT, body)
    assert card.private_data == {STAFF: {"liked": "yes"}}
    bad = send_body(cardBizId="b2", unionIdPrivateDataMap=json.dumps({"u": "flat"}))
    rejects(
        lambda: store.send_interactive(0.0, CLIENT, bad), "param.error", "unionIdPrivateDataMap.u"
    )


def test_resending_a_card_biz_id_sends_the_same_card_again(store: CardStore) -> None:
    first, out1 = store.send_interactive(1.0, CLIENT, send_body())
    body = send_body(
        openConversationId=None,
        singleChatReceiver=json.dumps({"userId": STAFF}),
        cardData=json.dumps({"contents": []}),
    )
    again, out2 = store.send_interactive(2.0, CLIENT, body)
    assert again is first and len(store) == 1
    assert [v.source for v in again.versions] == ["send", "send"]
    assert again.current == INTERACTIVE_CARD_JSON_SAMPLE_1  # a new id is needed for new data
    assert again.versions[1].extra["ignored_card_data"] == {"contents": []}
    assert again.versions[1].extra["target"] == {"userId": STAFF}
    assert again.single_user == STAFF
    assert again.spaces == [("IM_GROUP", GROUP), ("IM_ROBOT", STAFF)]
    assert out1["processQueryKey"] != out2["processQueryKey"]


def test_send_cannot_reuse_an_instance_id(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body(outTrackId="same"))
    rejects(
        lambda: store.send_interactive(0.0, CLIENT, send_body(cardBizId="same")),
        "invalid.bizId",
        "card instance",
    )


# ---------------------------------------------------------------------------------------------
# ordinary interactive cards: update


def test_sdk_update_card_replaces_the_data(store: CardStore, sdk: SdkRoute) -> None:
    handler = chatbot_handler(sdk)
    biz_id = handler.reply_card(INTERACTIVE_CARD_JSON_SAMPLE_1, incoming("2"))
    changed = copy.deepcopy(INTERACTIVE_CARD_JSON_SAMPLE_MULTI_TEXT_LINE)
    answer = handler.update_card(biz_id, changed)
    sdk.assert_all_accepted()
    assert set(answer) == {"processQueryKey"}
    card = store.get(biz_id)
    assert [v.source for v in card.versions] == ["send", "update"]
    assert card.current == changed
    assert card.versions[0].card_data == INTERACTIVE_CARD_JSON_SAMPLE_1
    assert card.callback_type is None  # the update removed the request button


def test_update_by_key_merges_top_level_keys(store: CardStore) -> None:
    store.send_interactive(0.0, CLIENT, send_body(cardData=json.dumps({"a": 1, "b": 2})))
    body = {
        "cardBizId": "biz-1",
        "cardData": json.dumps({"b": 3, "c": 4}),
        "updateOptions": {"updateCardDataByKey": True},
    }
    card, _ = store.update_interactive(1.0, CLIENT, body)
    assert card.current == {"a": 1, "b": 3, "c": 4}
    assert card.versions[-1].extra["by_key"] is True


def test_update_private_data_by_key(store: CardStore) -> None:
    store.send_interactive(
        0.0, CLIENT, send_body(userIdPrivateDataMap=json.dumps({STAFF: {"a": "1", "b": "2"}}))
    )
    body = {
        "cardBizId": "biz-1",
        "userIdPrivateDataMap": json.dumps({STAFF: {"b": "3"}}),
        "updateOptions": {"updatePrivateDataByKey": True},
    }
    card, _ = store.update_interactive(1.0, CLIENT, body)
    assert card.private_data == {STAFF: {"a": "1", "b": "3"}}
    assert card.current == INTERACTIVE_CARD_JSON_SAMPLE_1


def test_update_unknown_card(store: CardStore) -> None:
    body = {"cardBizId": "nope", "cardData": "{}"}
    rejects(lambda: store.update_interactive(0.0, CLIENT, body), "cardInstance.notExist", "nope")


def test_update_of_an_instance_points_at_the_instance_api(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    body = {"cardBizId": "track-1", "cardData": "{}"}
    rejects(
        lambda: store.update_interactive(0.0, CLIENT, body),
        "cardInstance.notExist",
        "PUT /v1.0/card/instances",
    )


def test_update_requires_card_biz_id(store: CardStore) -> None:
    rejects(
        lambda: store.update_interactive(0.0, CLIENT, {"cardData": "{}"}),
        "param.error",
        "cardBizId",
    )


def test_update_card_data_must_be_json_text(store: CardStore) -> None:
    store.send_interactive(0.0, CLIENT, send_body())
    body = {"cardBizId": "biz-1", "cardData": {"a": 1}}
    rejects(lambda: store.update_interactive(0.0, CLIENT, body), "param.isNotJson", "cardData")


def test_update_needs_something_to_update(store: CardStore) -> None:
    store.send_interactive(0.0, CLIENT, send_body())
    rejects(
        lambda: store.update_interactive(0.0, CLIENT, {"cardBizId": "biz-1"}),
        "param.error",
        "nothing to update",
    )


def test_update_size_limit() -> None:
    store = make_store(interactive_card_max_bytes=50)
    store.send_interactive(0.0, CLIENT, send_body(cardData="{}"))
    body = {"cardBizId": "biz-1", "cardData": json.dumps({"x": "y" * 60})}
    rejects(lambda: store.update_interactive(0.0, CLIENT, body), "param.error", "too large")


def test_update_adding_a_request_button_turns_on_callbacks(store: CardStore) -> None:
    data = json.dumps(INTERACTIVE_CARD_JSON_SAMPLE_MULTI_TEXT_LINE)
    card, _ = store.send_interactive(0.0, CLIENT, send_body(cardData=data))
    assert card.callback_type is None
    body = {"cardBizId": "biz-1", "cardData": json.dumps(INTERACTIVE_CARD_JSON_SAMPLE_1)}
    store.update_interactive(1.0, CLIENT, body)
    assert card.callback_type == "STREAM"


# ---------------------------------------------------------------------------------------------
# card instances: create


def test_sdk_create_and_send_card_in_a_group(store: CardStore, sdk: SdkRoute) -> None:
    replier = CardReplier(sdk.client, incoming("2"))
    card_id = replier.create_and_send_card(TEMPLATE, {"markdown": "**hi**"}, at_sender=True)
    sdk.assert_all_accepted()
    card = store.get(card_id)
    assert card.kind == "instance"
    assert card.template_id == TEMPLATE
    assert card.current == {"markdown": "**hi**"}
    assert [v.source for v in card.versions] == ["create", "deliver"]
    assert card.callback_type == "STREAM"
    assert card.robot_code == CLIENT
    assert (card.conversation_id, card.single_user) == (GROUP, None)
    assert card.at_users == [STAFF]
    assert card.delivered
    assert card.buttons() == []
    create_out, deliver_out = sdk.calls[0][4], sdk.calls[1][4]
    assert create_out == {"success": True, "result": card_id}
    [result] = deliver_out["result"]
    assert deliver_out["success"] is True
    assert result["spaceType"] == "IM_GROUP" and result["spaceId"] == GROUP
    assert result["success"] is True and isinstance(result["carrierId"], str)


def test_sdk_create_and_send_card_one_to_one(store: CardStore, sdk: SdkRoute) -> None:
    card_id = CardReplier(sdk.client, incoming("1")).create_and_send_card(
        TEMPLATE, {"markdown": "x"}
    )
    sdk.assert_all_accepted()
    card = store.get(card_id)
    assert (card.conversation_id, card.single_user) == (None, STAFF)
    assert card.robot_code == CLIENT  # no robotCode in imRobotOpenDeliverModel: the app's own
    assert card.spaces == [("IM_ROBOT", STAFF)]


def test_sdk_http_callback_card(store: CardStore, sdk: SdkRoute) -> None:
    replier = CardReplier(sdk.client, incoming("2"))
    card_id = replier.create_and_send_card(
        TEMPLATE, {"markdown": "x"}, callback_type="HTTP", callback_route_key="route-1"
    )
    sdk.assert_all_accepted()
    card = store.get(card_id)
    assert (card.callback_type, card.callback_route_key) == ("HTTP", "route-1")


def test_sdk_markdown_card_instance_reply_and_update(store: CardStore, sdk: SdkRoute) -> None:
    instance = MarkdownCardInstance(sdk.client, incoming("2"))
    instance.set_title_and_logo("Title", "")
    instance.reply("first", at_all=True)
    instance.update("second")
    sdk.assert_all_accepted()
    card = store.get(instance.card_instance_id)
    assert [v.source for v in card.versions] == ["create", "deliver", "update"]
    assert card.current == {"markdown": "second", "title": "Title"}
    assert card.at_users == ["@ALL"]


def test_create_instance_answer(store: CardStore) -> None:
    card, out = store.create_instance(3.0, CLIENT, create_body())
    assert out == {"success": True, "result": "track-1"}
    assert not card.delivered
    assert card.versions[0].t == 3.0 and card.versions[0].source == "create"
    assert card.robot_code is None and card.conversation_id is None


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("cardTemplateId", "param.cardTemplateIdEmpty"),
        ("outTrackId", "param.outTrackIdEmpty"),
        ("cardData", "param.cardPublicDataEmpty"),
    ],
)
def test_create_requires_fields(store: CardStore, name: str, code: str) -> None:
    body = create_body()
    del body[name]
    rejects(lambda: store.create_instance(0.0, CLIENT, body), code, name)
    assert len(store) == 0


def test_create_existing_out_track_id(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    rejects(
        lambda: store.create_instance(1.0, CLIENT, create_body()),
        "param.cardAlreadyExist",
        "track-1",
        "fresh outTrackId",
    )
    store.send_interactive(0.0, CLIENT, send_body())
    rejects(
        lambda: store.create_instance(1.0, CLIENT, create_body(outTrackId="biz-1")),
        "param.cardAlreadyExist",
        "interactive",
    )


def test_create_coerces_numbers_and_booleans(store: CardStore) -> None:
    params = {"count": 3, "ratio": 1.5, "on": True, "off": False, "s": "x"}
    card, _ = store.create_instance(0.0, CLIENT, create_body(cardData={"cardParamMap": params}))
    assert card.current == {"count": "3", "ratio": "1.5", "on": "true", "off": "false", "s": "x"}
    assert card.versions[0].extra["coerced"] == ["count", "ratio", "on", "off"]


@pytest.mark.parametrize(
    ("value", "found"), [({"a": 1}, "object"), ([1, 2], "array"), (None, "null")]
)
def test_create_refuses_objects_lists_and_null(store: CardStore, value: Any, found: str) -> None:
    body = create_body(cardData={"cardParamMap": {"items": value}})
    rejects(
        lambda: store.create_instance(0.0, CLIENT, body),
        "param.invalid",
        "cardData.cardParamMap.items",
        "json.dumps",
        found,
    )


def test_create_card_data_shapes(store: CardStore) -> None:
    rejects(
        lambda: store.create_instance(0.0, CLIENT, create_body(cardData="{}")),
        "param.invalid",
        "cardParamMap",
    )
    rejects(
        lambda: store.create_instance(0.0, CLIENT, create_body(cardData={"cardParamMap": "x"})),
        "param.invalid",
        "cardData.cardParamMap",
    )
    card, _ = store.create_instance(0.0, CLIENT, create_body(cardData={}))
    assert card.current == {}


def test_create_key_at_most_100_bytes(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body(cardData={"cardParamMap": {"k" * 100: "v"}}))
    body = create_body(outTrackId="t2", cardData={"cardParamMap": {"键" * 34: "v"}})  # 102 bytes
    rejects(lambda: store.create_instance(0.0, CLIENT, body), "param.invalid", "100 bytes", "102")


def test_create_value_limit_from_settings() -> None:
    store = make_store(card_param_value_max_bytes=10)
    store.create_instance(0.0, CLIENT, create_body(cardData={"cardParamMap": {"k": "x" * 10}}))
    body = create_body(outTrackId="t2", cardData={"cardParamMap": {"k": "钉" * 4}})  # 12 bytes
    rejects(lambda: store.create_instance(0.0, CLIENT, body), "param.invalid", "10 bytes", "12")
    unlimited = make_store(card_param_value_max_bytes=None)
    unlimited.create_instance(
        0.0, CLIENT, create_body(cardData={"cardParamMap": {"k": "x" * 5000}})
    )


def test_create_private_data(store: CardStore) -> None:
    private = {STAFF: {"cardParamMap": {"mine": "yes", "n": 1}}}
    card, _ = store.create_instance(0.0, CLIENT, create_body(privateData=private))
    assert card.private_data == {STAFF: {"mine": "yes", "n": "1"}}
    assert card.versions[0].extra["coerced"] == [f"{STAFF}.n"]


@pytest.mark.parametrize(
    ("private", "words"),
    [
        ("x", ["privateData", "string"]),
        ({STAFF: "x"}, [f"privateData.{STAFF}", "cardParamMap"]),
        ({STAFF: {"cardParamMap": {"k": {}}}}, [f"privateData.{STAFF}.cardParamMap.k"]),
        ({"u" * 101: {"cardParamMap": {}}}, ["100 bytes"]),
    ],
)
def test_create_private_data_shapes(store: CardStore, private: Any, words: list[str]) -> None:
    body = create_body(privateData=private)
    rejects(lambda: store.create_instance(0.0, CLIENT, body), "param.invalid", *words)


def test_create_callback_type(store: CardStore) -> None:
    card, _ = store.create_instance(0.0, CLIENT, create_body(callbackType=None))
    assert card.callback_type is None
    card, _ = store.create_instance(
        0.0, CLIENT, create_body(outTrackId="t2", callbackType="stream")
    )
    assert card.callback_type == "STREAM"
    rejects(
        lambda: store.create_instance(0.0, CLIENT, create_body(outTrackId="t3", callbackType="WS")),
        "param.invalid",
        "callbackType",
        "'WS'",
    )


def test_create_card_at_user_ids(store: CardStore) -> None:
    card, _ = store.create_instance(0.0, CLIENT, create_body(cardAtUserIds=["u1", "u2"]))
    assert card.at_users == ["u1", "u2"]
    rejects(
        lambda: store.create_instance(
            0.0, CLIENT, create_body(outTrackId="t2", cardAtUserIds="u1")
        ),
        "param.invalid",
        "cardAtUserIds",
    )


# ---------------------------------------------------------------------------------------------
# card instances: deliver


def test_deliver_group(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    body = group_delivery(
        imGroupOpenDeliverModel={
            "robotCode": "robot-9",
            "atUserIds": {STAFF: "Alice", "u2": "Bob"},
            "recipients": [STAFF],
        }
    )
    card, out = store.deliver(2.0, CLIENT, body)
    assert out["success"] is True
    assert out["result"] == [
        {
            "spaceType": "IM_GROUP",
            "spaceId": GROUP,
            "success": True,
            "carrierId": out["result"][0]["carrierId"],
            "errorMsg": "",
        }
    ]
    assert card.delivered
    assert card.robot_code == "robot-9"
    assert card.conversation_id == GROUP
    assert card.at_users == [STAFF, "u2"]
    assert card.recipients == [STAFF]
    deliver = card.versions[-1]
    assert (deliver.t, deliver.source) == (2.0, "deliver")
    assert deliver.card_data == {"markdown": "hi"}
    assert deliver.extra["spaces"] == [["IM_GROUP", GROUP]]


def test_deliver_to_several_spaces(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    body = group_delivery(
        openSpaceId=f"dtv1.card//im_group.{GROUP};IM_ROBOT.{STAFF}",
        imRobotOpenDeliverModel={"spaceType": "IM_ROBOT"},
    )
    card, out = store.deliver(0.0, CLIENT, body)
    assert [(r["spaceType"], r["spaceId"]) for r in out["result"]] == [
        ("IM_GROUP", GROUP),
        ("IM_ROBOT", STAFF),
    ]
    assert len({r["carrierId"] for r in out["result"]}) == 2
    assert (card.conversation_id, card.single_user) == (GROUP, STAFF)


def test_deliver_at_all(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    model = {"robotCode": CLIENT, "atUserIds": {"@ALL": "@ALL"}}
    card, _ = store.deliver(0.0, CLIENT, group_delivery(imGroupOpenDeliverModel=model))
    assert card.at_users == ["@ALL"]


def test_deliver_unknown_card(store: CardStore) -> None:
    rejects(lambda: store.deliver(0.0, CLIENT, group_delivery()), "param.cardNotExist", "track-1")


def test_deliver_requires_out_track_id(store: CardStore) -> None:
    body = group_delivery(outTrackId=None)
    rejects(lambda: store.deliver(0.0, CLIENT, body), "param.outTrackIdEmpty", "outTrackId")


def test_deliver_requires_open_space_id(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    body = group_delivery(openSpaceId=None)
    rejects(lambda: store.deliver(0.0, CLIENT, body), "param.openSpaceIdEmpty", "openSpaceId")
    assert not store.get("track-1").delivered


@pytest.mark.parametrize(
    "space",
    [
        f"IM_GROUP.{GROUP}",
        f"dtv1.card//IM_CHANNEL.{GROUP}",
        "dtv1.card//IM_GROUP.",
        "dtv1.card//IM_GROUP",
        "dtv1.card//",
        42,
    ],
)
def test_deliver_open_space_id_format(store: CardStore, space: Any) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    body = group_delivery(openSpaceId=space)
    rejects(lambda: store.deliver(0.0, CLIENT, body), "param.openSpaceIdInvalid", "dtv1.card//")
    assert [v.source for v in store.get("track-1").versions] == ["create"]


def test_parse_open_space_id() -> None:
    assert parse_open_space_id("dtv1.card//one_box.cid1;Im_Single.cid2;") == [
        ("ONE_BOX", "cid1"),
        ("IM_SINGLE", "cid2"),
    ]
    assert parse_open_space_id("dtv1.card//IM_GROUP.cid.with.dots") == [
        ("IM_GROUP", "cid.with.dots")
    ]


@pytest.mark.parametrize(
    "model", [None, {}, {"robotCode": ""}, "robot"], ids=["absent", "empty", "blank", "string"]
)
def test_deliver_group_needs_a_robot_code(store: CardStore, model: Any) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    body = group_delivery(imGroupOpenDeliverModel=model)
    rejects(
        lambda: store.deliver(0.0, CLIENT, body),
        "param.openDeliverModelEmpty",
        "imGroupOpenDeliverModel",
        "robotCode",
    )


def test_deliver_robot_needs_its_model(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    body = robot_delivery(imRobotOpenDeliverModel=None)
    rejects(
        lambda: store.deliver(0.0, CLIENT, body),
        "param.openDeliverModelEmpty",
        "imRobotOpenDeliverModel",
    )


def test_deliver_robot_keeps_an_explicit_robot_code(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    model = {"spaceType": "IM_ROBOT", "robotCode": "robot-7"}
    card, _ = store.deliver(0.0, CLIENT, robot_delivery(imRobotOpenDeliverModel=model))
    assert (card.robot_code, card.single_user) == ("robot-7", STAFF)


def test_deliver_one_box_and_single_need_no_model(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    body = {"outTrackId": "track-1", "openSpaceId": "dtv1.card//IM_SINGLE.cidSingle"}
    card, _ = store.deliver(0.0, CLIENT, body)
    assert card.conversation_id == "cidSingle"


def test_deliver_user_id_type(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body())
    rejects(
        lambda: store.deliver(0.0, CLIENT, group_delivery(userIdType=3)),
        "param.invalid",
        "userIdType",
    )
    card, _ = store.deliver(0.0, CLIENT, group_delivery(userIdType=2))
    assert card.user_id_type == 2
    store.deliver(1.0, CLIENT, group_delivery(userIdType=None))
    assert card.user_id_type == 2  # a delivery without userIdType keeps the card's


def test_create_user_id_type(store: CardStore) -> None:
    card, _ = store.create_instance(0.0, CLIENT, create_body(userIdType=2))
    assert card.user_id_type == 2


# ---------------------------------------------------------------------------------------------
# card instances: createAndDeliver


def test_sdk_create_and_deliver_card(store: CardStore, sdk: SdkRoute) -> None:
    replier = CardReplier(sdk.client, incoming("2"))
    card_id = replier.create_and_deliver_card(TEMPLATE, {"markdown": "x"}, recipients=[STAFF])
    sdk.assert_all_accepted()
    card = store.get(card_id)
    assert [v.source for v in card.versions] == ["create", "deliver"]
    assert card.recipients == [STAFF]
    out = sdk.calls[0][4]
    assert out["success"] is True
    assert out["result"]["outTrackId"] == card_id
    [result] = out["result"]["deliverResults"]
    assert (result["spaceType"], result["spaceId"], result["success"]) == ("IM_GROUP", GROUP, True)


def test_create_and_deliver_is_all_or_nothing(store: CardStore) -> None:
    body = {**create_body(), **group_delivery(openSpaceId="dtv1.card//NOPE.x")}
    rejects(lambda: store.create_and_deliver(0.0, CLIENT, body), "param.openSpaceIdInvalid")
    body = {**create_body(), **group_delivery(imGroupOpenDeliverModel=None)}
    rejects(lambda: store.create_and_deliver(0.0, CLIENT, body), "param.openDeliverModelEmpty")
    body = {**create_body(), **group_delivery(openSpaceId=None)}
    rejects(lambda: store.create_and_deliver(0.0, CLIENT, body), "param.openSpaceIdEmpty")
    assert len(store) == 0


def test_create_and_deliver_existing(store: CardStore) -> None:
    ai_card(store)
    body = {**create_body(), **group_delivery()}
    rejects(lambda: store.create_and_deliver(0.0, CLIENT, body), "param.cardAlreadyExist")


def test_create_and_deliver_checks_create_fields(store: CardStore) -> None:
    body = {**create_body(cardTemplateId=None), **group_delivery()}
    rejects(lambda: store.create_and_deliver(0.0, CLIENT, body), "param.cardTemplateIdEmpty")


# ---------------------------------------------------------------------------------------------
# card instances: update


def test_update_overwrites_by_default(store: CardStore) -> None:
    ai_card(store, title="T", markdown="m")
    card, out = store.update_instance(
        1.0, CLIENT, {"outTrackId": "track-1", "cardData": {"cardParamMap": {"markdown": "new"}}}
    )
    assert out == {"success": True, "result": True}
    assert card.current == {"markdown": "new"}
    assert card.flow_status == "1"  # the last known status stays; no flowStatus in this update
    assert card.versions[-1].source == "update"


def test_update_by_key_merges(store: CardStore) -> None:
    ai_card(store, title="T", markdown="m")
    body = {
        "outTrackId": "track-1",
        "cardData": {"cardParamMap": {"markdown": "new"}},
        "cardUpdateOptions": {"updateCardDataByKey": True},
    }
    card, _ = store.update_instance(1.0, CLIENT, body)
    assert card.current == {"flowStatus": "1", "title": "T", "markdown": "new"}


def test_update_private_data_only_keeps_card_data(store: CardStore) -> None:
    ai_card(store, markdown="m")
    private = {STAFF: {"cardParamMap": {"a": "1", "b": "2"}}, "u2": {"cardParamMap": {"z": "9"}}}
    card, _ = store.update_instance(1.0, CLIENT, {"outTrackId": "track-1", "privateData": private})
    assert card.current == {"flowStatus": "1", "markdown": "m"}
    assert card.private_data == {STAFF: {"a": "1", "b": "2"}, "u2": {"z": "9"}}
    # full overwrite replaces the named user's map only
    store.update_instance(
        2.0, CLIENT, {"outTrackId": "track-1", "privateData": {STAFF: {"cardParamMap": {"b": "3"}}}}
    )
    assert card.private_data == {STAFF: {"b": "3"}, "u2": {"z": "9"}}
    store.update_instance(
        3.0,
        CLIENT,
        {
            "outTrackId": "track-1",
            "privateData": {STAFF: {"cardParamMap": {"c": "4"}}},
            "cardUpdateOptions": {"updatePrivateDataByKey": True},
        },
    )
    assert card.private_data[STAFF] == {"b": "3", "c": "4"}


@pytest.mark.parametrize(
    "extra",
    [{}, {"cardData": {}}, {"cardData": {"cardParamMap": {}}}, {"privateData": {}}],
    ids=["nothing", "empty-card-data", "empty-map", "empty-private"],
)
def test_update_needs_data(store: CardStore, extra: dict[str, Any]) -> None:
    ai_card(store)
    rejects(
        lambda: store.update_instance(1.0, CLIENT, {"outTrackId": "track-1", **extra}),
        "param.cardDataAndPrivateDataBothEmpty",
    )


def test_update_requires_out_track_id(store: CardStore) -> None:
    body = {"cardData": {"cardParamMap": {"a": "b"}}}
    rejects(lambda: store.update_instance(0.0, CLIENT, body), "param.outTrackIdEmpty", "outTrackId")


def test_update_instance_unknown_card(store: CardStore) -> None:
    body = {"outTrackId": "nope", "cardData": {"cardParamMap": {"a": "b"}}}
    rejects(lambda: store.update_instance(0.0, CLIENT, body), "param.cardNotExist", "nope")


def test_update_of_an_ordinary_card_points_at_its_api(store: CardStore) -> None:
    store.send_interactive(0.0, CLIENT, send_body())
    body = {"outTrackId": "biz-1", "cardData": {"cardParamMap": {"a": "b"}}}
    rejects(
        lambda: store.update_instance(0.0, CLIENT, body),
        "param.cardNotExist",
        "PUT /v1.0/im/robots/interactiveCards",
    )


def test_update_checks_values(store: CardStore) -> None:
    ai_card(store)
    body = {"outTrackId": "track-1", "cardData": {"cardParamMap": {"list": ["a"]}}}
    rejects(lambda: store.update_instance(1.0, CLIENT, body), "param.invalid", "list")
    body = {"outTrackId": "track-1", "cardData": {"cardParamMap": {"n": 2}}}
    card, _ = store.update_instance(1.0, CLIENT, body)
    assert card.current == {"n": "2"} and card.versions[-1].extra["coerced"] == ["n"]


def test_update_options_must_be_booleans(store: CardStore) -> None:
    ai_card(store)
    body = {
        "outTrackId": "track-1",
        "cardData": {"cardParamMap": {"a": "b"}},
        "cardUpdateOptions": {"updateCardDataByKey": "true"},
    }
    rejects(
        lambda: store.update_instance(1.0, CLIENT, body), "param.invalid", "updateCardDataByKey"
    )


def test_flow_status_drives_finished_and_failed(store: CardStore) -> None:
    card = ai_card(store)
    assert (card.flow_status, card.finalized, card.failed) == ("1", False, False)

    def status(s: str) -> None:
        store.update_instance(
            1.0, CLIENT, {"outTrackId": "track-1", "cardData": {"cardParamMap": {"flowStatus": s}}}
        )

    status("2")
    assert (card.flow_status, card.finalized, card.failed) == ("2", False, False)
    status("3")
    assert (card.flow_status, card.finalized, card.failed) == ("3", True, False)
    status("5")
    assert (card.flow_status, card.finalized, card.failed) == ("5", False, True)
    status("2")
    assert (card.flow_status, card.finalized, card.failed) == ("2", False, False)
    assert card.versions[-1].extra["reopened"] is True


# ---------------------------------------------------------------------------------------------
# streaming


def test_sdk_ai_markdown_card_lifecycle(store: CardStore, sdk: SdkRoute) -> None:
    card_sdk = AIMarkdownCardInstance(sdk.client, incoming("2"))
    card_sdk.set_title_and_logo("Answer", "")
    card_sdk.ai_start()
    card_sdk.ai_streaming("Hel")
    card_sdk.ai_streaming("lo", append=True)
    card_sdk.ai_finish()
    sdk.assert_all_accepted()
    card = store.get(card_sdk.card_instance_id)
    assert [v.source for v in card.versions] == [
        "create",
        "deliver",
        "update",
        "stream",
        "stream",
        "update",
    ]
    assert card.versions[0].card_data == {"flowStatus": "1"}  # AICardStatus is sent as "1"
    assert card.versions[2].card_data["flowStatus"] == "2"
    assert [v.card_data["msgContent"] for v in card.versions[3:5]] == ["Hel", "Hello"]
    assert card.versions[3].extra == {
        "key": "msgContent",
        "guid": card.versions[3].extra["guid"],
        "is_full": True,
        "is_finalize": False,
        "is_error": False,
    }
    assert card.current["msgContent"] == "Hello"
    assert card.current["msgTitle"] == "Answer"
    assert (card.flow_status, card.finalized, card.failed) == ("3", True, False)
    [stream_call] = sdk.calls[3:4]
    assert stream_call[4] == {"success": True, "result": True}


def test_sdk_ai_card_fail(store: CardStore, sdk: SdkRoute) -> None:
    card_sdk = AIMarkdownCardInstance(sdk.client, incoming("1"))
    card_sdk.ai_start()
    card_sdk.ai_fail()
    sdk.assert_all_accepted()
    card = store.get(card_sdk.card_instance_id)
    assert (card.flow_status, card.failed, card.single_user) == ("5", True, STAFF)


def test_sdk_streaming_append_and_finish(store: CardStore, sdk: SdkRoute) -> None:
    replier = AICardReplier(sdk.client, incoming("2"))
    card_id = replier.start(TEMPLATE, {"msgContent": ""})
    replier.streaming(card_id, "msgContent", "Hi", append=True, finished=False, failed=False)
    replier.streaming(card_id, "msgContent", " there", append=True, finished=True, failed=False)
    sdk.assert_all_accepted()
    card = store.get(card_id)
    assert sdk.bodies("/v1.0/card/streaming")[0]["isFull"] is False
    assert card.current["msgContent"] == "Hi there"
    assert card.finalized and card.flow_status == "3"
    assert card.current["flowStatus"] == "3"


def test_sdk_streaming_error_with_empty_content(store: CardStore, sdk: SdkRoute) -> None:
    """The official tutorial's error path: ``streaming(content="", failed=True)``."""
    replier = AICardReplier(sdk.client, incoming("2"))
    card_id = replier.start(TEMPLATE, {})
    replier.streaming(card_id, "msgContent", "partial", append=False, finished=False, failed=False)
    replier.streaming(card_id, "msgContent", "", append=False, finished=False, failed=True)
    sdk.assert_all_accepted()
    card = store.get(card_id)
    assert card.failed and card.flow_status == "5"
    assert card.current["msgContent"] == "partial"  # empty content changes the state only


def test_stream_overwrite_and_append(store: CardStore) -> None:
    ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="one"))
    store.stream(2.0, CLIENT, stream_body(guid="b", content=" two", isFull=False))
    card, out = store.stream(
        3.0, CLIENT, stream_body(guid="c", key="other", content="x", isFull=False)
    )
    assert out == {"success": True, "result": True}
    assert card.current == {"flowStatus": "1", "msgContent": "one two", "other": "x"}
    store.stream(4.0, CLIENT, stream_body(guid="d", content="fresh"))
    assert card.current["msgContent"] == "fresh"
    assert [v.t for v in card.versions if v.source == "stream"] == [1.0, 2.0, 3.0, 4.0]


def test_stream_repeated_guid_is_idempotent(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="same", content="a", isFull=False))
    n = len(card.versions)
    again, out = store.stream(2.0, CLIENT, stream_body(guid="same", content="a", isFull=False))
    assert again is card and out == {"success": True, "result": True}
    assert len(card.versions) == n
    assert card.current["msgContent"] == "a"


def test_stream_retry_of_the_failing_call_is_answered(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="err", content="", isError=True))
    assert card.failed
    _, out = store.stream(2.0, CLIENT, stream_body(guid="err", content="", isError=True))
    assert out == {"success": True, "result": True}


@pytest.mark.parametrize(
    ("change", "code", "word"),
    [
        ({"guid": None}, "param.stream.guidEmpty", "guid"),
        ({"guid": ""}, "param.stream.guidEmpty", "guid"),
        ({"key": None}, "param.stream.keyEmpty", "key"),
        ({"content": None}, "param.stream.contentEmpty", "content"),
        ({"content": ""}, "param.stream.contentEmpty", "isFinalize"),
        ({"isFull": None}, "param.stream.isFull", "isFull is null"),
        ({"isFull": "true"}, "param.stream.isFull", "string"),
        ({"content": 5}, "param.invalid", "content"),
        ({"isFinalize": "yes"}, "param.invalid", "isFinalize"),
        ({"outTrackId": None}, "param.stream.outTrackId", "card is not exist"),
        ({"outTrackId": "nope"}, "param.stream.outTrackId", "card is not exist"),
    ],
)
def test_stream_rejects(store: CardStore, change: dict[str, Any], code: str, word: str) -> None:
    card = ai_card(store)
    rejects(lambda: store.stream(1.0, CLIENT, stream_body(**change)), code, word)
    assert [v.source for v in card.versions] == ["create", "deliver"]


def test_stream_into_an_ordinary_card(store: CardStore) -> None:
    store.send_interactive(0.0, CLIENT, send_body())
    rejects(
        lambda: store.stream(1.0, CLIENT, stream_body(outTrackId="biz-1")),
        "param.stream.outTrackId",
        "ordinary",
    )


def test_stream_content_size() -> None:
    store = make_store(stream_content_max_bytes=12)
    ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="钉" * 4))  # 12 bytes
    rejects(
        lambda: store.stream(1.0, CLIENT, stream_body(guid="b", content="钉" * 4 + "x")),
        "param.stream.content",
        "content is too large",
        "13",
    )
    unlimited = make_store(stream_content_max_bytes=None)
    ai_card(unlimited)
    unlimited.stream(1.0, CLIENT, stream_body(content="x" * 10_000))


def test_stream_default_limit_is_3kb(store: CardStore) -> None:
    ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="x" * 3072))
    rejects(
        lambda: store.stream(1.0, CLIENT, stream_body(guid="b", content="x" * 3073)),
        "param.stream.content",
    )


def test_stream_finalize_with_empty_content(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="done"))
    store.stream(2.0, CLIENT, stream_body(guid="b", content="", isFinalize=True))
    assert card.finalized and not card.failed
    assert card.current == {"flowStatus": "3", "msgContent": "done"}
    assert card.versions[-1].extra["is_finalize"] is True


def test_stream_without_flow_status_sets_the_flags_only(store: CardStore) -> None:
    card, _ = store.create_instance(0.0, CLIENT, create_body())
    store.stream(1.0, CLIENT, stream_body(key="markdown", content="x", isFinalize=True))
    assert card.finalized and card.flow_status is None
    assert card.current == {"markdown": "x"}


def test_stream_reopens_a_finished_card(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="v1", isFinalize=True))
    assert card.finalized
    store.stream(2.0, CLIENT, stream_body(guid="b", content="v2"))
    assert not card.finalized
    assert card.flow_status == "2" and card.current["flowStatus"] == "2"
    assert card.versions[-1].extra["reopened"] is True
    assert card.current["msgContent"] == "v2"


def test_stream_finalize_again_is_not_a_reopen(store: CardStore) -> None:
    card = ai_card(store)
    store.stream(1.0, CLIENT, stream_body(guid="a", content="v1", isFinalize=True))
    store.stream(2.0, CLIENT, stream_body(guid="b", content="v2", isFinalize=True))
    assert card.finalized and "reopened" not in card.versions[-1].extra
    assert card.current["msgContent"] == "v2"


def test_stream_into_a_failed_card(store: CardStore) -> None:
    card = ai_card(store)
    store.update_instance(
        1.0, CLIENT, {"outTrackId": "track-1", "cardData": {"cardParamMap": {"flowStatus": "5"}}}
    )
    assert card.failed
    rejects(
        lambda: store.stream(2.0, CLIENT, stream_body()),
        "param.stream.cardFailed",
        "failed",
        "new outTrackId",
    )


def test_stream_into_an_undelivered_card_is_fine(store: CardStore) -> None:
    card, _ = store.create_instance(0.0, CLIENT, create_body())
    store.stream(1.0, CLIENT, stream_body(key="markdown"))
    assert card.current == {"markdown": "Hello"} and not card.delivered


# ---------------------------------------------------------------------------------------------
# card callback responses


@pytest.mark.parametrize("response", [None, "OK", ["x"], 1, {}, {"cardData": None}])
def test_callback_response_without_update(store: CardStore, response: Any) -> None:
    card = ai_card(store)
    assert store.apply_callback_response(1.0, card.id, STAFF, response) is None
    assert [v.source for v in card.versions] == ["create", "deliver"]


def test_callback_response_by_key(store: CardStore) -> None:
    card = ai_card(store, likes="2", title="T")
    response = {
        "cardData": {"cardParamMap": {"likes": 3}},
        "userPrivateData": {"cardParamMap": {"likeStatus": "like"}},
        "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
    }
    assert store.apply_callback_response(4.0, card.id, STAFF, response) is card
    assert card.current == {"flowStatus": "1", "likes": "3", "title": "T"}
    assert card.private_data == {STAFF: {"likeStatus": "like"}}
    version = card.versions[-1]
    assert (version.t, version.source) == (4.0, "callback")
    assert version.extra["user_id"] == STAFF
    assert version.extra["coerced"] == ["likes"]


def test_callback_response_overwrites_by_default(store: CardStore) -> None:
    card = ai_card(store, title="T")
    response = {"cardData": {"cardParamMap": {"flowStatus": "3", "done": "yes"}}}
    store.apply_callback_response(1.0, card.id, STAFF, response)
    assert card.current == {"flowStatus": "3", "done": "yes"}
    assert card.finalized


def test_callback_response_with_go_style_nulls(store: CardStore) -> None:
    card = ai_card(store)
    response = {
        "cardData": None,
        "userPrivateData": {"cardParamMap": {"x": "1"}},
        "cardUpdateOptions": None,
    }
    store.apply_callback_response(1.0, card.id, STAFF, response)
    assert card.private_data == {STAFF: {"x": "1"}}
    assert card.current == {"flowStatus": "1"}


@pytest.mark.parametrize(
    "response",
    [
        {"cardData": {"cardParamMap": {"obj": {"a": 1}}}},
        {"cardData": "likes=3"},
        {"userPrivateData": ["x"]},
        {"cardData": {"cardParamMap": {"a": "b"}}, "cardUpdateOptions": "yes"},
    ],
)
def test_callback_response_that_the_platform_refuses(store: CardStore, response: Any) -> None:
    card = ai_card(store)
    with pytest.raises(ProtocolViolation, match="card callback response for 'track-1'"):
        store.apply_callback_response(1.0, card.id, STAFF, response)
    assert [v.source for v in card.versions] == ["create", "deliver"]


def test_callback_response_for_an_ordinary_card(store: CardStore) -> None:
    card, _ = store.send_interactive(0.0, CLIENT, send_body())
    private = {"userPrivateData": {"cardParamMap": {"voted": "yes"}}}
    assert store.apply_callback_response(1.0, card.id, STAFF, private) is card
    assert card.private_data == {STAFF: {"voted": "yes"}}
    assert card.current == INTERACTIVE_CARD_JSON_SAMPLE_1
    with pytest.raises(ProtocolViolation, match="interactiveCards"):
        store.apply_callback_response(
            2.0, card.id, STAFF, {"cardData": {"cardParamMap": {"a": "b"}}}
        )


def test_callback_response_for_an_unknown_card(store: CardStore) -> None:
    with pytest.raises(KeyError, match="nope"):
        store.apply_callback_response(1.0, "nope", STAFF, {"cardData": {"cardParamMap": {}}})


# ---------------------------------------------------------------------------------------------
# the store


def test_get_unknown_lists_known_ids(store: CardStore) -> None:
    for i in range(12):
        store.create_instance(float(i), CLIENT, create_body(outTrackId=f"t{i:02}"))
    with pytest.raises(KeyError) as info:
        store.get("missing")
    message = str(info.value.args[0])
    assert "missing" in message and "12 card(s)" in message
    assert "t00" in message and "t09" in message and "t10" not in message
    assert "and 2 more" in message


def test_get_on_an_empty_store(store: CardStore) -> None:
    with pytest.raises(KeyError, match="found 0 card"):
        store.get("x")


def test_all_in_creation_order(store: CardStore) -> None:
    store.create_instance(0.0, CLIENT, create_body(outTrackId="b"))
    store.send_interactive(1.0, CLIENT, send_body(cardBizId="a"))
    store.create_instance(2.0, CLIENT, create_body(outTrackId="c"))
    assert [c.id for c in store.all()] == ["b", "a", "c"]
    assert len(store) == 3 and "a" in store and "z" not in store


def test_versions_are_snapshots(store: CardStore) -> None:
    card = ai_card(store, markdown="m")
    first = card.versions[0].card_data
    store.stream(1.0, CLIENT, stream_body(key="markdown", content="changed"))
    assert first == {"flowStatus": "1", "markdown": "m"}
    assert card.created_at == 0.0


def test_ids_are_seeded() -> None:
    def run() -> list[str]:
        store = make_store()
        _, out = store.send_interactive(0.0, CLIENT, send_body())
        _, delivered = store.create_and_deliver(0.0, CLIENT, {**create_body(), **group_delivery()})
        return [out["processQueryKey"], delivered["result"]["deliverResults"][0]["carrierId"]]

    assert run() == run()


def test_sdk_module_is_the_one_patched() -> None:
    # the SDK modules call requests.post/put through the module, so patching ``requests`` works
    assert dingtalk_stream.chatbot.requests is requests
    assert dingtalk_stream.card_replier.requests is requests
