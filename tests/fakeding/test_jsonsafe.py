"""``jsonsafe``'s fast paths give exactly what the plain rules give.

``loads`` skips the per-string surrogate walk when the text cannot hold a lone surrogate, and
``clean`` caches field names and passes short ASCII text through. Each edge of those shortcuts
is checked here, and a corpus of tricky inputs is compared with ``_reference_clean`` /
``_reference_loads``: the rules written plainly (as the module had them before the fast paths),
so any difference in a refusal's text or a recorded value fails.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pytest

from fakeding.core import jsonsafe
from fakeding.core.jsonsafe import MAX_CHARS, MAX_DEPTH, BadJson, clean, loads
from fakeding.core.platform import App, Platform
from fakeding.core.recorder import Recorder
from fakeding.core.settings import Settings

BS = "\\"
SECRET = "s3cr3t-value-of-the-app"


# -- the rules written plainly: the oracle --------------------------------------------------------
def _reference_loads(raw: bytes | str, what: str = "body") -> Any:
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadJson(f"{what} is not UTF-8 (byte {exc.start}: {exc.reason})") from None
    else:
        text = raw
    try:
        value = json.loads(text, parse_constant=jsonsafe._no_constant)
    except RecursionError:
        raise BadJson(f"{what} is nested deeper than {MAX_DEPTH} levels") from None
    except BadJson as exc:
        raise BadJson(f"{what}: {exc}") from None
    except ValueError as exc:
        raise BadJson(f"{what} is not JSON ({exc})") from None
    jsonsafe._check(value, what)
    return value


def _reference_clean(value: Any, is_secret: Callable[[str], bool] | None = None, depth: int = 0) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        if is_secret is not None and len(value) >= 8 and is_secret(value):
            return jsonsafe.mask(value)
        return jsonsafe.text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH:
        return f"…(nested deeper than {MAX_DEPTH} levels)"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = jsonsafe.text(k if isinstance(k, str) else str(k), 200)
            out[key] = (
                jsonsafe.mask(v)
                if jsonsafe.secret_key(key) and v not in (None, "")
                else _reference_clean(v, is_secret, depth + 1)
            )
        return out
    if isinstance(value, (list, tuple)):
        return [_reference_clean(v, is_secret, depth + 1) for v in value]
    return jsonsafe.text(str(value))


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except BadJson as exc:
        return "refused", str(exc)


def _nested(n: int, inner: str = "1") -> str:
    return "[" * n + inner + "]" * n


# -- loads ----------------------------------------------------------------------------------------
LOADS_CORPUS: list[bytes | str] = [
    b'{"a": 1}',
    b"[]",
    b'"x"',
    b"",
    b"nope",
    b"\xff",
    b"NaN",
    b'{"a": -Infinity}',
    "\ufeff{}".encode(),
    "\ufeff{}",
    b'{"t": "' + (BS + "ud83d").encode() + b'"}',  # lone high surrogate
    b'{"t": "' + (BS + "udfff").encode() + b'"}',  # lone low surrogate
    b'{"t": "' + (BS + "uD83D").encode() + b'"}',  # upper-case hex
    b'{"' + (BS + "udc00").encode() + b'": 1}',  # in a key
    b'{"t": "' + (BS * 2 + "ud83d").encode() + b'"}',  # an escaped backslash, then text
    b'{"t": "' + (BS * 3 + "ud83d").encode() + b'"}',  # an escaped backslash, then a surrogate
    b'{"t": "' + (BS * 4 + "ud800").encode() + b'"}',
    b'{"t": "' + (BS + "ud83d" + BS + "ude04").encode() + b'"}',  # a valid pair: an emoji
    b'{"t": "' + (BS + "ude04" + BS + "ud83d").encode() + b'"}',  # a pair the wrong way round
    b'{"t": "' + (BS + '"' + BS + "ud800").encode() + b'"}',
    b'{"t": "' + (BS + "ud7ff" + BS + "ue000").encode() + b'"}',  # just outside the range
    '{"t": "\ud83d"}',  # str input holding a raw surrogate
    '["ok", {"deep": ["\udfff"]}]',
    '{"t": "café ☕"}',
    _nested(MAX_DEPTH).encode(),
    _nested(MAX_DEPTH + 1).encode(),
    _nested(MAX_DEPTH - 1).encode(),
    _nested(MAX_DEPTH + 1, '"' + BS + 'ud800"').encode(),  # too deep and a surrogate
    ('{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH).encode(),
    ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)).encode(),
    ("[" * 40 + "]" * 40).encode(),
    b"[" * 100_000 + b"]" * 100_000,
    json.dumps({"s": "[[[[{{{{" * 20}).encode(),  # brackets inside a string are not nesting
    json.dumps([list(range(3))] * 50).encode(),
    json.dumps({"cardData": json.dumps({"label": "\U0001f604 Very Helpful"})}).encode(),
    # escaped pairs are decided on the text (issue 21 item 6): every mix of halves
    json.dumps({"a": ["\U0001f604"] * 5, "\U0001f60a": {"b": "x\U0001f642y"}}).encode(),
    b'"' + (BS + "ud83d" + BS + "ude04" + BS + "ud83d").encode() + b'"',  # a pair, then a lone high
    b'"' + (BS + "ud83d" + BS + "ude04" + BS + "ude04").encode() + b'"',  # a pair, then a lone low
    b'"' + (BS + "ud83d" + BS + "ud83d" + BS + "ude04").encode() + b'"',  # a lone high, then a pair
    b'"' + (BS + "uD83D" + BS + "uDE04").encode() + b'"',  # a pair in upper case
    b'"' + (BS + "ud83d" + BS + "u0041").encode() + b'"',  # a high half, then no low one
    b'"' + (BS + "ud83d").encode() + b'"',  # a high half at the very end
    b'"' + (BS + "ud83d" + BS * 2 + "ude04").encode() + b'"',  # the low half's backslash escaped
    b'"' + (BS * 2 + "ud83d" + BS + "ude04").encode() + b'"',  # text, then a lone low half
    _nested(MAX_DEPTH + 1, json.dumps("\U0001f604")).encode(),  # too deep, with a valid pair
    _nested(MAX_DEPTH - 1, json.dumps("\U0001f604")).encode(),
    ("[" * (MAX_DEPTH - 1) + "{}" + "]" * (MAX_DEPTH - 1)).encode(),  # brackets exactly at the bound
    json.dumps({"s": "[" * 40, "t": [[1]]}).encode(),  # many brackets in a string, shallow
    # where json's own decode() puts whitespace and trailing data (loads scans without it)
    b' \t\r\n{"a": 1} \n',
    b"  ",
    b"{} x",
    b"1 2",
    b"[1]\x0b",
    b'{"a": }',
    b"-",
]


@pytest.mark.parametrize("raw", LOADS_CORPUS, ids=range(len(LOADS_CORPUS)))
def test_loads_matches_the_plain_rules(raw: bytes | str) -> None:
    assert _outcome(lambda: loads(raw)) == _outcome(lambda: _reference_loads(raw))


def test_an_escaped_lone_surrogate_is_still_refused_with_its_place() -> None:
    with pytest.raises(BadJson) as exc:
        loads(b'{"a": {"b": ["ok", "' + (BS + "ud83d").encode() + b'"]}}', what="frame")
    assert str(exc.value) == ("frame.a.b[1] holds invalid unicode (a lone UTF-16 surrogate); send UTF-8 text")


def test_an_escaped_backslash_before_u_is_text_not_a_surrogate() -> None:
    assert loads(b'{"path": "C:' + (BS * 2 + "ud83d").encode() + b'"}') == {"path": "C:" + BS + "ud83d"}


def test_a_valid_surrogate_pair_is_accepted() -> None:
    assert loads(b'"' + (BS + "ud83d" + BS + "ude04").encode() + b'"') == "\U0001f604"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, MAX_DEPTH + 5, 5000])
def test_nesting_deeper_than_max_depth_is_refused_with_the_same_words(depth: int) -> None:
    for raw in (_nested(depth), '{"k":' * depth + "0" + "}" * depth):
        with pytest.raises(BadJson) as exc:
            loads(raw.encode(), what="body")
        assert str(exc.value) == f"body is nested deeper than {MAX_DEPTH} levels"


def test_max_depth_itself_is_accepted() -> None:
    assert loads(_nested(MAX_DEPTH).encode()) is not None


def test_a_bom_is_refused_as_json_loads_words_it() -> None:
    with pytest.raises(BadJson) as exc:
        loads("\ufeff{}".encode())
    assert str(exc.value) == (
        "body is not JSON (Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0))"
    )


# -- clean ----------------------------------------------------------------------------------------
def _secret(value: str) -> bool:
    return value in (SECRET, "tok-0123456789")


CLEAN_CORPUS: list[Any] = [
    None,
    True,
    False,
    0,
    -7,
    2**70,
    1.5,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "short",
    "é",
    "x" * MAX_CHARS,
    "x" * (MAX_CHARS + 1),
    "é" * (MAX_CHARS + 3),
    "a\ud83db",
    "\udfff" * 5,
    SECRET,
    "tok-0123456789",
    SECRET[:7],
    ("a" * 7),
    {"k": "v", "n": 1, "f": 2.0, "z": None, "b": True, "l": [1, "two", None, {"x": "y"}]},
    {
        "clientSecret": "abc",
        "client_secret": "",
        "ClientSecret": None,
        "appSecret": 0,
        "access_token": SECRET,
        "Token": ["a", "b"],
        "signatureTimestamp": "12345678",
        "x-sign": False,
        "password": {"nested": 1},
    },
    {"k" * 250: "long key", "é" * 201: 1, "\ud83d": "surrogate key", "secret" + "x" * 300: "s"},
    {1: "int key", None: "none key", 2.5: "float key", (1, 2): "tuple key"},
    {"plain": SECRET, "list": [SECRET, "ok"], "deep": {"deeper": SECRET}},
    {"short": "abc", "seven": "1234567", "eight": "12345678"},
    (1, "tuple", SECRET),
    OrderedDict(a=1, token="zzzzzzzzzz"),
    {"set": {1, 2}},
    object,
    b"bytes",
    bytearray(b"ba"),
]


def _deep(n: int) -> Any:
    value: Any = "leaf"
    for i in range(n):
        value = {"k": value} if i % 2 else [value]
    return value


@pytest.mark.parametrize(
    "value",
    CLEAN_CORPUS + [_deep(MAX_DEPTH - 1), _deep(MAX_DEPTH), _deep(MAX_DEPTH + 1), _deep(80)],
    ids=range(len(CLEAN_CORPUS) + 4),
)
def test_clean_matches_the_plain_rules(value: Any) -> None:
    for is_secret in (None, _secret):
        got = clean(value, is_secret)
        want = _reference_clean(value, is_secret)
        assert json.dumps(got, ensure_ascii=False, allow_nan=False) == json.dumps(
            want, ensure_ascii=False, allow_nan=False
        )
        assert got == want


def test_a_secret_value_in_a_short_string_is_still_masked() -> None:
    # eight characters: the shortest value the check looks at, and past the inline shortcut
    assert clean({"note": "ab12cd34"}, lambda s: s == "ab12cd34") == {"note": "ab12…***"}
    assert clean(["ab12cd34"], lambda s: s == "ab12cd34") == ["ab12…***"]
    assert clean("ab12cd34", lambda s: s == "ab12cd34") == "ab12…***"


def test_a_key_that_needs_clipping_is_clipped_every_time() -> None:
    key = "k" * 300
    for _ in range(3):  # the second and third time the cached form is used
        out = clean({key: 1})
        (only,) = out
        assert only == "k" * 200 + "…(+100 chars)"


def test_a_surrogate_key_is_replaced_and_marked_every_time() -> None:
    for _ in range(2):
        assert clean({"a\udc00": 1}) == {"a\ufffd" + jsonsafe.INVALID_UNICODE: 1}


def test_the_key_cache_stays_bounded() -> None:
    for i in range(jsonsafe._KEYS_MAX + 10):
        clean({f"field{i}": i})
    assert len(jsonsafe._KEYS) <= jsonsafe._KEYS_MAX
    assert clean({"field3": "x", "apiKey": "12345678"}) == {"field3": "x", "apiKey": "1234…***"}


# -- the platform's secrets, as the recorder uses them ------------------------------------------------
def _platform() -> tuple[Platform, Recorder]:
    p = Platform(Settings())
    p.add_app("app-one", "first-secret-1")
    return p, p.recorder


def test_an_app_whose_secret_changes_is_masked_by_its_new_secret_and_its_old_one() -> None:
    p, rec = _platform()
    before = rec.add(0.0, "api", note="first-secret-1")  # fields made when first read: after
    p.apps["app-one"].client_secret = "rotated-secret-2"  # set directly, as tests do
    r = rec.add(0.0, "api", note="rotated-secret-2", old="first-secret-1")
    assert r.fields == {"note": "rota…***", "old": "firs…***"}
    assert before.fields == {"note": "firs…***"}


def test_a_re_registered_app_is_masked_by_its_new_secret() -> None:
    p, rec = _platform()
    p.add_app("app-one", "third-secret-3")
    assert rec.add(0.0, "api", note="third-secret-3").fields == {"note": "thir…***"}
    made = rec.add(0.0, "api", note="third-secret-3")
    p.apps.pop("app-one")  # an app gone: what was recorded while it was here stays masked
    assert made.fields == {"note": "thir…***"}
    assert rec.add(0.0, "api", note="first-secret-1").fields == {"note": "firs…***"}


def test_an_app_put_into_the_platform_directly_is_masked_by_its_secret() -> None:
    p, rec = _platform()
    spare = App("app-two", "spare-secret-4", "app-id", "robot", "user")
    assert rec.add(0.0, "api", note="spare-secret-4").fields == {"note": "spare-secret-4"}
    p.apps["app-one"] = spare  # built before, swapped in without add_app
    assert rec.add(0.0, "api", note="spare-secret-4").fields == {"note": "spar…***"}
    assert rec.add(0.0, "api", note="first-secret-1").fields == {"note": "firs…***"}  # swapped out: still one


def test_tokens_and_tickets_are_masked_as_issued() -> None:
    p, rec = _platform()
    token, _ = p.issue_token(0.0, "app-one", "first-secret-1")
    ticket = p.open_connection(
        0.0, {"clientId": "app-one", "clientSecret": "first-secret-1", "subscriptions": []}
    )
    fields = rec.add(0.0, "api", a=token, b=[ticket], c={"d": "first-secret-1"}).fields
    assert fields == {"a": jsonsafe.mask(token), "b": [jsonsafe.mask(ticket)], "c": {"d": "firs…***"}}


def _escape_texts() -> list[str]:
    """JSON-ish texts mixing escaped surrogate halves, pairs, escaped backslashes and quotes."""
    halves = [BS + "ud83d", BS + "ude04", BS + "uD83D", BS + "uDE04"]
    parts = [*halves, BS + "u0041", BS * 2, BS + '"', "x", "ud83d"]
    return [f'"{a}{b}{c}"' for a in parts for b in parts for c in parts]


@pytest.mark.parametrize("with_backslashes", [False, True])
def test_lone_escape_shortcuts_agree_with_the_escape_by_escape_walk(with_backslashes: bool) -> None:
    texts = [t for t in _escape_texts() if (BS * 2 in t) == with_backslashes]
    assert texts
    for text in texts:
        assert jsonsafe._lone_escape(text) == jsonsafe._lone_escape_walk(text), text


# -- encoder: json's encode, set up once ------------------------------------------------------------
def _circular() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


ENCODE_CORPUS: list[Any] = [
    "text",
    "é\ud800",
    {"a": [1, 2.5, None, True, {"b": "☕"}], 1: "int key", None: "null key"},
    [float("nan"), float("inf")],
    10**30,
    ("a", 1),
    _circular(),
    {"x": object()},
    {(1,): "tuple key"},
]


@pytest.mark.parametrize("value", ENCODE_CORPUS, ids=range(len(ENCODE_CORPUS)))
@pytest.mark.parametrize(
    "options",
    [{}, {"compact": True}, {"allow_nan": False}, {"compact": True, "allow_nan": False, "default": str}],
    ids=["plain", "compact", "strict", "readable"],
)
def test_encoder_writes_and_refuses_as_json_dumps_does(value: Any, options: dict[str, Any]) -> None:
    ref = dict(options)
    if ref.pop("compact", False):
        ref["separators"] = (",", ":")
    reference = json.JSONEncoder(ensure_ascii=False, **ref).encode

    def outcome(encode: Callable[[Any], str]) -> tuple[str, str]:
        try:
            return "ok", encode(value)
        except (TypeError, ValueError) as exc:
            return type(exc).__name__, str(exc)

    assert outcome(jsonsafe.encoder(**options)) == outcome(reference)
