"""Ordinary robot interactive cards: send and update (``fakeding.core.cards.interactive``)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from dingtalk_stream.interactive_card import (
    INTERACTIVE_CARD_JSON_SAMPLE_1,
    INTERACTIVE_CARD_JSON_SAMPLE_MULTI_TEXT_LINE,
)

from fakeding import ThreadedFakeDing
from fakeding.core.cards import Button, CardStore
from fakeding.core.cards.model import has_request_button, request_buttons
from tests.fakeding.card_helpers import (
    APP,
    CLIENT,
    GROUP,
    STAFF,
    TEMPLATE,
    assert_all_accepted,
    card_calls,
    chatbot_handler,
    create_body,
    incoming,
    make_store,
    rejects,
    send_body,
)

# ---------------------------------------------------------------------------------------------
# ordinary interactive cards: send


def test_sdk_reply_card_in_a_group(fakeding: ThreadedFakeDing) -> None:
    biz_id = chatbot_handler().reply_card(INTERACTIVE_CARD_JSON_SAMPLE_1, incoming("2"), at_sender=True)
    assert_all_accepted(fakeding)
    card = fakeding.card(biz_id)
    assert len(biz_id) == 64
    assert card.kind == "interactive"
    assert card.client_id == APP
    assert card.robot_code == APP
    assert card.template_id == "StandardCard"
    assert (card.conversation_id, card.single_user) == (GROUP, None)
    assert card.at_users == [STAFF]
    assert card.current == INTERACTIVE_CARD_JSON_SAMPLE_1
    assert [v.source for v in card.versions] == ["send"]
    [call] = card_calls(fakeding)
    assert card.versions[0].t == pytest.approx(call["t"], abs=1e-6)  # stamped with the call's time
    assert card.delivered and not card.finalized and not card.failed
    assert card.flow_status is None
    out = call["response"]
    assert set(out) == {"processQueryKey"} and isinstance(out["processQueryKey"], str)


def test_sdk_reply_card_one_to_one_with_at_all(fakeding: ThreadedFakeDing) -> None:
    biz_id = chatbot_handler().reply_card(
        INTERACTIVE_CARD_JSON_SAMPLE_MULTI_TEXT_LINE, incoming("1"), at_all=True
    )
    assert_all_accepted(fakeding)
    card = fakeding.card(biz_id)
    assert (card.conversation_id, card.single_user) == (None, STAFF)
    assert card.at_users == ["@ALL"]
    assert card_calls(fakeding, "send_interactive")[0]["request"]["singleChatReceiver"] == (
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
        ("{not json", "is not JSON"),
        ("[1, 2]", "array"),
        ('"text"', "string"),
    ],
)
def test_card_data_must_be_json_text_of_an_object(store: CardStore, card_data: Any, found: str) -> None:
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
    rejects(lambda: store.send_interactive(0.0, CLIENT, body), "param.isNotJson", "singleChatReceiver")


def test_single_chat_receiver_needs_a_user(store: CardStore) -> None:
    body = send_body(openConversationId=None, singleChatReceiver='{"nick": "x"}')
    rejects(lambda: store.send_interactive(0.0, CLIENT, body), "invalid.user", "userId", "nick")


def _at_list(n: int) -> str:
    return json.dumps([{"nickName": f"n{i}", "userId": f"u{i}"} for i in range(n)])


def test_at_user_list_up_to_30(store: CardStore) -> None:
    card, _ = store.send_interactive(0.0, CLIENT, send_body(sendOptions={"atUserListJson": _at_list(30)}))
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
    rejects(lambda: store.send_interactive(0.0, CLIENT, body), "param.isNotJson", "cardPropertyJson")


def test_send_options_must_be_an_object(store: CardStore) -> None:
    body = send_body(sendOptions="atAll")
    rejects(lambda: store.send_interactive(0.0, CLIENT, body), "param.error", "sendOptions")


def test_send_keeps_private_data(store: CardStore) -> None:
    body = send_body(userIdPrivateDataMap=json.dumps({STAFF: {"liked": "yes"}}))
    card, _ = store.send_interactive(0.0, CLIENT, body)
    assert card.private_data == {STAFF: {"liked": "yes"}}
    bad = send_body(cardBizId="b2", unionIdPrivateDataMap=json.dumps({"u": "flat"}))
    rejects(lambda: store.send_interactive(0.0, CLIENT, bad), "param.error", "unionIdPrivateDataMap.u")


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


def test_sdk_update_card_replaces_the_data(fakeding: ThreadedFakeDing) -> None:
    handler = chatbot_handler()
    biz_id = handler.reply_card(INTERACTIVE_CARD_JSON_SAMPLE_1, incoming("2"))
    changed = copy.deepcopy(INTERACTIVE_CARD_JSON_SAMPLE_MULTI_TEXT_LINE)
    answer = handler.update_card(biz_id, changed)
    assert_all_accepted(fakeding)
    assert set(answer) == {"processQueryKey"}
    card = fakeding.card(biz_id)
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
# callback type: decided by the last send or update, the button walk done on first read


def _with_button(text: str) -> str:
    return json.dumps(
        {
            "contents": [
                {"type": "markdown", "text": text},
                {
                    "type": "action",
                    "actions": [
                        {
                            "type": "button",
                            "id": "ok",
                            "label": "OK",
                            "actionType": "request",
                            "value": {"v": 1},
                        }
                    ],
                },
            ]
        }
    )


def _without_button(text: str) -> str:
    return json.dumps({"contents": [{"type": "markdown", "text": text}]})


def test_callback_type_read_after_several_updates_follows_the_last(store: CardStore) -> None:
    card, _ = store.send_interactive(0.0, CLIENT, send_body(cardData=_without_button("a")))
    for i, data in enumerate([_with_button("b"), _without_button("c"), _with_button("d")]):
        store.update_interactive(1.0 + i, CLIENT, {"cardBizId": card.id, "cardData": data})
    assert card.callback_type == "STREAM"  # first read: the last update has a request button
    assert card.callback_type == "STREAM"  # and every later read sees the same value


def test_an_update_that_removes_or_adds_buttons_changes_the_callback_type(
    store: CardStore,
) -> None:
    card, _ = store.send_interactive(0.0, CLIENT, send_body(cardData=_with_button("a")))
    assert card.callback_type == "STREAM"
    store.update_interactive(1.0, CLIENT, {"cardBizId": card.id, "cardData": _without_button("b")})
    assert card.callback_type is None
    store.update_interactive(2.0, CLIENT, {"cardBizId": card.id, "cardData": _with_button("c")})
    assert card.callback_type == "STREAM"
    assert [b.id for b in card.buttons()] == ["ok"]


def test_an_update_of_private_data_only_keeps_the_callback_type(store: CardStore) -> None:
    card, _ = store.send_interactive(0.0, CLIENT, send_body(cardData=_with_button("a")))
    store.update_interactive(
        1.0, CLIENT, {"cardBizId": card.id, "userIdPrivateDataMap": json.dumps({STAFF: {"seen": "1"}})}
    )
    assert card.callback_type == "STREAM"


def test_a_callback_url_card_stays_http_whatever_its_buttons(store: CardStore) -> None:
    card, _ = store.send_interactive(
        0.0, CLIENT, send_body(cardData=_without_button("a"), callbackUrl="https://bot/cb")
    )
    store.update_interactive(1.0, CLIENT, {"cardBizId": card.id, "cardData": _with_button("b")})
    assert card.callback_type == "HTTP"


def test_callback_type_is_decided_at_the_update_not_at_the_read(store: CardStore) -> None:
    """Data that changes after the update (a callback's version, a test's own edit) does not
    change the value: it is the update's decision."""
    card, _ = store.send_interactive(0.0, CLIENT, send_body(cardData=_with_button("a")))
    store.update_interactive(1.0, CLIENT, {"cardBizId": card.id, "cardData": _with_button("b")})
    card.versions.append(copy.deepcopy(card.versions[-1]))
    card.versions[-1].card_data = {"contents": []}
    assert card.callback_type == "STREAM"
    card.callback_type = None  # a direct set wins
    assert card.callback_type is None


def test_a_resend_of_the_same_card_decides_the_callback_type_again(store: CardStore) -> None:
    card, _ = store.send_interactive(0.0, CLIENT, send_body(cardData=_without_button("a")))
    assert card.callback_type is None
    store.update_interactive(1.0, CLIENT, {"cardBizId": card.id, "cardData": _with_button("b")})
    again, _ = store.send_interactive(2.0, CLIENT, send_body(cardBizId=card.id))
    assert again is card and card.callback_type == "STREAM"  # the kept data has the button


_BUTTON = {"type": "button", "actionType": "request", "id": "b", "label": {"text": "B"}}
_BUTTON_SHAPES: list[Any] = [
    {},
    {"contents": "not a list"},
    {"contents": [None, 1, "x"]},
    {"contents": [{"type": "action", "actions": [_BUTTON]}]},
    {"contents": [{"type": "action", "actions": "not a list"}]},
    {"contents": [{"type": "markdown", "actions": [_BUTTON]}]},  # not an action block
    {"contents": [{"type": "action", "actions": [{**_BUTTON, "actionType": "link"}, 3, None]}]},
    {"contents": [{"type": "action", "actions": [{**_BUTTON, "type": "text"}]}]},
    {"contents": [{"type": "section", "extra": _BUTTON}]},
    {"contents": [{"type": "section", "extra": [_BUTTON]}]},
    {"contents": [{"type": "markdown"}, {"type": "action", "actions": [], "extra": _BUTTON}]},
    {"contents": [{"type": "action", "actions": [{"type": "button", "actionType": "request"}]}]},
]


@pytest.mark.parametrize("data", _BUTTON_SHAPES, ids=range(len(_BUTTON_SHAPES)))
def test_has_request_button_says_whether_request_buttons_finds_one(data: dict[str, Any]) -> None:
    assert has_request_button(data) == bool(request_buttons(data))
