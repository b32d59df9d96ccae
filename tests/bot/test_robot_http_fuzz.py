"""Seeded fuzz of the HTTP-mode robot (issue 23: "the fuzz suite gains the HTTP-mode robot"):
signed bodies whose every field takes odd values, broken and hostile JSON, odd headers, on
both routes. Every answer is JSON with a status below 500, nothing is logged with a traceback,
and a good message afterwards is still answered."""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import open_harness
from fakeding.core.callbacks import card_sign, robot_sign
from fakeding.core.settings import DEFAULT_CLIENT_SECRET
from tests.bot.robot_kit import events, is_final
from tests.bot.test_robot_http_hardening import encoded, message, raw_post, robot_url

ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    1e308,
    "",
    "x" * 5000,
    "\u0000",
    "😀",
    "\ud83d",
    [],
    [1, [2]],
    {},
    {"a": {"b": None}},
    "https://evil.example/hook",
    "http://127.0.0.1:1/x",
    "2",
    "12",
]
FIELDS = [
    "msgId",
    "msgtype",
    "text",
    "conversationType",
    "conversationId",
    "senderStaffId",
    "senderNick",
    "robotCode",
    "sessionWebhook",
    "content",
    "isInAtList",
    "chatbotUserId",
]


def odd_body(rng: random.Random, base: dict[str, Any]) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:  # one field odd
        data = dict(base, **{rng.choice(FIELDS): rng.choice(ODD_VALUES)})
        return json.dumps(data).encode()
    if kind == 1:  # several fields odd, some removed
        data = dict(base)
        for name in rng.sample(FIELDS, 4):
            if rng.random() < 0.3:
                data.pop(name, None)
            else:
                data[name] = rng.choice(ODD_VALUES)
        return json.dumps(data).encode()
    raw = json.dumps(base).encode()  # (ASCII: a lone surrogate travels as \\ud83d)
    if kind == 2:  # cut anywhere
        return raw[: rng.randrange(len(raw))]
    if kind == 3:  # a byte changed
        i = rng.randrange(len(raw))
        return raw[:i] + bytes([rng.randrange(256)]) + raw[i + 1 :]
    if kind == 4:  # deep or wide
        depth = rng.choice([10, 63, 64, 65, 1000, 50_000])
        return b'{"msgId": "deep", "x": ' + b"[" * depth + b"]" * depth + b"}"
    return rng.choice(
        [
            b"",
            b"null",
            b"[]",
            b'"text"',
            b"NaN",
            b'{"msgId": Infinity}',
            b'{"msgId": "\\udc00"}',
            b"\xef\xbb\xbf{}",
            b'{"a": 1' + b"0" * 5000 + b"}",
        ]
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.fakeding_virtual
async def test_signed_fuzz_never_gets_a_server_error_and_the_robot_keeps_answering(
    seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(seed)

    with caplog.at_level(logging.INFO):
        async with open_harness(agent=ScriptedAgent([{"chunks": ["ok"]}] * 100), robot={"mode": "http"}) as h:
            url = robot_url(h)
            card_url = url.rstrip("/") + "/card" if not url.endswith("/") else url + "card"
            statuses: set[int] = set()
            for i in range(80):
                ts = str(round(h.fake.clock.time() * 1000) + i)
                if rng.random() < 0.2:  # odd headers
                    ts = rng.choice(["", "abc", "1" * 400, "-1", "1e3", " 1", "１２３"])
                if rng.random() < 0.5:
                    target = url
                    headers = {"timestamp": ts, "sign": robot_sign(ts, DEFAULT_CLIENT_SECRET)}
                    raw = odd_body(rng, message(h, f"msgFuzz{seed}x{i}", "Hi"))
                else:
                    target = card_url
                    headers = {
                        "x-ddpaas-signature-timestamp": ts,
                        "x-ddpaas-signature": card_sign(ts, DEFAULT_CLIENT_SECRET),
                    }
                    raw = odd_body(
                        rng,
                        {
                            "type": "actionCallback",
                            "outTrackId": f"card{i}",
                            "userId": "u1",
                            "content": rng.choice(["{}", "not json", '{"cardPrivateData": 1}', "\ud83d"]),
                        },
                    )
                headers = {k: v.encode().decode("latin-1") for k, v in headers.items()}
                answer = await raw_post(target, headers, raw)
                statuses.add(answer.status)
                assert answer.status < 500, (raw[:200], answer)
                assert answer.content_type == "application/json", (raw[:200], answer)
                parsed = answer.json()
                assert isinstance(parsed, dict), answer
                if answer.status >= 400:
                    assert isinstance(parsed.get("error"), str) and parsed["error"], answer
                    assert len(parsed["error"]) < 2000, answer
            assert {400, 401} <= statuses, statuses
            await h.settle()
            good = await raw_post(
                url,
                {
                    "timestamp": (ts := str(round(h.fake.clock.time() * 1000))),
                    "sign": robot_sign(ts, DEFAULT_CLIENT_SECRET),
                },
                encoded(message(h, f"msgAfter{seed}", "Where are invoices?")),
            )
            assert good.status == 200, good
            await h.settle()
            assert f"msgAfter{seed}" in [e.fields["msg"] for e in events(h, "message")]
            finals = [
                c
                for c in h.fake.platform.cards.all()
                if "Where are invoices?" in json.dumps(c.current, ensure_ascii=False)
            ]
            assert len(finals) == 1 and is_final(finals[0].current)

    crashed = [
        r.getMessage()
        for r in caplog.records
        if r.exc_info or "never retrieved" in r.getMessage() or "Error handling request" in r.getMessage()
    ]
    assert crashed == []
