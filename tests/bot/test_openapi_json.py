"""The OpenAPI client's JSON: request bodies and answers read exactly as ``json`` would."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.clock import SystemClock
from bot.core import card_json
from bot.im_robots.dingtalk_stream.openapi import OpenApiClient, _dumps, _loads

ANSWERS = [
    b'{"success": true, "result": {"id": 1}}',
    '{"message": "你好 😄"}'.encode(),
    b'{"a": "\\ud800"}',  # an escaped lone surrogate
    b'{"a": "\xed\xa0\x80"}',  # an encoded one (surrogatepass, as json.loads)
    '{"a": "x"}'.encode("utf-16-le"),  # "{" then NUL: not UTF-8
    '{"a": "x"}'.encode("utf-32-le"),
    '{"a": "x"}'.encode("utf-8-sig"),
    b"[1, 2]",
    b"{",
    b"{\x00",
    b"{\xff}",
    b"<html>busy</html>",
]


def outcome(read: Any, raw: bytes) -> Any:
    try:
        return "ok", repr(read(raw))
    except ValueError as exc:  # (UnicodeDecodeError and JSONDecodeError are ValueErrors)
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("raw", ANSWERS)
def test_an_answer_reads_as_json_loads_reads_it(raw: bytes) -> None:
    assert outcome(_loads, raw) == outcome(json.loads, raw)


def test_a_body_is_the_text_json_dumps_makes() -> None:
    body = {"cardBizId": "c1", "cardData": '{"text": "你好 \\"q\\" 😄"}', "n": [1.5, None, True]}
    assert _dumps(body) == json.dumps(body, ensure_ascii=False)


@pytest.mark.parametrize("card_id", ["c1", 'c"\\\n😄'])
def test_an_update_of_a_quoted_card_sends_the_body_a_dict_would(card_id: str) -> None:
    sent: list[tuple[Any, Any]] = []

    class Api(OpenApiClient):
        async def call(self, method: str, path: str, body: Any, **kw: Any) -> Any:
            sent.append((body, kw))

    api = Api(endpoint="http://x", client_id="c", client_secret="s", clock=SystemClock())
    card = ('Q "1"?', "an answer 😄\n", "m1", "zh")
    asyncio.run(api.update_card(card_id, card_json.final_quoted(*card, notice="note")))
    asyncio.run(api.update_card(card_id, card_json.final(*card, notice="note")))
    (quoted, kw_quoted), (plain, kw_plain) = sent
    assert quoted == _dumps(plain).encode() and kw_quoted == kw_plain
