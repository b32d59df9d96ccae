"""Card instances: create, createAndDeliver, update (``fakeding.core.cards.instances``; delivery in
test_cards_delivery.py)."""

from __future__ import annotations

from typing import Any

import pytest
from dingtalk_stream import (
    CardReplier,
    MarkdownCardInstance,
)

from fakeding import ThreadedFakeDing
from fakeding.core.cards import CardStore
from tests.fakeding.card_helpers import (
    APP,
    CLIENT,
    GROUP,
    STAFF,
    TEMPLATE,
    ai_card,
    assert_all_accepted,
    card_calls,
    create_body,
    group_delivery,
    incoming,
    make_store,
    rejects,
    sdk_client,
    send_body,
)

# ---------------------------------------------------------------------------------------------
# card instances: create


def test_sdk_create_and_send_card_in_a_group(fakeding: ThreadedFakeDing) -> None:
    replier = CardReplier(sdk_client(), incoming("2"))
    card_id = replier.create_and_send_card(TEMPLATE, {"markdown": "**hi**"}, at_sender=True)
    assert_all_accepted(fakeding)
    card = fakeding.card(card_id)
    assert card.kind == "instance"
    assert card.template_id == TEMPLATE
    assert card.current == {"markdown": "**hi**"}
    assert [v.source for v in card.versions] == ["create", "deliver"]
    assert card.callback_type == "STREAM"
    assert card.robot_code == APP
    assert (card.conversation_id, card.single_user) == (GROUP, None)
    assert card.at_users == [STAFF]
    assert card.delivered
    assert card.buttons() == []
    create_out, deliver_out = card_calls(fakeding)[0]["response"], card_calls(fakeding)[1]["response"]
    assert create_out == {"success": True, "result": card_id}
    [result] = deliver_out["result"]
    assert deliver_out["success"] is True
    assert result["spaceType"] == "IM_GROUP" and result["spaceId"] == GROUP
    assert result["success"] is True and isinstance(result["carrierId"], str)


def test_sdk_create_and_send_card_one_to_one(fakeding: ThreadedFakeDing) -> None:
    card_id = CardReplier(sdk_client(), incoming("1")).create_and_send_card(TEMPLATE, {"markdown": "x"})
    assert_all_accepted(fakeding)
    card = fakeding.card(card_id)
    assert (card.conversation_id, card.single_user) == (None, STAFF)
    assert card.robot_code == APP  # no robotCode in imRobotOpenDeliverModel: the app's own
    assert card.spaces == [("IM_ROBOT", STAFF)]


def test_sdk_http_callback_card(fakeding: ThreadedFakeDing) -> None:
    replier = CardReplier(sdk_client(), incoming("2"))
    card_id = replier.create_and_send_card(
        TEMPLATE, {"markdown": "x"}, callback_type="HTTP", callback_route_key="route-1"
    )
    assert_all_accepted(fakeding)
    card = fakeding.card(card_id)
    assert (card.callback_type, card.callback_route_key) == ("HTTP", "route-1")


def test_sdk_markdown_card_instance_reply_and_update(fakeding: ThreadedFakeDing) -> None:
    instance = MarkdownCardInstance(sdk_client(), incoming("2"))
    instance.set_title_and_logo("Title", "")
    instance.reply("first", at_all=True)
    instance.update("second")
    assert_all_accepted(fakeding)
    card = fakeding.card(instance.card_instance_id)
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


@pytest.mark.parametrize(("value", "found"), [({"a": 1}, "object"), ([1, 2], "array"), (None, "null")])
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
    store = make_store(card_param_value_max_bytes=10, strict_limits=True)
    store.create_instance(0.0, CLIENT, create_body(cardData={"cardParamMap": {"k": "x" * 10}}))
    body = create_body(outTrackId="t2", cardData={"cardParamMap": {"k": "钉" * 4}})  # 12 bytes
    rejects(lambda: store.create_instance(0.0, CLIENT, body), "param.invalid", "10 bytes", "12")
    unlimited = make_store(card_param_value_max_bytes=None)
    unlimited.create_instance(0.0, CLIENT, create_body(cardData={"cardParamMap": {"k": "x" * 5000}}))


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
    card, _ = store.create_instance(0.0, CLIENT, create_body(outTrackId="t2", callbackType="stream"))
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
        lambda: store.create_instance(0.0, CLIENT, create_body(outTrackId="t2", cardAtUserIds="u1")),
        "param.invalid",
        "cardAtUserIds",
    )


# ---------------------------------------------------------------------------------------------
# card instances: createAndDeliver


def test_sdk_create_and_deliver_card(fakeding: ThreadedFakeDing) -> None:
    replier = CardReplier(sdk_client(), incoming("2"))
    card_id = replier.create_and_deliver_card(TEMPLATE, {"markdown": "x"}, recipients=[STAFF])
    assert_all_accepted(fakeding)
    card = fakeding.card(card_id)
    assert [v.source for v in card.versions] == ["create", "deliver"]
    assert card.recipients == [STAFF]
    out = card_calls(fakeding)[0]["response"]
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
    rejects(lambda: store.update_instance(1.0, CLIENT, body), "param.invalid", "updateCardDataByKey")


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
