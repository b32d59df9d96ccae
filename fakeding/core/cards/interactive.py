"""Ordinary robot interactive cards (reference D.2, D.3): ``StandardCard`` JSON sent and updated.

* Re-sending an existing ``cardBizId`` records a new "send" version for the new target but keeps
  the card's data: the platform needs a fresh id for new data (reference F.3). The data that was
  sent and not shown goes into ``extra["ignored_card_data"]``.
* Cards with ``request`` buttons get ``callback_type == "STREAM"`` (the fake delivers their
  clicks over Stream); with a ``callbackUrl`` they get "HTTP".
"""

from __future__ import annotations

import copy
from typing import Any

from fakeding.core.cards.checks import (
    bad,
    dedupe,
    describe,
    flag,
    json_text,
    nbytes,
    object_body,
    optional_object,
    optional_text,
    required_text,
    shorten,
)
from fakeding.core.cards.model import (
    AT_ALL,
    AT_USER_LIST_MAX,
    CARD_BIZ_ID_MAX_CHARS,
    STANDARD_CARD,
    Card,
    CardVersion,
    Deck,
    apply_private,
    merge,
    private_now,
)


def send(deck: Deck, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
    """``POST /v1.0/im/v1.0/robot/interactiveCards/send``."""
    body = object_body(body, "param.error")
    template_id = required_text(body, "cardTemplateId", "param.error")
    if template_id != STANDARD_CARD:
        raise bad(
            "template.isNotExist",
            f"cardTemplateId: expected {STANDARD_CARD!r} for robot interactive cards, "
            f"found {shorten(template_id)} (card-instance templates go to /v1.0/card/instances)",
        )
    robot_code = required_text(body, "robotCode", "param.error")
    biz_id = required_text(body, "cardBizId", "param.error")
    if len(biz_id) > CARD_BIZ_ID_MAX_CHARS:
        raise bad(
            "invalid.bizId",
            f"cardBizId: expected at most {CARD_BIZ_ID_MAX_CHARS} characters, found {len(biz_id)}",
        )
    if "cardData" not in body or body["cardData"] is None:
        raise bad("param.error", "cardData is required: expected a string holding the card JSON")
    card_data = _interactive_data(deck, body["cardData"], "cardData")
    conversation_id, single_user = _interactive_target(body)
    at_users = _send_options(body.get("sendOptions"))
    private = _interactive_private(body)
    callback_url = optional_text(body, "callbackUrl", "param.error")
    existing = deck.cards.get(biz_id)
    if existing is not None and existing.client_id != client_id:
        raise bad(
            "invalid.bizId",
            f"cardBizId {shorten(biz_id)}: expected an id of your own, found {deck.whose(biz_id)}",
        )
    if existing is not None and existing.kind != "interactive":
        raise bad(
            "invalid.bizId",
            f"cardBizId {shorten(biz_id)}: expected an id not used by a card instance, "
            "found a card created with /v1.0/card/instances",
        )

    pqk = deck.ids.process_query_key()
    target = {"openConversationId": conversation_id} if conversation_id else {"userId": single_user}
    extra: dict[str, Any] = {"target": target, "process_query_key": pqk}
    if existing is None:
        card = Card(
            id=biz_id,
            kind="interactive",
            client_id=client_id,
            robot_code=robot_code,
            template_id=template_id,
            conversation_id=conversation_id,
            single_user=single_user,
            at_users=at_users,
            versions=[CardVersion(t, card_data, "send", extra, private_now(private))],
            private_data=private,
            flow_status=None,
            delivered=True,
            finalized=False,
            failed=False,
            callback_url=callback_url,
        )
        deck.cards[biz_id] = card
    else:
        card = existing
        # the same cardBizId is the same card: it goes to the new target unchanged
        if card_data != card.current:
            extra["ignored_card_data"] = card_data
        card.robot_code = robot_code
        card.conversation_id = conversation_id
        card.single_user = single_user
        card.at_users = at_users
        card.private_data.update(private)
        if callback_url is not None:
            card.callback_url = callback_url
        card.versions.append(
            CardVersion(t, copy.deepcopy(card.current), "send", extra, private_now(card.private_data))
        )
    if conversation_id:
        card.spaces.append(("IM_GROUP", conversation_id))
    elif single_user:
        card.spaces.append(("IM_ROBOT", single_user))
    card.follow_buttons(card.versions[-1])
    return card, {"processQueryKey": pqk}


def update(deck: Deck, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
    """``PUT /v1.0/im/robots/interactiveCards``."""
    body = object_body(body, "param.error")
    biz_id = required_text(body, "cardBizId", "param.error")
    card = deck.owned(biz_id, client_id)
    if card is None or card.kind != "interactive":
        found = "a card instance (update it with PUT /v1.0/card/instances)" if card else deck.whose(biz_id)
        raise bad(
            "cardInstance.notExist",
            f"cardBizId {shorten(biz_id)}: expected a card sent with "
            f"/v1.0/im/v1.0/robot/interactiveCards/send, found {found}",
            violation=deck.foreign(biz_id, client_id),
        )
    raw = body.get("cardData")
    new_data = None if raw is None else _interactive_data(deck, raw, "cardData")
    private = _interactive_private(body)
    if new_data is None and not private:
        raise bad(
            "param.error",
            "nothing to update: expected cardData, userIdPrivateDataMap or "
            "unionIdPrivateDataMap, found none of them",
        )
    options = optional_object(body.get("updateOptions"), "updateOptions", "param.error")
    by_key = flag(options, "updateCardDataByKey", "updateOptions", "param.error")
    private_by_key = flag(options, "updatePrivateDataByKey", "updateOptions", "param.error")

    pqk = deck.ids.process_query_key()
    data = card.current if new_data is None else merge(card.current, new_data, by_key)
    apply_private(card, private, private_by_key)
    extra: dict[str, Any] = {"by_key": by_key, "process_query_key": pqk}
    if private:
        extra["private_data"] = private
    # ``data`` is a fresh dict (parsed or merged); versions are never mutated afterwards,
    # so no deep copy is needed on this hot path.
    card.versions.append(
        CardVersion(
            t, data if new_data is not None else dict(data), "update", extra, private_now(card.private_data)
        )
    )
    card.follow_buttons(card.versions[-1])
    return card, {"processQueryKey": pqk}


def _interactive_data(deck: Deck, raw: Any, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json_text(raw, name, dict)
    limit = deck.settings.interactive_card_max_bytes
    size = nbytes(raw)
    if limit is not None and size > limit:
        raise bad("param.error", f"{name} is too large: expected at most {limit} bytes, found {size}")
    return data


def _interactive_target(body: dict[str, Any]) -> tuple[str | None, str | None]:
    conversation = body.get("openConversationId")
    receiver = body.get("singleChatReceiver")
    has_conversation = conversation not in (None, "")
    has_receiver = receiver not in (None, "")
    if has_conversation == has_receiver:
        found = "both" if has_conversation else "neither"
        raise bad(
            "param.error",
            f"expected exactly one of openConversationId (group) or singleChatReceiver (1:1), found {found}",
        )
    if has_conversation:
        if not isinstance(conversation, str):
            raise bad(
                "param.error",
                f"openConversationId: expected a string, found {describe(conversation)}",
            )
        return conversation, None
    parsed = json_text(receiver, "singleChatReceiver", dict)
    user = parsed.get("userId") or parsed.get("unionId")
    if not isinstance(user, str) or user == "":
        raise bad(
            "invalid.user",
            'singleChatReceiver: expected {"userId": ...} or {"unionId": ...}, '
            f"found keys {sorted(parsed)}",
        )
    return None, user


def _send_options(value: Any) -> list[str]:
    options = optional_object(value, "sendOptions", "param.error")
    if options is None:
        return []
    at_users: list[str] = []
    raw = options.get("atUserListJson")
    if raw is not None and raw != "":
        users = json_text(raw, "sendOptions.atUserListJson", list)
        if len(users) > AT_USER_LIST_MAX:
            raise bad(
                "param.error",
                f"sendOptions.atUserListJson: expected at most {AT_USER_LIST_MAX} users, found {len(users)}",
            )
        for i, user in enumerate(users):
            uid = (user.get("userId") or user.get("unionId")) if isinstance(user, dict) else None
            if not isinstance(uid, str) or uid == "":
                raise bad(
                    "invalid.user",
                    f'sendOptions.atUserListJson[{i}]: expected {{"nickName", "userId" or '
                    f'"unionId"}}, found {describe(user)}',
                )
            at_users.append(uid)
    at_all = options.get("atAll")
    if at_all is not None and not isinstance(at_all, bool):
        raise bad("param.error", f"sendOptions.atAll: expected true or false, found {describe(at_all)}")
    if at_all:
        at_users.append(AT_ALL)
    for name in ("receiverListJson", "cardPropertyJson"):
        if options.get(name) not in (None, ""):
            json_text(options[name], f"sendOptions.{name}", object)
    return dedupe(at_users)


def _interactive_private(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    private: dict[str, dict[str, Any]] = {}
    for name in ("userIdPrivateDataMap", "unionIdPrivateDataMap"):
        raw = body.get(name)
        if raw is None or raw == "":
            continue
        parsed = json_text(raw, name, dict)
        for user, values in parsed.items():
            if not isinstance(values, dict):
                raise bad(
                    "param.error",
                    f"{name}.{user}: expected an object of the user's values, found {describe(values)}",
                )
            private[user] = values
    return private
