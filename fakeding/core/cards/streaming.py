"""Streaming into a card instance, and the card-callback responses a robot acks with.

* Streaming with ``isFinalize``/``isError`` sets the flags and, on cards that carry a
  ``flowStatus``, writes "3"/"5". Streaming into a finished card reopens it
  (``extra["reopened"]``, ``flowStatus`` back to "2"); streaming into a failed card is refused
  with 400 ``param.stream.cardFailed`` (a code of the fake's own).
* Streaming empty content together with ``isFinalize`` or ``isError`` changes the state only, not
  the key's text.
* A card-callback response the platform could not apply (a non-string value, ``cardData`` for an
  ordinary card) raises ``ProtocolViolation`` and changes nothing; it is not an OpenAPI call.
"""

from __future__ import annotations

import copy
from typing import Any

from fakeding.core.cards.checks import (
    MISSING,
    bad,
    describe,
    flag,
    instance_card_data,
    nbytes,
    object_body,
    optional_object,
    param_map,
    private_data_maps,
    required_text,
    shorten,
)
from fakeding.core.cards.model import (
    FLOW_FAILED,
    FLOW_FINISHED,
    FLOW_INPUTTING,
    Card,
    CardVersion,
    Deck,
    apply_private,
    merge,
    private_now,
    sync_flow,
)
from fakeding.core.exceptions import OpenApiError, ProtocolViolation


def stream(deck: Deck, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
    """``PUT /v1.0/card/streaming``."""
    ok = {"success": True, "result": True}
    body = object_body(body, "param.invalid")
    out_track_id = body.get("outTrackId")
    if not isinstance(out_track_id, str) or out_track_id == "":
        raise bad(
            "param.stream.outTrackId",
            f"card is not exist: expected an outTrackId, found {describe(body.get('outTrackId', MISSING))}",
        )
    card = deck.owned(out_track_id, client_id)
    if card is None or card.kind != "instance":
        found = "an ordinary interactive card" if card else deck.whose(out_track_id)
        raise bad(
            "param.stream.outTrackId",
            f"card is not exist: expected the outTrackId of a created card instance, "
            f"found {found} for {shorten(out_track_id)}",
            violation=deck.foreign(out_track_id, client_id),
        )
    guid = required_text(body, "guid", "param.stream.guidEmpty")
    if guid in card.stream_guids:
        return card, ok  # the same call again: idempotent
    key = required_text(body, "key", "param.stream.keyEmpty")
    is_full = body.get("isFull", MISSING)
    if not isinstance(is_full, bool):
        raise bad(
            "param.stream.isFull",
            f"streaming update the parameter isFull is null: expected true (overwrite) or "
            f"false (append), found {describe(is_full)}",
        )
    is_finalize = _stream_flag(body, "isFinalize")
    is_error = _stream_flag(body, "isError")
    content = body.get("content", MISSING)
    empty = False
    if content is MISSING or content is None or content == "":
        empty = not (is_finalize or is_error)
        if empty and deck.settings.strict_limits:
            raise bad(
                "param.stream.contentEmpty",
                "content is empty: expected text (empty content is only allowed with "
                f"isFinalize or isError), found {describe(content)}",
            )
        content = ""
    elif not isinstance(content, str):
        raise bad("param.invalid", f"content: expected a string, found {describe(content)}")
    limit = deck.stream_limit()
    if limit is not None and nbytes(content) > limit:
        raise bad(
            "param.stream.content",
            f"content is too large: expected at most {limit} bytes, found {nbytes(content)}",
        )
    if card.failed:
        raise bad(
            "param.stream.cardFailed",
            f"card {shorten(card.id)} is in the failed state: expected a card that is still "
            "open or finished, found failed (use a new outTrackId for a new answer)",
        )

    data = dict(card.current)
    extra: dict[str, Any] = {
        "key": key,
        "guid": guid,
        "is_full": is_full,
        "is_finalize": is_finalize,
        "is_error": is_error,
    }
    if empty:
        extra["empty"] = True  # the "inputting" state DingTalk's own example sends
    elif content != "" or not (is_finalize or is_error):
        data[key] = content if is_full else data.get(key, "") + content
    if card.finalized and not is_finalize:
        extra["reopened"] = True
        card.finalized = False
        if "flowStatus" in data:
            data["flowStatus"] = FLOW_INPUTTING
    if is_finalize:
        card.finalized = True
        if "flowStatus" in data:
            data["flowStatus"] = FLOW_FINISHED
    if is_error:
        card.failed = True
        if "flowStatus" in data:
            data["flowStatus"] = FLOW_FAILED
    if "flowStatus" in data:
        card.flow_status = data["flowStatus"]
    card.stream_guids.add(guid)
    card.versions.append(CardVersion(t, data, "stream", extra, private_now(card.private_data)))
    return card, ok


def apply_callback_response(deck: Deck, t: float, card_id: str, user_id: str, response: Any) -> Card | None:
    """Apply the ``response`` of a card-callback ack; None when it changes nothing.

    ``userPrivateData`` is the clicking user's; ``privateData`` (``{userId: {cardParamMap}}``)
    names its users, as the update API's does. ``None``, ``"OK"`` and other non-objects are no
    update. A malformed update raises ``ProtocolViolation`` and changes nothing.
    """
    if not isinstance(response, dict):
        return None
    card = deck.get(card_id)
    where = f"card callback response for {card_id!r}"
    limit = deck.value_limit()
    try:
        checked = instance_card_data(response.get("cardData"), "cardData", limit)
        private_raw = optional_object(response.get("userPrivateData"), "userPrivateData", "param.invalid")
        private, private_coerced = param_map(
            None if private_raw is None else private_raw.get("cardParamMap"),
            "userPrivateData.cardParamMap",
            limit,
        )
        named, named_coerced = private_data_maps(response.get("privateData"), "privateData", limit)
        options = optional_object(response.get("cardUpdateOptions"), "cardUpdateOptions", "param.invalid")
        by_key = flag(options, "updateCardDataByKey", "cardUpdateOptions", "param.invalid")
        private_by_key = flag(options, "updatePrivateDataByKey", "cardUpdateOptions", "param.invalid")
    except OpenApiError as exc:
        raise ProtocolViolation(f"{where}: {exc.message}") from None
    params, coerced = checked if checked is not None else ({}, [])
    if private:
        named = {**named, user_id: {**named.get(user_id, {}), **private}}
    private_coerced += named_coerced
    if not params and not named:
        return None
    if card.kind != "instance" and params:
        raise ProtocolViolation(
            f"{where}: expected no cardData for an ordinary interactive card (its data is the "
            "card JSON; update it with PUT /v1.0/im/robots/interactiveCards), found "
            f"cardParamMap keys {sorted(params)}"
        )

    data = merge(card.current, params, by_key) if params else copy.deepcopy(card.current)
    extra: dict[str, Any] = {"user_id": user_id, "by_key": by_key}
    if named:
        apply_private(card, named, private_by_key)
        extra["private_data"] = named
        extra["private_by_key"] = private_by_key
    if coerced or private_coerced:
        extra["coerced"] = coerced + private_coerced
    if card.kind == "instance":
        sync_flow(card, data, extra)
    card.versions.append(CardVersion(t, data, "callback", extra, private_now(card.private_data)))
    return card


def _stream_flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad("param.invalid", f"{name}: expected true or false, found {describe(value)}")
    return value
