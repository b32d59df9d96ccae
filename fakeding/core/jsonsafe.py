"""JSON at the fake's edges: strict parsing of what comes in, safe copies of what is recorded.

Incoming bodies and frames are parsed by ``loads``, which refuses what a JSON peer cannot
rely on, each with a reason that names the problem: bytes that are not UTF-8, text that is
not JSON, ``NaN``/``Infinity``, lone UTF-16 surrogates (``"\\ud83d"``: valid JSON, but no
valid Unicode, so no other program could answer or store it) and nesting deeper than
``MAX_DEPTH``.

JSON carried inside a string field (``cardData``, ``msgParam``...) is parsed by the same
``loads`` with ``what`` naming the field, so it meets the same rules as the body around it.

Everything the recorder keeps goes through ``clean``: standard JSON only (invalid Unicode
replaced with U+FFFD and marked, non-finite numbers and foreign types turned into text), each
string clipped to ``MAX_CHARS``, nesting cut at ``MAX_DEPTH``, and secrets masked by key and
by value (``is_secret``: the platform's app secrets, issued tokens and tickets). So no input
can poison a later read of the timeline. What the read routes serve goes through
``dumps_readable``: whatever was stored (by any path, in any version) still encodes as JSON.
Values echoed in error messages go through ``echo``, so a huge value comes back as its head.
"""

from __future__ import annotations

import functools
import json
import math
import re
from _json import make_encoder
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

MAX_DEPTH = 32  # objects and arrays nested deeper than this are refused (and cut when recorded)
MAX_CHARS = 2000  # a recorded string longer than this keeps its head and says how much was cut
INVALID_UNICODE = " [invalid unicode replaced]"
_SURROGATES = re.compile("[\ud800-\udfff]")
# How JSON text spells a surrogate: "\\ud83d" (``_lone_escape`` checks that the backslash
# is not itself escaped). A plain literal search, fast even in text full of escaped quotes.
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_ESCAPED_LOW = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")  # the second half of a pair
_ESCAPED_PAIR = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SECRET_WORDS = ("secret", "token", "ticket", "password", "apikey", "signature", "sign")


class BadJson(ValueError):
    """Input the fake refuses; ``str()`` says what is wrong and where."""


def _no_constant(name: str) -> Any:
    raise BadJson(f"{name} is not standard JSON; send a number or a string")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # built once, not per call
# Its C scanner, called by ``_decode`` directly; and what ``json`` skips around a document.
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_SPACE = re.compile(r"[ \t\n\r]*").match  # ``*``: it always matches (hence the ignores below)


def _decode(text: str) -> Any:
    """``_DECODER.decode(text)``, its errors word for word, without its two Python frames
    (``decode``, ``raw_decode``): every body and JSON-carrying field is parsed here."""
    try:
        value, end = _SCAN(text, _SPACE(text, 0).end())  # type: ignore[union-attr]
    except StopIteration as exc:
        raise json.JSONDecodeError("Expecting value", text, exc.value) from None
    end = _SPACE(text, end).end()  # type: ignore[union-attr]
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def loads(raw: bytes | str, *, what: str = "body") -> Any:
    """Parse ``raw`` strictly (see the module docstring); raise ``BadJson`` naming the problem."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadJson(f"{what} is not UTF-8 (byte {exc.start}: {exc.reason})") from None
        raw_surrogates = False  # strict UTF-8 decoding refuses encoded surrogates
    else:
        text = raw
        raw_surrogates = not text.isascii() and _SURROGATES.search(text) is not None
    try:
        if text.startswith("\ufeff"):  # what json.loads says about a BOM, word for word
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _decode(text)
    except RecursionError:
        raise BadJson(f"{what} is nested deeper than {MAX_DEPTH} levels") from None
    except BadJson as exc:  # NaN or Infinity: say where
        raise BadJson(f"{what}: {exc}") from None
    except ValueError as exc:
        raise BadJson(f"{what} is not JSON ({exc})") from None
    if raw_surrogates or _lone_escape(text):
        _check(value, what)  # the full walk: it names where the surrogate is
    elif _may_nest(text) and _too_deep(value):
        raise BadJson(f"{what} is nested deeper than {MAX_DEPTH} levels")
    return value


def _may_nest(text: str) -> bool:
    """Whether JSON ``text`` has brackets enough to nest ``MAX_DEPTH`` deep (an upper bound:
    brackets inside strings count too); two C-speed counts spare most bodies the walk."""
    return text.count("[") + text.count("{") >= MAX_DEPTH


def _lone_escape(text: str) -> bool:
    """Whether JSON ``text`` escapes a UTF-16 surrogate that does not decode as half of a pair,
    in strings and keys alike. ``json.dumps`` writes every emoji as an escaped pair (high
    ``\\ud83d`` then low ``\\ude04``), which the decoder joins into one character: such text
    is fine and is decided here, on the text, without ``_check``'s walk. An escape's backslash
    follows an even run of backslashes (escaped ones)."""
    if _ESCAPED_SURROGATE.search(text) is None:  # no surrogate escape at all (most bodies): one
        return False  # C-speed pass, faster than a search for "\\u" in text full of \" escapes
    if "\\\\" not in text:  # no escaped backslash: every backslash starts an escape, so
        # dropping the well-formed pairs (one C-speed pass) leaves exactly the lone halves
        return _ESCAPED_SURROGATE.search(_ESCAPED_PAIR.sub("", text)) is not None
    return _lone_escape_walk(text)


def _lone_escape_walk(text: str) -> bool:
    """``_lone_escape`` escape by escape, counting the backslashes before each."""
    paired_low = -1  # where the low half of the last pair starts
    for match in _ESCAPED_SURROGATE.finditer(text):
        at = match.start()
        if at == paired_low:
            continue
        before = at
        while before and text[before - 1] == "\\":
            before -= 1
        if (at - before) % 2:
            continue  # an escaped backslash, then the text "ud8..": no escape
        if text[at + 3] not in "89abAB" or not _ESCAPED_LOW.match(text, at + 6):
            return True  # a low half alone, or a high half not followed by a low one
        paired_low = at + 6
    return False


def _too_deep(value: Any) -> bool:
    """Whether any object or array sits at depth ``MAX_DEPTH`` or deeper (the root is 0).

    Level by level over containers only: the cheap half of ``_check`` for text that cannot
    hold a surrogate."""
    level = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        if depth >= MAX_DEPTH:
            return True
        below: list[Any] = []
        for item in level:
            for v in item.values() if type(item) is dict else item:
                if type(v) in (dict, list):
                    below.append(v)
        level = below
        depth += 1
    return False


def _check(value: Any, what: str) -> None:
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATES.search(item):
                raise BadJson(
                    f"{what}{where} holds invalid unicode (a lone UTF-16 surrogate); send UTF-8 text"
                )
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
    kind = type(value)
    if kind is str:  # the common case first: a short ASCII string is already safe
        if is_secret is not None and len(value) >= 8 and is_secret(value):
            return mask(value)
        return value if len(value) <= MAX_CHARS and value.isascii() else text(value)
    if kind is dict and _depth < MAX_DEPTH:
        out: dict[str, Any] = {}
        keys = _KEYS
        for k, v in value.items():
            entry = keys.get(k) if type(k) is str else None
            if entry is None:
                entry = _key(k)
            key = entry[0]
            vt = type(v)
            if entry[1] and v is not None and v != "":  # a secret's name
                out[key] = mask(v)
            elif vt is str:  # inline, as at the top: no call per string value
                n = len(v)
                if n >= 8 and is_secret is not None and is_secret(v):
                    out[key] = mask(v)
                else:
                    out[key] = v if n <= MAX_CHARS and v.isascii() else text(v)
            elif v is None or vt is int or vt is bool:
                out[key] = v
            else:
                out[key] = clean(v, is_secret, _depth + 1)
        return out
    if kind is list and _depth < MAX_DEPTH:
        return [clean(v, is_secret, _depth + 1) for v in value]
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
        out = {}
        for k, v in value.items():
            key, secret = _key(k)
            out[key] = mask(v) if secret and v not in (None, "") else clean(v, is_secret, _depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [clean(v, is_secret, _depth + 1) for v in value]
    return text(str(value))


# Field names repeat in every record: each str name's recorded form and whether it means a
# secret, worked out once. Bounded, so names made of input cannot grow it without limit.
_KEYS: dict[str, tuple[str, bool]] = {}
_KEYS_MAX = 4096


def _key(k: Any) -> tuple[str, bool]:
    key = text(k if isinstance(k, str) else str(k), 200)
    entry = (key, secret_key(key))
    if type(k) is str:
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        _KEYS[k] = entry
    return entry


def encoder(
    *, compact: bool = False, allow_nan: bool = True, default: Callable[[Any], Any] | None = None
) -> Callable[[Any], str]:
    """``json.JSONEncoder(ensure_ascii=False, ...).encode`` (``compact``: ``separators=(",",
    ":")``), the same text and errors, set up once: the stdlib sets up its C encoder, and a
    closure, on every call, and every reply and frame is encoded. ``markers`` is still a fresh
    dict per call, as the stdlib's, so its circular-reference check stays."""
    item, key = (",", ":") if compact else (", ", ": ")
    default = default or json.JSONEncoder().default  # raises TypeError naming the type

    def encode(value: Any) -> str:
        return "".join(
            make_encoder({}, default, encode_basestring, None, key, item, False, False, allow_nan)(value, 0)
        )

    return encode


def dumps(value: Any) -> str:
    """Standard JSON text (what the control API and the JSON-lines timeline serve)."""
    return _DUMPS(value)


_DUMPS = encoder(allow_nan=False)


# -- what read routes serve and errors echo -------------------------------------------------
ECHO_CHARS = 200  # an echoed value keeps this much of its head
_STRICT = encoder(allow_nan=False, default=str)
_STRICT_COMPACT = encoder(compact=True, allow_nan=False, default=str)


def echo(value: Any, limit: int = ECHO_CHARS) -> str:
    """``repr(value)`` for an error message, at most about ``limit`` chars: a long value keeps
    its head and says how big it was (``'abc…' (900000 bytes)``)."""
    if isinstance(value, str) and len(value) > limit:
        size = len(value.encode("utf-8", "surrogatepass"))
        return f"{text(value[:limit], limit)!r}… ({size} bytes)"
    shown = repr(value)
    if len(shown) > limit:
        return f"{text(shown[:limit], limit)}… ({len(shown)} chars)"
    return text(shown, limit) if not shown.isascii() else shown


def readable(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` that any JSON reader accepts: lone surrogates replaced (U+FFFD),
    non-finite numbers and foreign types as text, nesting cut at ``MAX_DEPTH``. Unlike
    ``clean`` nothing is clipped or masked: it is for serving data as stored."""
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value) if not value.isascii() else value
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (dict, list, tuple)) and _depth >= MAX_DEPTH:
        return f"…(nested deeper than {MAX_DEPTH} levels)"
    if isinstance(value, dict):
        return {
            readable(k if isinstance(k, str) else str(k)): readable(v, _depth + 1) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [readable(v, _depth + 1) for v in value]
    return readable(str(value))


def dumps_readable(value: Any, *, compact: bool = False) -> str:
    """JSON text of ``value`` that encodes as UTF-8 and parses anywhere, whatever it holds
    (see ``readable``); the common case costs one encode and one scan."""
    encode = _STRICT_COMPACT if compact else _STRICT
    try:
        out = encode(value)
    except (ValueError, RecursionError):  # NaN/Infinity, or nested past the encoder's limit
        return encode(readable(value))
    if not out.isascii() and _SURROGATES.search(out):
        return encode(readable(value))
    return out
