"""The platform's card state: robot interactive cards and card instances, with DingTalk's checks.

Why this exists: a bot's cards are the most visible thing it does, and the real platform turns a
malformed card call away with a terse ``param.*`` code that the Python SDK only logs. This core
keeps every card's history (one ``CardVersion`` per accepted change) and rejects what DingTalk
rejects, with the real status and code, so a bot that works against the fake sends what the real
platform accepts, and a test can assert on what a user would see.

It is pure: no I/O and no clock. Every method is handed ``t`` (seconds since the fake started);
the HTTP layer maps requests onto these methods and turns ``OpenApiError`` into error bodies.

Modelling choices where the reference is silent or marked uncertain:

* Ordinary and instance cards share one id space (the platform builds ordinary cards on card
  instances). An API of the wrong kind treats the id as unknown, and its message says which API
  the card belongs to.
* Re-sending an existing ``cardBizId`` records a new "send" version for the new target but keeps
  the card's data: the platform needs a fresh id for new data (reference F.3). The data that was
  sent and not shown goes into ``extra["ignored_card_data"]``.
* Ordinary cards with ``request`` buttons get ``callback_type == "STREAM"`` (the fake delivers their
  clicks over Stream); with a ``callbackUrl`` they get "HTTP".
* ``cardParamMap`` values must be strings. Numbers and booleans are coerced the way DingTalk
  documents (``1`` -> ``"1"``, ``True`` -> ``"true"``) and the coerced keys are noted in the
  version's ``extra["coerced"]``; ``null``, objects and lists are refused with ``param.invalid``.
* Instance private data is kept per user: a full-overwrite update replaces the maps of the users
  it names and leaves the others alone.
* ``flowStatus`` drives the state: "3" finished, "5" failed, "1"/"2"/"4" open again. Streaming
  with ``isFinalize``/``isError`` sets the flags and, on cards that carry a ``flowStatus``, writes
  "3"/"5". Streaming into a finished card reopens it (``extra["reopened"]``, ``flowStatus`` back
  to "2"); streaming into a failed card is refused with 400 ``param.stream.cardFailed`` (a code
  of the fake's own).
* Streaming empty content together with ``isFinalize`` or ``isError`` changes the state only, not
  the key's text.
* A card-callback response the platform could not apply (a non-string value, ``cardData`` for an
  ordinary card) raises ``ProtocolViolation`` and changes nothing; it is not an OpenAPI call.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from .exceptions import OpenApiError, ProtocolViolation
from .ids import IdFactory
from .settings import Settings

STANDARD_CARD = "StandardCard"
OPEN_SPACE_PREFIX = "dtv1.card//"
SPACE_TYPES = ("IM_GROUP", "IM_SINGLE", "IM_ROBOT", "ONE_BOX")
CONVERSATION_SPACES = ("IM_GROUP", "IM_SINGLE", "ONE_BOX")
CARD_BIZ_ID_MAX_CHARS = 100
CARD_PARAM_KEY_MAX_BYTES = 100
PRIVATE_DATA_USER_MAX_BYTES = 100
AT_USER_LIST_MAX = 30
AT_ALL = "@ALL"
FLOW_FINISHED = "3"
FLOW_FAILED = "5"
FLOW_INPUTTING = "2"

_MISSING = object()


@dataclass
class CardVersion:
    """One accepted change: the card's data right after it, and what caused it."""

    t: float
    card_data: dict[str, Any]
    source: str  # "send" | "update" | "create" | "deliver" | "stream" | "callback"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Button:
    """A request button of an ordinary card: clicking it makes the platform call back."""

    id: str
    label: str
    value: Any


@dataclass
class Card:
    id: str
    kind: str  # "interactive" | "instance"
    client_id: str
    robot_code: str | None
    template_id: str
    conversation_id: str | None
    single_user: str | None
    at_users: list[str]
    callback_type: str | None
    versions: list[CardVersion]
    private_data: dict[str, dict[str, Any]]
    flow_status: str | None
    delivered: bool
    finalized: bool
    failed: bool
    callback_route_key: str | None = None
    callback_url: str | None = None
    spaces: list[tuple[str, str]] = field(default_factory=list)
    recipients: list[str] | None = None
    user_id_type: int = 1
    stream_guids: set[str] = field(default_factory=set, repr=False)

    @property
    def current(self) -> dict[str, Any]:
        return self.versions[-1].card_data

    @property
    def created_at(self) -> float:
        return self.versions[0].t

    def buttons(self) -> list[Button]:
        if self.kind != "interactive":
            return []
        contents = self.current.get("contents")
        if not isinstance(contents, list):
            return []
        found: list[Button] = []
        for block in contents:
            if not isinstance(block, dict):
                continue
            candidates: list[Any] = []
            if block.get("type") == "action" and isinstance(block.get("actions"), list):
                candidates.extend(block["actions"])
            if isinstance(block.get("extra"), dict):  # a section's side button
                candidates.append(block["extra"])
            for item in candidates:
                button = _request_button(item)
                if button is not None:
                    found.append(button)
        return found


def _request_button(item: Any) -> Button | None:
    if not isinstance(item, dict):
        return None
    if item.get("type") != "button" or item.get("actionType") != "request":
        return None
    label = item.get("label")
    text = label.get("text", "") if isinstance(label, dict) else label
    value = item.get("value", {})
    return Button(id=str(item.get("id", "")), label="" if text is None else str(text), value=value)


# --------------------------------------------------------------------------------------------
# validation helpers


def _bad(code: str, message: str, status: int = 400) -> OpenApiError:
    return OpenApiError(status, code, message)


def _kind(value: Any) -> str:
    """The JSON type name of a value, for "found ..." in messages."""
    if value is _MISSING:
        return "nothing (field absent)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        return "an empty string" if value == "" else f"string {_short(value)}"
    if isinstance(value, list):
        return f"array of {len(value)}"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _body(body: Any, code: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad(code, f"request body: expected a JSON object, found {_kind(body)}")
    return body


def _text(body: dict[str, Any], name: str, code: str) -> str:
    """A required non-empty string field."""
    value = body.get(name, _MISSING)
    if not isinstance(value, str) or value == "":
        raise _bad(code, f"{name} is required: expected a non-empty string, found {_kind(value)}")
    return value


def _opt_text(body: dict[str, Any], name: str, code: str = "param.invalid") -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(code, f"{name}: expected a string, found {_kind(value)}")
    return value


def _opt_object(value: Any, name: str, code: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad(code, f"{name}: expected an object, found {_kind(value)}")
    return value


def _flag(options: dict[str, Any] | None, name: str, where: str, code: str) -> bool:
    if options is None:
        return False
    value = options.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(code, f"{where}.{name}: expected true or false, found {_kind(value)}")
    return value


def _json_text(value: Any, name: str, expect: type[Any]) -> Any:
    """Parse a field that DingTalk wants as JSON *text* (a string holding JSON)."""
    want = "an object" if expect is dict else "an array" if expect is list else "a value"
    if not isinstance(value, str):
        raise _bad(
            "param.isNotJson",
            f"{name}: expected a string holding JSON {want} (json.dumps it), found {_kind(value)}",
        )
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise _bad(
            "param.isNotJson", f"{name}: expected JSON text, found invalid JSON ({exc})"
        ) from None
    if not isinstance(parsed, expect):
        raise _bad(
            "param.isNotJson", f"{name}: expected JSON text of {want}, found {_kind(parsed)}"
        )
    return parsed


def _param_map(value: Any, name: str, value_limit: int | None) -> tuple[dict[str, str], list[str]]:
    """Check a ``cardParamMap`` (Map<String,String>) and coerce numbers and booleans."""
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        raise _bad(
            "param.invalid", f"{name}: expected an object of string values, found {_kind(value)}"
        )
    out: dict[str, str] = {}
    coerced: list[str] = []
    for key, raw in value.items():
        size = _nbytes(key)
        if size > CARD_PARAM_KEY_MAX_BYTES:
            raise _bad(
                "param.invalid",
                f"{name} key {_short(key)}: expected at most {CARD_PARAM_KEY_MAX_BYTES} bytes, "
                f"found {size} bytes",
            )
        if isinstance(raw, str):
            text = raw
        elif isinstance(raw, bool):
            text = "true" if raw else "false"
            coerced.append(key)
        elif isinstance(raw, (int, float)):
            text = json.dumps(raw)
            coerced.append(key)
        else:
            raise _bad(
                "param.invalid",
                f"{name}.{key}: expected a string (send objects and lists as JSON text, "
                f"e.g. json.dumps(value)), found {_kind(raw)}",
            )
        if value_limit is not None and _nbytes(text) > value_limit:
            raise _bad(
                "param.invalid",
                f"{name}.{key}: expected a value of at most {value_limit} bytes, "
                f"found {_nbytes(text)} bytes",
            )
        out[key] = text
    return out, coerced


def _instance_card_data(
    value: Any, name: str, value_limit: int | None
) -> tuple[dict[str, str], list[str]] | None:
    """``{"cardParamMap": {...}}`` -> the checked map, or None when the field is absent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad(
            "param.invalid",
            f'{name}: expected an object {{"cardParamMap": {{...}}}}, found {_kind(value)}',
        )
    return _param_map(value.get("cardParamMap"), f"{name}.cardParamMap", value_limit)


def _private_data(
    value: Any, name: str, value_limit: int | None
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """``{"<userId>": {"cardParamMap": {...}}}`` -> ``{userId: map}``."""
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        raise _bad(
            "param.invalid",
            f'{name}: expected an object {{"<userId>": {{"cardParamMap": {{...}}}}}}, '
            f"found {_kind(value)}",
        )
    out: dict[str, dict[str, str]] = {}
    coerced: list[str] = []
    for user, entry in value.items():
        if _nbytes(user) > PRIVATE_DATA_USER_MAX_BYTES:
            raise _bad(
                "param.invalid",
                f"{name} key {_short(user)}: expected a userId of at most "
                f"{PRIVATE_DATA_USER_MAX_BYTES} bytes, found {_nbytes(user)} bytes",
            )
        if not isinstance(entry, dict):
            raise _bad(
                "param.invalid",
                f'{name}.{user}: expected an object {{"cardParamMap": {{...}}}}, '
                f"found {_kind(entry)}",
            )
        params, keys = _param_map(
            entry.get("cardParamMap"), f"{name}.{user}.cardParamMap", value_limit
        )
        out[user] = params
        coerced.extend(f"{user}.{k}" for k in keys)
    return out, coerced


def _merge(current: dict[str, Any], new: dict[str, Any], by_key: bool) -> dict[str, Any]:
    return {**current, **new} if by_key else dict(new)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def parse_open_space_id(value: Any) -> list[tuple[str, str]]:
    """Split an openSpaceId into ``(SPACETYPE, spaceId)`` pairs, the type upper-cased.

    ``dtv1.card//IM_GROUP.cid1;im_robot.user1`` -> ``[("IM_GROUP", "cid1"), ("IM_ROBOT", "user1")]``
    """
    if value is None or value == "":
        raise _bad("param.openSpaceIdEmpty", f"openSpaceId is required, found {_kind(value)}")
    hint = (
        "expected 'dtv1.card//<SPACETYPE>.<spaceId>[;<SPACETYPE>.<spaceId>...]' with SPACETYPE "
        f"one of {', '.join(SPACE_TYPES)}"
    )
    if not isinstance(value, str):
        raise _bad("param.openSpaceIdInvalid", f"openSpaceId: {hint}, found {_kind(value)}")
    if not value.startswith(OPEN_SPACE_PREFIX):
        raise _bad("param.openSpaceIdInvalid", f"openSpaceId: {hint}, found {_short(value)}")
    spaces: list[tuple[str, str]] = []
    for part in value[len(OPEN_SPACE_PREFIX) :].split(";"):
        if part == "":
            continue
        space_type, dot, space_id = part.partition(".")
        if not dot or space_id == "" or space_type.upper() not in SPACE_TYPES:
            raise _bad(
                "param.openSpaceIdInvalid", f"openSpaceId: {hint}, found part {_short(part)}"
            )
        spaces.append((space_type.upper(), space_id))
    if not spaces:
        raise _bad("param.openSpaceIdInvalid", f"openSpaceId: {hint}, found {_short(value)}")
    return spaces


# --------------------------------------------------------------------------------------------
# parsed requests, checked in full before anything changes


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


def _user_id_type(body: dict[str, Any]) -> int:
    value = body.get("userIdType")
    if value is None:
        return 1
    if isinstance(value, bool) or value not in (1, 2):
        raise _bad(
            "param.invalid", f"userIdType: expected 1 (userId) or 2 (unionId), found {_kind(value)}"
        )
    return int(value)


def _str_list(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad("param.invalid", f"{name}: expected an array of strings, found {_kind(value)}")
    return list(value)


class CardStore:
    """Every card of the fake platform, in creation order."""

    def __init__(self, settings: Settings, ids: IdFactory) -> None:
        self.settings = settings
        self.ids = ids
        self._cards: dict[str, Card] = {}

    # ----------------------------------------------------------------------------------------
    # queries

    def get(self, card_id: str) -> Card:
        card = self._cards.get(card_id)
        if card is None:
            known = list(self._cards)
            listing = ", ".join(known[:10]) + (
                f" (and {len(known) - 10} more)" if len(known) > 10 else ""
            )
            raise KeyError(
                f"no card {card_id!r}: expected a cardBizId or outTrackId the bot has used, "
                f"found {len(known)} card(s)" + (f": {listing}" if known else "")
            )
        return card

    def trim(self, limit: int) -> None:
        """Keep only the ``limit`` newest cards (a retention setting for long runs)."""
        while len(self._cards) > limit:
            del self._cards[next(iter(self._cards))]

    def all(self) -> list[Card]:
        return list(self._cards.values())

    def __len__(self) -> int:
        return len(self._cards)

    def __contains__(self, card_id: object) -> bool:
        return card_id in self._cards

    # ----------------------------------------------------------------------------------------
    # ordinary robot interactive cards (D.2, D.3)

    def send_interactive(
        self, t: float, client_id: str, body: dict[str, Any]
    ) -> tuple[Card, dict[str, Any]]:
        """``POST /v1.0/im/v1.0/robot/interactiveCards/send``."""
        body = _body(body, "param.error")
        template_id = _text(body, "cardTemplateId", "param.error")
        if template_id != STANDARD_CARD:
            raise _bad(
                "template.isNotExist",
                f"cardTemplateId: expected {STANDARD_CARD!r} for robot interactive cards, "
                f"found {_short(template_id)} (card-instance templates go to /v1.0/card/instances)",
            )
        robot_code = _text(body, "robotCode", "param.error")
        biz_id = _text(body, "cardBizId", "param.error")
        if len(biz_id) > CARD_BIZ_ID_MAX_CHARS:
            raise _bad(
                "invalid.bizId",
                f"cardBizId: expected at most {CARD_BIZ_ID_MAX_CHARS} characters, "
                f"found {len(biz_id)}",
            )
        if "cardData" not in body or body["cardData"] is None:
            raise _bad(
                "param.error", "cardData is required: expected a string holding the card JSON"
            )
        card_data = self._interactive_data(body["cardData"], "cardData")
        conversation_id, single_user = self._interactive_target(body)
        at_users = self._send_options(body.get("sendOptions"))
        private = self._interactive_private(body)
        callback_url = _opt_text(body, "callbackUrl", "param.error")
        existing = self._cards.get(biz_id)
        if existing is not None and existing.kind != "interactive":
            raise _bad(
                "invalid.bizId",
                f"cardBizId {_short(biz_id)}: expected an id not used by a card instance, "
                "found a card created with /v1.0/card/instances",
            )

        pqk = self.ids.process_query_key()
        target = (
            {"openConversationId": conversation_id} if conversation_id else {"userId": single_user}
        )
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
                callback_type=None,
                versions=[CardVersion(t, card_data, "send", extra)],
                private_data=private,
                flow_status=None,
                delivered=True,
                finalized=False,
                failed=False,
                callback_url=callback_url,
            )
            self._cards[biz_id] = card
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
            card.versions.append(CardVersion(t, copy.deepcopy(card.current), "send", extra))
        if conversation_id:
            card.spaces.append(("IM_GROUP", conversation_id))
        elif single_user:
            card.spaces.append(("IM_ROBOT", single_user))
        card.callback_type = self._interactive_callback_type(card)
        return card, {"processQueryKey": pqk}

    def update_interactive(
        self, t: float, client_id: str, body: dict[str, Any]
    ) -> tuple[Card, dict[str, Any]]:
        """``PUT /v1.0/im/robots/interactiveCards``."""
        body = _body(body, "param.error")
        biz_id = _text(body, "cardBizId", "param.error")
        card = self._cards.get(biz_id)
        if card is None or card.kind != "interactive":
            found = "a card instance (update it with PUT /v1.0/card/instances)" if card else "none"
            raise _bad(
                "cardInstance.notExist",
                f"cardBizId {_short(biz_id)}: expected a card sent with "
                f"/v1.0/im/v1.0/robot/interactiveCards/send, found {found}",
            )
        raw = body.get("cardData")
        new_data = None if raw is None else self._interactive_data(raw, "cardData")
        private = self._interactive_private(body)
        if new_data is None and not private:
            raise _bad(
                "param.error",
                "nothing to update: expected cardData, userIdPrivateDataMap or "
                "unionIdPrivateDataMap, found none of them",
            )
        options = _opt_object(body.get("updateOptions"), "updateOptions", "param.error")
        by_key = _flag(options, "updateCardDataByKey", "updateOptions", "param.error")
        private_by_key = _flag(options, "updatePrivateDataByKey", "updateOptions", "param.error")

        pqk = self.ids.process_query_key()
        data = card.current if new_data is None else _merge(card.current, new_data, by_key)
        self._apply_private(card, private, private_by_key)
        extra: dict[str, Any] = {"by_key": by_key, "process_query_key": pqk}
        if private:
            extra["private_data"] = private
        # ``data`` is a fresh dict (parsed or merged); versions are never mutated afterwards,
        # so no deep copy is needed on this hot path.
        card.versions.append(CardVersion(t, data if new_data is not None else dict(data),
                                         "update", extra))
        card.callback_type = self._interactive_callback_type(card)
        return card, {"processQueryKey": pqk}

    def _interactive_data(self, raw: Any, name: str) -> dict[str, Any]:
        data: dict[str, Any] = _json_text(raw, name, dict)
        limit = self.settings.interactive_card_max_bytes
        size = _nbytes(raw)
        if limit is not None and size > limit:
            raise _bad(
                "param.error", f"{name} is too large: expected at most {limit} bytes, found {size}"
            )
        return data

    def _interactive_target(self, body: dict[str, Any]) -> tuple[str | None, str | None]:
        conversation = body.get("openConversationId")
        receiver = body.get("singleChatReceiver")
        has_conversation = conversation not in (None, "")
        has_receiver = receiver not in (None, "")
        if has_conversation == has_receiver:
            found = "both" if has_conversation else "neither"
            raise _bad(
                "param.error",
                f"expected exactly one of openConversationId (group) or singleChatReceiver (1:1), "
                f"found {found}",
            )
        if has_conversation:
            if not isinstance(conversation, str):
                raise _bad(
                    "param.error",
                    f"openConversationId: expected a string, found {_kind(conversation)}",
                )
            return conversation, None
        parsed = _json_text(receiver, "singleChatReceiver", dict)
        user = parsed.get("userId") or parsed.get("unionId")
        if not isinstance(user, str) or user == "":
            raise _bad(
                "invalid.user",
                'singleChatReceiver: expected {"userId": ...} or {"unionId": ...}, '
                f"found keys {sorted(parsed)}",
            )
        return None, user

    def _send_options(self, value: Any) -> list[str]:
        options = _opt_object(value, "sendOptions", "param.error")
        if options is None:
            return []
        at_users: list[str] = []
        raw = options.get("atUserListJson")
        if raw is not None and raw != "":
            users = _json_text(raw, "sendOptions.atUserListJson", list)
            if len(users) > AT_USER_LIST_MAX:
                raise _bad(
                    "param.error",
                    f"sendOptions.atUserListJson: expected at most {AT_USER_LIST_MAX} users, "
                    f"found {len(users)}",
                )
            for i, user in enumerate(users):
                uid = (
                    (user.get("userId") or user.get("unionId")) if isinstance(user, dict) else None
                )
                if not isinstance(uid, str) or uid == "":
                    raise _bad(
                        "invalid.user",
                        f'sendOptions.atUserListJson[{i}]: expected {{"nickName", "userId" or '
                        f'"unionId"}}, found {_kind(user)}',
                    )
                at_users.append(uid)
        at_all = options.get("atAll")
        if at_all is not None and not isinstance(at_all, bool):
            raise _bad(
                "param.error", f"sendOptions.atAll: expected true or false, found {_kind(at_all)}"
            )
        if at_all:
            at_users.append(AT_ALL)
        for name in ("receiverListJson", "cardPropertyJson"):
            if options.get(name) not in (None, ""):
                _json_text(options[name], f"sendOptions.{name}", object)
        return _dedupe(at_users)

    def _interactive_private(self, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
        private: dict[str, dict[str, Any]] = {}
        for name in ("userIdPrivateDataMap", "unionIdPrivateDataMap"):
            raw = body.get(name)
            if raw is None or raw == "":
                continue
            parsed = _json_text(raw, name, dict)
            for user, values in parsed.items():
                if not isinstance(values, dict):
                    raise _bad(
                        "param.error",
                        f"{name}.{user}: expected an object of the user's values, "
                        f"found {_kind(values)}",
                    )
                private[user] = values
        return private

    def _interactive_callback_type(self, card: Card) -> str | None:
        if card.callback_url:
            return "HTTP"
        return "STREAM" if card.buttons() else None

    # ----------------------------------------------------------------------------------------
    # card instances (D.4 - D.8)

    def create_instance(
        self, t: float, client_id: str, body: dict[str, Any]
    ) -> tuple[Card, dict[str, Any]]:
        """``POST /v1.0/card/instances``."""
        body = _body(body, "param.empty")
        create = self._parse_create(body)
        card = self._create(t, client_id, create)
        return card, {"success": True, "result": card.id}

    def deliver(
        self, t: float, client_id: str, body: dict[str, Any]
    ) -> tuple[Card, dict[str, Any]]:
        """``POST /v1.0/card/instances/deliver``."""
        body = _body(body, "param.empty")
        out_track_id = _text(body, "outTrackId", "param.outTrackIdEmpty")
        card = self._instance(out_track_id, "param.cardNotExist")
        delivery = self._parse_delivery(body, client_id)
        results = self._deliver(t, card, delivery)
        return card, {"success": True, "result": results}

    def create_and_deliver(
        self, t: float, client_id: str, body: dict[str, Any]
    ) -> tuple[Card, dict[str, Any]]:
        """``POST /v1.0/card/instances/createAndDeliver``: both checks first, then both changes."""
        body = _body(body, "param.empty")
        create = self._parse_create(body)
        delivery = self._parse_delivery(body, client_id)
        card = self._create(t, client_id, create)
        results = self._deliver(t, card, delivery)
        return card, {"success": True, "result": {"outTrackId": card.id, "deliverResults": results}}

    def update_instance(
        self, t: float, client_id: str, body: dict[str, Any]
    ) -> tuple[Card, dict[str, Any]]:
        """``PUT /v1.0/card/instances``: full overwrite unless ``cardUpdateOptions`` say by key."""
        body = _body(body, "param.empty")
        out_track_id = _text(body, "outTrackId", "param.outTrackIdEmpty")
        card = self._instance(out_track_id, "param.cardNotExist")
        limit = self.settings.card_param_value_max_bytes
        checked = _instance_card_data(body.get("cardData"), "cardData", limit)
        params, coerced = checked if checked is not None else ({}, [])
        private, private_coerced = _private_data(body.get("privateData"), "privateData", limit)
        if not params and not private:
            raise _bad(
                "param.cardDataAndPrivateDataBothEmpty",
                "expected cardData.cardParamMap or privateData to hold values, found both empty",
            )
        options = _opt_object(body.get("cardUpdateOptions"), "cardUpdateOptions", "param.invalid")
        by_key = _flag(options, "updateCardDataByKey", "cardUpdateOptions", "param.invalid")
        private_by_key = _flag(
            options, "updatePrivateDataByKey", "cardUpdateOptions", "param.invalid"
        )

        data = _merge(card.current, params, by_key) if params else dict(card.current)
        self._apply_private(card, private, private_by_key)
        extra: dict[str, Any] = {"by_key": by_key}
        if private:
            extra["private_data"] = private
            extra["private_by_key"] = private_by_key
        if coerced or private_coerced:
            extra["coerced"] = coerced + private_coerced
        self._sync_flow(card, data, extra)
        card.versions.append(CardVersion(t, data, "update", extra))
        return card, {"success": True, "result": True}

    def stream(self, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
        """``PUT /v1.0/card/streaming``."""
        ok = {"success": True, "result": True}
        body = _body(body, "param.invalid")
        out_track_id = body.get("outTrackId")
        if not isinstance(out_track_id, str) or out_track_id == "":
            raise _bad(
                "param.stream.outTrackId",
                "card is not exist: expected an outTrackId, "
                f"found {_kind(body.get('outTrackId', _MISSING))}",
            )
        card = self._cards.get(out_track_id)
        if card is None or card.kind != "instance":
            found = "an ordinary interactive card" if card else "no such card"
            raise _bad(
                "param.stream.outTrackId",
                f"card is not exist: expected the outTrackId of a created card instance, "
                f"found {found} for {_short(out_track_id)}",
            )
        guid = _text(body, "guid", "param.stream.guidEmpty")
        if guid in card.stream_guids:
            return card, ok  # the same call again: idempotent
        key = _text(body, "key", "param.stream.keyEmpty")
        is_full = body.get("isFull", _MISSING)
        if not isinstance(is_full, bool):
            raise _bad(
                "param.stream.isFull",
                f"streaming update the parameter isFull is null: expected true (overwrite) or "
                f"false (append), found {_kind(is_full)}",
            )
        is_finalize = self._stream_flag(body, "isFinalize")
        is_error = self._stream_flag(body, "isError")
        content = body.get("content", _MISSING)
        if content is _MISSING or content is None or content == "":
            if not (is_finalize or is_error):
                raise _bad(
                    "param.stream.contentEmpty",
                    "content is empty: expected text (empty content is only allowed with "
                    f"isFinalize or isError), found {_kind(content)}",
                )
            content = ""
        elif not isinstance(content, str):
            raise _bad("param.invalid", f"content: expected a string, found {_kind(content)}")
        limit = self.settings.stream_content_max_bytes
        if limit is not None and _nbytes(content) > limit:
            raise _bad(
                "param.stream.content",
                f"content is too large: expected at most {limit} bytes, found {_nbytes(content)}",
            )
        if card.failed:
            raise _bad(
                "param.stream.cardFailed",
                f"card {_short(card.id)} is in the failed state: expected a card that is still "
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
        if content != "" or not (is_finalize or is_error):
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
        card.versions.append(CardVersion(t, data, "stream", extra))
        return card, ok

    def apply_callback_response(
        self, t: float, card_id: str, user_id: str, response: Any
    ) -> Card | None:
        """Apply the ``response`` of a card-callback ack; None when it changes nothing.

        ``None``, ``"OK"`` and other non-objects are no update. A malformed update raises
        ``ProtocolViolation`` and changes nothing.
        """
        if not isinstance(response, dict):
            return None
        card = self.get(card_id)
        where = f"card callback response for {card_id!r}"
        limit = self.settings.card_param_value_max_bytes
        try:
            checked = _instance_card_data(response.get("cardData"), "cardData", limit)
            private_raw = _opt_object(
                response.get("userPrivateData"), "userPrivateData", "param.invalid"
            )
            private, private_coerced = _param_map(
                None if private_raw is None else private_raw.get("cardParamMap"),
                "userPrivateData.cardParamMap",
                limit,
            )
            options = _opt_object(
                response.get("cardUpdateOptions"), "cardUpdateOptions", "param.invalid"
            )
            by_key = _flag(options, "updateCardDataByKey", "cardUpdateOptions", "param.invalid")
            private_by_key = _flag(
                options, "updatePrivateDataByKey", "cardUpdateOptions", "param.invalid"
            )
        except OpenApiError as exc:
            raise ProtocolViolation(f"{where}: {exc.message}") from None
        params, coerced = checked if checked is not None else ({}, [])
        if not params and not private:
            return None
        if card.kind != "instance" and params:
            raise ProtocolViolation(
                f"{where}: expected no cardData for an ordinary interactive card (its data is the "
                "card JSON; update it with PUT /v1.0/im/robots/interactiveCards), found "
                f"cardParamMap keys {sorted(params)}"
            )

        data = _merge(card.current, params, by_key) if params else copy.deepcopy(card.current)
        extra: dict[str, Any] = {"user_id": user_id, "by_key": by_key}
        if private:
            self._apply_private(card, {user_id: private}, private_by_key)
            extra["private_data"] = private
            extra["private_by_key"] = private_by_key
        if coerced or private_coerced:
            extra["coerced"] = coerced + private_coerced
        if card.kind == "instance":
            self._sync_flow(card, data, extra)
        card.versions.append(CardVersion(t, data, "callback", extra))
        return card

    # ----------------------------------------------------------------------------------------
    # instance internals

    def _instance(self, out_track_id: str, code: str) -> Card:
        card = self._cards.get(out_track_id)
        if card is None or card.kind != "instance":
            found = (
                "an ordinary interactive card (update it with PUT /v1.0/im/robots/interactiveCards)"
                if card
                else "no such card"
            )
            raise _bad(
                code,
                f"outTrackId {_short(out_track_id)}: expected a card created with "
                f"/v1.0/card/instances, found {found}",
            )
        return card

    def _parse_create(self, body: dict[str, Any]) -> _InstanceCreate:
        template_id = _text(body, "cardTemplateId", "param.cardTemplateIdEmpty")
        out_track_id = _text(body, "outTrackId", "param.outTrackIdEmpty")
        limit = self.settings.card_param_value_max_bytes
        checked = _instance_card_data(body.get("cardData"), "cardData", limit)
        if checked is None:
            raise _bad(
                "param.cardPublicDataEmpty",
                'cardData is required: expected {"cardParamMap": {...}}, found '
                f"{_kind(body.get('cardData', _MISSING))}",
            )
        params, coerced = checked
        private, private_coerced = _private_data(body.get("privateData"), "privateData", limit)
        callback_type = body.get("callbackType")
        if callback_type in (None, ""):
            callback_type = None
        elif not isinstance(callback_type, str) or callback_type.upper() not in ("STREAM", "HTTP"):
            raise _bad(
                "param.invalid",
                f"callbackType: expected 'STREAM' or 'HTTP', found {_kind(callback_type)}",
            )
        else:
            callback_type = callback_type.upper()
        route_key = _opt_text(body, "callbackRouteKey")
        at_users = _str_list(body.get("cardAtUserIds"), "cardAtUserIds") or []
        user_id_type = _user_id_type(body)
        if out_track_id in self._cards:
            kind = self._cards[out_track_id].kind
            raise _bad(
                "param.cardAlreadyExist",
                f"outTrackId {_short(out_track_id)}: expected a new id, found an existing "
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

    def _create(self, t: float, client_id: str, create: _InstanceCreate) -> Card:
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
            callback_type=create.callback_type,
            versions=[],
            private_data=create.private,
            flow_status=None,
            delivered=False,
            finalized=False,
            failed=False,
            callback_route_key=create.callback_route_key,
            user_id_type=create.user_id_type,
        )
        data = dict(create.params)
        self._sync_flow(card, data, extra)
        card.versions.append(CardVersion(t, data, "create", extra))
        self._cards[card.id] = card
        return card

    def _parse_delivery(self, body: dict[str, Any], client_id: str) -> _Delivery:
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
                found = _kind(group) if not isinstance(group, dict) else f"robotCode {_kind(code)}"
                raise _bad(
                    "param.openDeliverModelEmpty",
                    'imGroupOpenDeliverModel: expected {"robotCode": ...} for an IM_GROUP space, '
                    f"found {found}",
                )
            robot_code = code
        if "IM_ROBOT" in types:
            if not isinstance(robot, dict):
                raise _bad(
                    "param.openDeliverModelEmpty",
                    'imRobotOpenDeliverModel: expected {"spaceType": "IM_ROBOT"} for an IM_ROBOT '
                    f"space, found {_kind(robot)}",
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
                raise _bad(
                    "param.invalid",
                    f"{name}.atUserIds: expected an object {{userId: nickName}}, found {_kind(at)}",
                )
            at_users.extend(str(user) for user in at)
        if isinstance(group, dict):
            recipients = _str_list(group.get("recipients"), "imGroupOpenDeliverModel.recipients")
        return _Delivery(
            spaces=spaces,
            robot_code=robot_code,
            at_users=at_users,
            recipients=recipients,
            user_id_type=_user_id_type(body) if body.get("userIdType") is not None else None,
        )

    def _deliver(self, t: float, card: Card, delivery: _Delivery) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        conversation = next((i for s, i in delivery.spaces if s in CONVERSATION_SPACES), None)
        user = next((i for s, i in delivery.spaces if s == "IM_ROBOT"), None)
        for space_type, space_id in delivery.spaces:
            results.append(
                {
                    "spaceType": space_type,
                    "spaceId": space_id,
                    "success": True,
                    "carrierId": self.ids.process_query_key(),
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
        card.at_users = _dedupe(card.at_users + delivery.at_users)
        card.spaces.extend(delivery.spaces)
        if delivery.user_id_type is not None:
            card.user_id_type = delivery.user_id_type
        card.delivered = True
        extra = {
            "spaces": [list(space) for space in delivery.spaces],
            "at_users": delivery.at_users,
            "carrier_ids": [r["carrierId"] for r in results],
        }
        card.versions.append(CardVersion(t, dict(card.current), "deliver", extra))
        return results

    @staticmethod
    def _stream_flag(body: dict[str, Any], name: str) -> bool:
        value = body.get(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise _bad("param.invalid", f"{name}: expected true or false, found {_kind(value)}")
        return value

    @staticmethod
    def _apply_private(card: Card, private: dict[str, dict[str, Any]], by_key: bool) -> None:
        for user, values in private.items():
            card.private_data[user] = _merge(card.private_data.get(user, {}), values, by_key)

    @staticmethod
    def _sync_flow(card: Card, data: dict[str, Any], extra: dict[str, Any]) -> None:
        """Follow ``flowStatus``: "3" finished, "5" failed, anything else open again."""
        status = data.get("flowStatus")
        if status is None:
            return
        card.flow_status = status
        was_closed = card.finalized or card.failed
        card.finalized = status == FLOW_FINISHED
        card.failed = status == FLOW_FAILED
        if was_closed and not (card.finalized or card.failed):
            extra["reopened"] = True
