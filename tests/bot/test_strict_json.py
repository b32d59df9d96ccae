"""``bot.core.strict_json``: what Python's json accepts but no store or peer can use is refused
with the field named (pure)."""

from __future__ import annotations

import json

import pytest

from bot.core import strict_json
from bot.core.strict_json import MAX_DEPTH, JsonRefused


def test_ordinary_json_passes_unchanged() -> None:
    raw = '{"a": [1, 2.5, "这是 😀", null, true], "b": {"c": "d"}}'
    assert strict_json.loads(raw) == {"a": [1, 2.5, "这是 😀", None, True], "b": {"c": "d"}}
    assert strict_json.loads(raw.encode()) == strict_json.loads(raw)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"text": {"content": "hi \\ud83d"}}', "field text.content holds a lone UTF-16 surrogate"),
        (b'{"list": ["ok", "\\udc00"]}', "field list[1] holds a lone UTF-16 surrogate"),
        (b'{"\\ud83d": 1}', "field <key> holds a lone UTF-16 surrogate"),
        (b'{"n": NaN}', "NaN is not standard JSON"),
        (b'{"n": -Infinity}', "-Infinity is not standard JSON"),
        (b'{"n": 1' + b"0" * 5000 + b"}", "is not JSON"),
        (b"\xff{}", "is not UTF-8"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b"{", "is not JSON"),
    ],
)
def test_what_no_peer_can_use_is_refused_naming_it(raw: bytes, words: str) -> None:
    with pytest.raises(JsonRefused, match="^body") as refused:
        strict_json.loads(raw)
    assert words in str(refused.value)


def test_nesting_up_to_the_limit_passes_and_one_more_is_refused_naming_the_field() -> None:
    def nested(levels: int) -> str:
        return '{"a": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"

    strict_json.loads(nested(MAX_DEPTH))
    with pytest.raises(JsonRefused, match=f"deeper than {MAX_DEPTH} levels") as refused:
        strict_json.loads(nested(MAX_DEPTH + 1))
    assert "field a[0][0]" in str(refused.value)


@pytest.mark.parametrize(
    "value",
    [
        {"text": {"content": "这是 😀"}, "atUsers": [{"id": "u"}]},
        {"text": {"content": "hi \ud83d"}},
        {"\udc00": 1},
        {"a": "{[" * MAX_DEPTH},  # brackets inside strings: walked, and accepted
        json.loads('{"a": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"),
        json.loads('{"a": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"),
    ],
)
def test_dumps_checked_refuses_what_check_refuses_and_is_the_json_text(value: object) -> None:
    """The screen in C never lets through what the walk refuses, with the same words."""
    try:
        strict_json.check(value, what="robot message")
    except JsonRefused as walked:
        with pytest.raises(JsonRefused) as screened:
            strict_json.dumps_checked(value, what="robot message")
        assert str(screened.value) == str(walked)
    else:
        assert strict_json.dumps_checked(value, what="robot message") == json.dumps(value, ensure_ascii=False)
