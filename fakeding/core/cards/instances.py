"""Card instances (reference D.4 - D.8): create, deliver, createAndDeliver and update.

* ``cardParamMap`` values must be strings. Numbers and booleans are coerced the way DingTalk
  documents (``1`` -> ``"1"``, ``True`` -> ``"true"``) and the coerced keys are noted in the
  version's ``extra["coerced"]``; ``null``, objects and lists are refused with ``param.invalid``.
* Instance private data is kept per user: a full-overwrite update replaces the maps of the users
  it names and leaves the others alone.
* Every request is parsed and checked in full before anything changes, so createAndDeliver is
  all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakeding.core.cards.checks import (
    MISSING,
    bad,
    dedupe,
    describe,
    flag,
    instance_card_data,
    object_body,
    optional_object,
    optional_text,
    parse_open_space_id,
    parse_user_id_type,
    private_data_maps,
    required_text,
    shorten,
    str_list,
)
from fakeding.core.cards.model import (
    CONVERSATION_SPACES,
    STANDARD_CARD,
    Card,
    CardVersion,
    Deck,
    apply_private,
    merge,
    private_now,
    sync_flow,
)


@dataclass
class _InstanceCreate:
    out_track_id: str
    template_id: str
    params: dict[str, str]
    private: dict[str, dict[str, str]]
    coerced: list[str]
    callback_type: str | None
    callback_route_key: str | None
    at_users: list[str]
    user_id_type: int


@dataclass
class _Delivery:
    spaces: list[tuple[str, str]]
    robot_code: str | None
    at_users: list[str]
    recipients: list[str] | None
    user_id_type: int | None


def create(deck: Deck, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
    """``POST /v1.0/card/instances``."""
    body = object_body(body, "param.empty")
    create = _parse_create(deck, body)
    card = _create(deck, t, client_id, create)
    return card, {"success": True, "result": card.id}


def deliver(deck: Deck, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
    """``POST /v1.0/card/instances/deliver``."""
    body = object_body(body, "param.empty")
    out_track_id = required_text(body, "outTrackId", "param.outTrackIdEmpty")
    card = _instance(deck, out_track_id, "param.cardNotExist", client_id)
    delivery = _parse_delivery(body, client_id)
    results = _deliver(deck, t, card, delivery)
    return card, {"success": True, "result": results}


def create_and_deliver(
    deck: Deck, t: float, client_id: str, body: dict[str, Any]
) -> tuple[Card, dict[str, Any]]:
    """``POST /v1.0/card/instances/createAndDeliver``: both checks first, then both changes."""
    body = object_body(body, "param.empty")
    create = _parse_create(deck, body)
    delivery = _parse_delivery(body, client_id)
    card = _create(deck, t, client_id, create)
    results = _deliver(deck, t, card, delivery)
    return card, {"success": True, "result": {"outTrackId": card.id, "deliverResults": results}}


def update(deck: Deck, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
    """``PUT /v1.0/card/instances``: full overwrite unless ``cardUpdateOptions`` say by key."""
    body = object_body(body, "param.empty")
    out_track_id = required_text(body, "outTrackId", "param.outTrackIdEmpty")
    card = _instance(deck, out_track_id, "param.cardNotExist", client_id)
    limit = deck.value_limit()
    checked = instance_card_data(body.get("cardData"), "cardData", limit)
    params, coerced = checked if checked is not None else ({}, [])
    private, private_coerced = private_data_maps(body.get("privateData"), "privateData", limit)
    if not params and not private:
        raise bad(
            "param.cardDataAndPrivateDataBothEmpty",
            "expected cardData.cardParamMap or privateData to hold values, found both empty",
        )
    options = optional_object(body.get("cardUpdateOptions"), "cardUpdateOptions", "param.invalid")
    by_key = flag(options, "updateCardDataByKey", "cardUpdateOptions", "param.invalid")
    private_by_key = flag(options, "updatePrivateDataByKey", "cardUpdateOptions", "param.invalid")

    data = merge(card.current, params, by_key) if params else dict(card.current)
    apply_private(card, private, private_by_key)
    extra: dict[str, Any] = {"by_key": by_key}
    if private:
        extra["private_data"] = private
        extra["private_by_key"] = private_by_key
    if coerced or private_coerced:
        extra["coerced"] = coerced + private_coerced
    sync_flow(card, data, extra)
    card.versions.append(CardVersion(t, data, "update", extra, private_now(card.private_data)))
    return card, {"success": True, "result": True}


def _instance(deck: Deck, out_track_id: str, code: str, client_id: str) -> Card:
    card = deck.owned(out_track_id, client_id)
    if card is None or card.kind != "instance":
        found = (
            "an ordinary interactive card (update it with PUT /v1.0/im/robots/interactiveCards)"
            if card
            else deck.whose(out_track_id)
        )
        raise bad(
            code,
            f"outTrackId {shorten(out_track_id)}: expected a card created with "
            f"/v1.0/card/instances, found {found}",
            violation=deck.foreign(out_track_id, client_id),
        )
    return card


def _parse_create(deck: Deck, body: dict[str, Any]) -> _InstanceCreate:
    template_id = required_text(body, "cardTemplateId", "param.cardTemplateIdEmpty")
    registry = deck.templates
    if registry.configured and template_id not in registry and template_id != STANDARD_CARD:
        known = registry.ids()
        raise bad(
            "param.templateNotExist",
            f"cardTemplateId {shorten(template_id)}: expected a template registered with the "
            f"fake, found none by that id (registered: {', '.join(known[:10])}"
            f"{' ...' if len(known) > 10 else ''}); register its export (serve --templates, "
            "PUT /_fakeding/templates/{id}) or fix the id",
            violation=True,
        )
    out_track_id = required_text(body, "outTrackId", "param.outTrackIdEmpty")
    limit = deck.value_limit()
    checked = instance_card_data(body.get("cardData"), "cardData", limit)
    if checked is None:
        raise bad(
            "param.cardPublicDataEmpty",
            'cardData is required: expected {"cardParamMap": {...}}, found '
            f"{describe(body.get('cardData', MISSING))}",
        )
    params, coerced = checked
    private, private_coerced = private_data_maps(body.get("privateData"), "privateData", limit)
    callback_type = body.get("callbackType")
    if callback_type in (None, ""):
        callback_type = None
    elif not isinstance(callback_type, str) or callback_type.upper() not in ("STREAM", "HTTP"):
        raise bad(
            "param.invalid",
            f"callbackType: expected 'STREAM' or 'HTTP', found {describe(callback_type)}",
        )
    else:
        callback_type = callback_type.upper()
    route_key = optional_text(body, "callbackRouteKey")
    at_users = str_list(body.get("cardAtUserIds"), "cardAtUserIds") or []
    user_id_type = parse_user_id_type(body)
    if out_track_id in deck.cards:
        kind = deck.cards[out_track_id].kind
        raise bad(
            "param.cardAlreadyExist",
            f"outTrackId {shorten(out_track_id)}: expected a new id, found an existing "
            f"{kind} card (new data or a new template needs a fresh outTrackId)",
        )
    return _InstanceCreate(
        out_track_id=out_track_id,
        template_id=template_id,
        params=params,
        private=private,
        coerced=coerced + private_coerced,
        callback_type=callback_type,
        callback_route_key=route_key,
        at_users=at_users,
        user_id_type=user_id_type,
    )


def _create(deck: Deck, t: float, client_id: str, create: _InstanceCreate) -> Card:
    extra: dict[str, Any] = {}
    if create.coerced:
        extra["coerced"] = create.coerced
    card = Card(
        id=create.out_track_id,
        kind="instance",
        client_id=client_id,
        robot_code=None,
        template_id=create.template_id,
        conversation_id=None,
        single_user=None,
        at_users=list(create.at_users),
        versions=[],
        private_data=create.private,
        flow_status=None,
        delivered=False,
        finalized=False,
        failed=False,
        callback_route_key=create.callback_route_key,
        user_id_type=create.user_id_type,
    )
    card.callback_type = create.callback_type
    data = dict(create.params)
    sync_flow(card, data, extra)
    card.versions.append(CardVersion(t, data, "create", extra, private_now(card.private_data)))
    deck.cards[card.id] = card
    return card


def _parse_delivery(body: dict[str, Any], client_id: str) -> _Delivery:
    spaces = parse_open_space_id(body.get("openSpaceId"))
    types = {space_type for space_type, _ in spaces}
    group = body.get("imGroupOpenDeliverModel")
    robot = body.get("imRobotOpenDeliverModel")
    single = body.get("imSingleOpenDeliverModel")
    robot_code: str | None = None
    at_users: list[str] = []
    recipients: list[str] | None = None
    if "IM_GROUP" in types:
        code = group.get("robotCode") if isinstance(group, dict) else None
        if not isinstance(code, str) or code == "":
            found = describe(group) if not isinstance(group, dict) else f"robotCode {describe(code)}"
            raise bad(
                "param.openDeliverModelEmpty",
                'imGroupOpenDeliverModel: expected {"robotCode": ...} for an IM_GROUP space '
                f"(it decides which robot speaks in the group), found {found}",
                violation=True,
            )
        robot_code = code
    if "IM_ROBOT" in types:
        if not isinstance(robot, dict):
            raise bad(
                "param.openDeliverModelEmpty",
                'imRobotOpenDeliverModel: expected {"spaceType": "IM_ROBOT"} for an IM_ROBOT '
                f"space, found {describe(robot)}",
            )
        code = robot.get("robotCode")
        if robot_code is None:
            # an internal app's robot is its AppKey, which is what a missing robotCode means
            robot_code = code if isinstance(code, str) and code else client_id
    for name, model in (
        ("imGroupOpenDeliverModel", group),
        ("imSingleOpenDeliverModel", single),
    ):
        if not isinstance(model, dict):
            continue
        at = model.get("atUserIds")
        if at is None:
            continue
        if not isinstance(at, dict):
            raise bad(
                "param.invalid",
                f"{name}.atUserIds: expected an object {{userId: nickName}}, found {describe(at)}",
            )
        at_users.extend(str(user) for user in at)
    if isinstance(group, dict):
        recipients = str_list(group.get("recipients"), "imGroupOpenDeliverModel.recipients")
    return _Delivery(
        spaces=spaces,
        robot_code=robot_code,
        at_users=at_users,
        recipients=recipients,
        user_id_type=parse_user_id_type(body) if body.get("userIdType") is not None else None,
    )


def _deliver(deck: Deck, t: float, card: Card, delivery: _Delivery) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    conversation = next((i for s, i in delivery.spaces if s in CONVERSATION_SPACES), None)
    user = next((i for s, i in delivery.spaces if s == "IM_ROBOT"), None)
    for space_type, space_id in delivery.spaces:
        results.append(
            {
                "spaceType": space_type,
                "spaceId": space_id,
                "success": True,
                "carrierId": deck.ids.process_query_key(),
                "errorMsg": "",
            }
        )
    if conversation is not None:
        card.conversation_id = conversation
    if user is not None:
        card.single_user = user
    if delivery.robot_code is not None:
        card.robot_code = delivery.robot_code
    if delivery.recipients is not None:
        card.recipients = delivery.recipients
    card.at_users = dedupe(card.at_users + delivery.at_users)
    card.spaces.extend(delivery.spaces)
    if delivery.user_id_type is not None:
        card.user_id_type = delivery.user_id_type
    card.delivered = True
    extra = {
        "spaces": [list(space) for space in delivery.spaces],
        "at_users": delivery.at_users,
        "carrier_ids": [r["carrierId"] for r in results],
    }
    card.versions.append(CardVersion(t, dict(card.current), "deliver", extra, private_now(card.private_data)))
    return results
