"""Strict JSON for what the robot is sent over HTTP: a body it cannot store or answer is refused
up front with a reason naming the field, never turned into a 500 later (pure).

Python's ``json`` accepts three things no other program can rely on: ``NaN``/``Infinity``,
lone UTF-16 surrogates (``"\\ud83d"``: a string cut inside an emoji; SQLite and every encoder
refuse it later) and nesting deep enough to exhaust the stack (``RecursionError``).
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # objects and arrays nested deeper than this are refused


class JsonRefused(ValueError):
    """The text is not JSON this robot accepts; ``str()`` says what and where."""


def _no_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not standard JSON: expected a number or a string")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
# ``json.dumps(value, ensure_ascii=False)``, minus the encoder json.dumps builds per call when
# given any option: what the robot's hot path encodes with (bodies, cards, stored payloads)
dumps = json.JSONEncoder(ensure_ascii=False).encode


def loads(raw: bytes | str, *, what: str = "body", max_depth: int = MAX_DEPTH) -> Any:
    """``raw`` parsed, or ``JsonRefused`` naming the problem (and the field, for a bad string
    or too deep a nesting)."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonRefused(f"{what} is not UTF-8 (byte {exc.start}: {exc.reason})") from None
    else:
        text = raw
    try:
        value = _DECODER.decode(text)
    except JsonRefused as exc:
        raise JsonRefused(f"{what}: {exc}") from None
    except RecursionError:
        raise JsonRefused(
            f"{what} is nested too deeply to parse: expected at most {max_depth} levels"
        ) from None
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
        raise JsonRefused(f"{what} is not JSON ({exc})") from None
    check(value, what=what, max_depth=max_depth)
    return value


def dumps_checked(value: Any, *, what: str = "body", max_depth: int = MAX_DEPTH) -> str:
    """``json.dumps(value, ensure_ascii=False)`` of a value ``check`` accepts, else
    ``JsonRefused`` as ``check`` raises it. The text is screened first, in C: without a lone
    surrogate (it then encodes as UTF-8) and with at most ``max_depth`` brackets (each object or
    array has one) it cannot hold what ``check`` refuses, so the walk is left for the rare rest."""
    try:
        text = dumps(value)
    except RecursionError:  # nested deeper than the encoder goes: check names where
        check(value, what=what, max_depth=max_depth)
        raise
    if text.count("{") + text.count("[") > max_depth or not _encodes(text):
        check(value, what=what, max_depth=max_depth)
    return text


def _encodes(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a surrogate code point: only check can say which field
        return False
    return True


def check(value: Any, *, what: str = "body", max_depth: int = MAX_DEPTH) -> None:
    """Refuse lone surrogates (in keys and strings) and nesting deeper than ``max_depth``,
    naming the field; iterative, so any depth is safe to walk."""
    todo: list[tuple[Any, str, int]] = [(value, "", 0)]
    while todo:
        item, path, depth = todo.pop()
        if isinstance(item, str):
            _check_text(item, what, path or "(the value)")
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise JsonRefused(
                    f"{what} field {path or '(top)'} is nested deeper than "
                    f"{max_depth} levels: expected flatter JSON"
                )
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, sub in pairs:
                sub_path = (
                    f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
                )
                if isinstance(key, str):
                    _check_text(key, what, f"{path}{'.' if path else ''}<key>")
                todo.append((sub, sub_path, depth + 1))


def _check_text(text: str, what: str, path: str) -> None:
    if text.isascii():
        return
    for i, ch in enumerate(text):
        if "\ud800" <= ch <= "\udfff":
            raise JsonRefused(
                f"{what} field {_shown(path)} holds a lone UTF-16 surrogate "
                f"(\\u{ord(ch):04x} at character {i}): expected whole characters (a string cut "
                "inside an emoji?)"
            )


def _shown(path: str) -> str:
    """A field path as it can be logged: a key holding a surrogate is shown escaped."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")[:200]
