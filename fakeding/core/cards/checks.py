"""Field validators: each turns one request field into checked data or a platform error.

Every error names the field, what DingTalk expects and what was found, and carries the code the
real platform answers with (``param.*``, ``invalid.*``), so a bot's log says what to fix.
"""

from __future__ import annotations

import json
from typing import Any

from fakeding.core import jsonsafe
from fakeding.core.cards.model import (
    CARD_PARAM_KEY_MAX_BYTES,
    OPEN_SPACE_PREFIX,
    PRIVATE_DATA_USER_MAX_BYTES,
    SPACE_TYPES,
)
from fakeding.core.exceptions import OpenApiError

MISSING = object()
"""Stands for a field that is absent, so messages can tell it from ``null``."""


def bad(code: str, message: str, status: int = 400, *, violation: bool = False) -> OpenApiError:
    return OpenApiError(status, code, message, violation=violation)


def describe(value: Any) -> str:
    """The JSON type name of a value, for "found ..." in messages."""
    if value is MISSING:
        return "nothing (field absent)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        return "an empty string" if value == "" else f"string {shorten(value)}"
    if isinstance(value, list):
        return f"array of {len(value)}"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shorten(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def nbytes(text: str) -> int:
    """UTF-8 size; ASCII text (most card JSON) is counted without encoding a copy."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def object_body(body: Any, code: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad(code, f"request body: expected a JSON object, found {describe(body)}")
    return body


def required_text(body: dict[str, Any], name: str, code: str) -> str:
    """A required non-empty string field."""
    value = body.get(name, MISSING)
    if not isinstance(value, str) or value == "":
        raise bad(code, f"{name} is required: expected a non-empty string, found {describe(value)}")
    return value


def optional_text(body: dict[str, Any], name: str, code: str = "param.invalid") -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad(code, f"{name}: expected a string, found {describe(value)}")
    return value


def optional_object(value: Any, name: str, code: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad(code, f"{name}: expected an object, found {describe(value)}")
    return value


def flag(options: dict[str, Any] | None, name: str, where: str, code: str) -> bool:
    if options is None:
        return False
    value = options.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad(code, f"{where}.{name}: expected true or false, found {describe(value)}")
    return value


def json_text(value: Any, name: str, expect: type[Any]) -> Any:
    """Parse a field that DingTalk wants as JSON *text* (a string holding JSON)."""
    want = "an object" if expect is dict else "an array" if expect is list else "a value"
    if not isinstance(value, str):
        raise bad(
            "param.isNotJson",
            f"{name}: expected a string holding JSON {want} (json.dumps it), found {describe(value)}",
        )
    try:  # the rules of request bodies: no lone surrogates, NaN or deep nesting either
        parsed = jsonsafe.loads(value, what=name)
    except jsonsafe.BadJson as exc:
        raise bad("param.isNotJson", f"{exc}; expected JSON text of {want}") from None
    if not isinstance(parsed, expect):
        raise bad("param.isNotJson", f"{name}: expected JSON text of {want}, found {describe(parsed)}")
    return parsed


def param_map(value: Any, name: str, value_limit: int | None) -> tuple[dict[str, str], list[str]]:
    """Check a ``cardParamMap`` (Map<String,String>) and coerce numbers and booleans."""
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        raise bad("param.invalid", f"{name}: expected an object of string values, found {describe(value)}")
    out: dict[str, str] = {}
    coerced: list[str] = []
    for key, raw in value.items():
        size = nbytes(key)
        if size > CARD_PARAM_KEY_MAX_BYTES:
            raise bad(
                "param.invalid",
                f"{name} key {shorten(key)}: expected at most {CARD_PARAM_KEY_MAX_BYTES} bytes, "
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
            raise bad(
                "param.invalid",
                f"{name}.{key}: expected a string (send objects and lists as JSON text, "
                f"e.g. json.dumps(value)), found {describe(raw)}",
            )
        if value_limit is not None and nbytes(text) > value_limit:
            raise bad(
                "param.invalid",
                f"{name}.{key}: expected a value of at most {value_limit} bytes, found {nbytes(text)} bytes",
            )
        out[key] = text
    return out, coerced


def instance_card_data(
    value: Any, name: str, value_limit: int | None
) -> tuple[dict[str, str], list[str]] | None:
    """``{"cardParamMap": {...}}`` -> the checked map, or None when the field is absent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad(
            "param.invalid",
            f'{name}: expected an object {{"cardParamMap": {{...}}}}, found {describe(value)}',
        )
    return param_map(value.get("cardParamMap"), f"{name}.cardParamMap", value_limit)


def private_data_maps(
    value: Any, name: str, value_limit: int | None
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """``{"<userId>": {"cardParamMap": {...}}}`` -> ``{userId: map}``."""
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        raise bad(
            "param.invalid",
            f'{name}: expected an object {{"<userId>": {{"cardParamMap": {{...}}}}}}, '
            f"found {describe(value)}",
        )
    out: dict[str, dict[str, str]] = {}
    coerced: list[str] = []
    for user, entry in value.items():
        if nbytes(user) > PRIVATE_DATA_USER_MAX_BYTES:
            raise bad(
                "param.invalid",
                f"{name} key {shorten(user)}: expected a userId of at most "
                f"{PRIVATE_DATA_USER_MAX_BYTES} bytes, found {nbytes(user)} bytes",
            )
        if not isinstance(entry, dict):
            raise bad(
                "param.invalid",
                f'{name}.{user}: expected an object {{"cardParamMap": {{...}}}}, found {describe(entry)}',
            )
        params, keys = param_map(entry.get("cardParamMap"), f"{name}.{user}.cardParamMap", value_limit)
        out[user] = params
        coerced.extend(f"{user}.{k}" for k in keys)
    return out, coerced


def dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def parse_open_space_id(value: Any) -> list[tuple[str, str]]:
    """Split an openSpaceId into ``(SPACETYPE, spaceId)`` pairs, the type upper-cased.

    ``dtv1.card//IM_GROUP.cid1;im_robot.user1`` -> ``[("IM_GROUP", "cid1"), ("IM_ROBOT", "user1")]``
    """
    if value is None or value == "":
        raise bad("param.openSpaceIdEmpty", f"openSpaceId is required, found {describe(value)}")
    hint = (
        "expected 'dtv1.card//<SPACETYPE>.<spaceId>[;<SPACETYPE>.<spaceId>...]' with SPACETYPE "
        f"one of {', '.join(SPACE_TYPES)}"
    )
    if not isinstance(value, str):
        raise bad("param.openSpaceIdInvalid", f"openSpaceId: {hint}, found {describe(value)}")
    if not value.startswith(OPEN_SPACE_PREFIX):
        raise bad("param.openSpaceIdInvalid", f"openSpaceId: {hint}, found {shorten(value)}")
    spaces: list[tuple[str, str]] = []
    for part in value[len(OPEN_SPACE_PREFIX) :].split(";"):
        if part == "":
            continue
        space_type, dot, space_id = part.partition(".")
        if not dot or space_id == "" or space_type.upper() not in SPACE_TYPES:
            raise bad("param.openSpaceIdInvalid", f"openSpaceId: {hint}, found part {shorten(part)}")
        spaces.append((space_type.upper(), space_id))
    if not spaces:
        raise bad("param.openSpaceIdInvalid", f"openSpaceId: {hint}, found {shorten(value)}")
    return spaces


def parse_user_id_type(body: dict[str, Any]) -> int:
    value = body.get("userIdType")
    if value is None:
        return 1
    if isinstance(value, bool) or value not in (1, 2):
        raise bad("param.invalid", f"userIdType: expected 1 (userId) or 2 (unionId), found {describe(value)}")
    return int(value)


def str_list(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad("param.invalid", f"{name}: expected an array of strings, found {describe(value)}")
    return list(value)
