"""Delivering card instances: openSpaceId, the deliver models, userIdType
(``fakeding.core.cards.instances``)."""

from __future__ import annotations

from typing import Any

import pytest

from fakeding.core.cards import CardStore, parse_open_space_id
from tests.fakeding.card_helpers import (
    CLIENT,
    GROUP,
    STAFF,
    create_body,
    group_delivery,
    rejects,
    robot_delivery,
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
    assert parse_open_space_id("dtv1.card//IM_GROUP.cid.with.dots") == [("IM_GROUP", "cid.with.dots")]


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
