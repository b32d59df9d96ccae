"""JSON at the fake's edges: strict parsing of what comes in, safe copies of what is recorded.

Incoming bodies and frames are parsed by ``loads``, which refuses what a JSON peer cannot
rely on, each with a reason that names the problem: bytes that are not UTF-8, text that is
not JSON, ``NaN``/``Infinity``, lone UTF-16 surrogates (``"\\ud83d"``: valid JSON, but no
valid Unicode, so no other program could answer or store it) and nesting deeper than
``MAX_DEPTH``.

Everything the recorder keeps goes through ``clean``: standard JSON only (invalid Unicode
replaced with U+FFFD and marked, non-finite numbers and foreign types turned into text), each
string clipped to ``MAX_CHARS``, nesting cut at ``MAX_DEPTH``, and secrets masked by key and
by value (``is_secret``: the platform's app secrets, issued tokens and tickets). So no input
can poison a later read of the timeline.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 32  # objects and arrays nested deeper than this are refused (and cut when recorded)
MAX_CHARS = 2000  # a recorded string longer than this keeps its head and says how much was cut
INVALID_UNICODE = " [invalid unicode replaced]"
_SURROGATES = re.compile("[\ud800-\udfff]")
_SECRET_WORDS = ("secret", "token", "ticket", "password", "apikey", "signature", "sign")


class BadJson(ValueError):
    """Input the fake refuses; ``str()`` says what is wrong and where."""


def _no_constant(name: str) -> Any:
    raise BadJson(f"{name} is not standard JSON; send a number or a string")


def loads(raw: bytes | str, *, what: str = "body") -> Any:
    """Parse ``raw`` strictly (see the module docstring); raise ``BadJson`` naming the problem."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadJson(f"{what} is not UTF-8 (byte {exc.start}: {exc.reason})") from None
    else:
        text = raw
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadJson(f"{what} is nested deeper than {MAX_DEPTH} levels") from None
    except BadJson:
        raise
    except ValueError as exc:
        raise BadJson(f"{what} is not JSON ({exc})") from None
    _check(value, what)
    return value


def _check(value: Any, what: str) -> None:
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATES.search(item):
                raise BadJson(f"{what}{where} holds invalid unicode (a lone UTF-16 surrogate); "
                              "send UTF-8 text")
        elif isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                raise BadJson(f"{what} is nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for k, v in item.items():
                    stack.append((k, depth + 1, where))
                    stack.append((v, depth + 1, f"{where}.{_clip(k, 40)}"))
            else:
                stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(item))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…(+{len(text) - limit} chars)"


def text(value: str, limit: int = MAX_CHARS) -> str:
    """A string safe to record: valid Unicode (replacements marked), at most ``limit`` chars."""
    if not value.isascii() and _SURROGATES.search(value):
        value = _SURROGATES.sub("\ufffd", value) + INVALID_UNICODE
    return _clip(value, limit)


@functools.lru_cache(maxsize=4096)  # field names repeat in every record
def secret_key(key: str) -> bool:
    """Whether a field name means a secret, in any spelling (``ClientSecret``, ``client_secret``)."""
    k = key.lower().replace("_", "").replace("-", "")
    return any(word in k for word in _SECRET_WORDS) and k not in ("signaturetimestamp",)


def mask(value: Any) -> str:
    return "***" if not isinstance(value, str) or len(value) < 8 else value[:4] + "…***"


def clean(value: Any, is_secret: Callable[[str], bool] | None = None, _depth: int = 0) -> Any:
    """A recordable copy of ``value`` (see the module docstring)."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        if is_secret is not None and len(value) >= 8 and is_secret(value):
            return mask(value)
        return text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if _depth >= MAX_DEPTH:
        return f"…(nested deeper than {MAX_DEPTH} levels)"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = text(k if isinstance(k, str) else str(k), 200)
            out[key] = mask(v) if secret_key(key) and v not in (None, "") else clean(
                v, is_secret, _depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [clean(v, is_secret, _depth + 1) for v in value]
    return text(str(value))


def dumps(value: Any) -> str:
    """Standard JSON text (what the control API and the JSON-lines timeline serve)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False)
