"""The robot's HTTP mode under what a real network and an attacker send (issue 23): bodies split
over TCP segments, over-size bodies, replayed signatures, foreign session webhooks, a clock
corrected after start, bodies no strict parser accepts and request heads that never end.

Requests go over raw loopback sockets (``asyncio.open_connection``) to the robot's own server,
so each byte arrives the way the test sends it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import bot.clock
from bot.agents.scripted import ScriptedAgent
from bot.im_robots.dingtalk_stream import http_mode
from bot.im_robots.dingtalk_stream.config import RobotConfig
from bot.im_robots.dingtalk_stream.http_mode import MAX_BODY, ReplayGuard, webhook_refusal
from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot
from bot.scenario_adapter import BotHarness, open_harness
from bot.testing.session import DEMO_INSTANCE
from fakeding.core.callbacks import card_sign, robot_sign
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from fakeding.testing import running_fake
from tests.bot.robot_kit import events, is_final, only_card, violations

QUESTION = "请问我的发票在哪里可以下载？我上个月在贵公司购买了三件商品，" * 30  # ~2.6 KB in UTF-8


class Answer:
    def __init__(self, status: int, content_type: str, body: bytes) -> None:
        self.status, self.content_type, self.body = status, content_type, body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.content_type!r}, {self.body[:300]!r})"


async def raw_post(
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    pieces: int = 1,
    pause: float = 0.05,
    length: int | None = None,
) -> Answer:
    """POST over a raw socket: the head, then ``body`` in ``pieces`` writes ``pause`` s apart
    (``length``: a Content-Length to declare instead of the body's, and send no body)."""
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    try:
        head = [
            f"POST {where.path} HTTP/1.1",
            f"Host: {where.netloc}",
            "Connection: close",
            "Content-Type: application/json",
            f"Content-Length: {len(body) if length is None else length}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await writer.drain()
        if length is None:
            size = max(1, -(-len(body) // pieces))
            for start in range(0, len(body), size):
                await asyncio.sleep(pause)
                writer.write(body[start : start + size])
                await writer.drain()
        async with asyncio.timeout(60):
            raw = await reader.read()
    finally:
        writer.close()
    head_text, _, payload = raw.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return Answer(int(lines[0].split()[1]), fields.get("Content-Type", ""), payload)


def message(h: BotHarness, msg_id: str, text: str = QUESTION, **changes: Any) -> dict[str, Any]:
    return {
        "msgId": msg_id,
        "msgtype": "text",
        "text": {"content": text},
        "conversationType": "1",
        "conversationId": f"cid{msg_id}",
        "senderStaffId": "u1",
        "senderNick": "U",
        "chatbotUserId": "bot",
        "robotCode": DEFAULT_CLIENT_ID,
        "sessionWebhook": h.fake.http_url + "/robot/sendBySession?session=none",
        **changes,
    }


def signed(h: BotHarness, *, ms: int | None = None) -> dict[str, str]:
    ts = str(round(h.fake.clock.time() * 1000) if ms is None else ms)
    return {"timestamp": ts, "sign": robot_sign(ts, DEFAULT_CLIENT_SECRET)}


def robot_url(h: BotHarness) -> str:
    url = getattr(h.robot.connection, "url", None)
    assert isinstance(url, str)
    return url


def http_harness(agent: Any = None) -> contextlib.AbstractAsyncContextManager[BotHarness]:
    """The robot in HTTP mode, on the test's virtual-time loop."""
    return open_harness(
        agent=agent or ScriptedAgent([{"chunks": ["Under Billing."]}] * 5), robot={"mode": "http"}
    )


def encoded(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


# -- item 1: bodies read whole, to a cap ---------------------------------------------------------
@pytest.mark.fakeding_virtual
async def test_a_message_split_over_several_tcp_segments_is_read_whole_and_answered() -> None:
    async with http_harness() as h:
        raw = encoded(message(h, "msgSplit"))
        assert len(raw) > 2000
        answer = await raw_post(robot_url(h), signed(h), raw, pieces=4)
        assert (answer.status, answer.json()) == (200, {}), answer
        await h.settle()
        assert [e.fields["msg"] for e in events(h, "message")] == ["msgSplit"]
        assert is_final(only_card(h).current)


@pytest.mark.fakeding_virtual
async def test_a_card_click_split_over_several_tcp_segments_is_read_whole_and_recorded() -> None:
    async with http_harness() as h:
        sent = h.fake.send_message("Can I get a refund?", conversation_id="cidSplitClick", staff_id="alice")
        await h.settle()
        card = only_card(h)
        assert card.callback_url is not None
        ts = str(round(h.fake.clock.time() * 1000))
        content = json.dumps(
            {
                "cardPrivateData": {
                    "actionIds": ["feedback_helpful"],
                    "params": {"action": "feedback", "rating": "helpful", "msgId": sent.msg_id},
                },
                "note": "很有帮助" * 300,
            }
        )
        raw = encoded(
            {
                "type": "actionCallback",
                "outTrackId": card.id,
                "corpId": "corp",
                "userId": "alice",
                "content": content,
            }
        )
        assert len(raw) > 2000
        answer = await raw_post(
            card.callback_url,
            {"x-ddpaas-signature-timestamp": ts, "x-ddpaas-signature": card_sign(ts, DEFAULT_CLIENT_SECRET)},
            raw,
            pieces=3,
        )
        assert answer.status == 200, answer
        await h.settle()
        assert h.robot.store is not None
        assert [(v.user_id, v.rating) for v in h.robot.store.feedback()] == [("alice", "helpful")]


@pytest.mark.fakeding_virtual
async def test_an_oversized_body_gets_a_413_json_error_before_it_is_read() -> None:
    async with http_harness() as h:
        answer = await raw_post(robot_url(h), signed(h), b"", length=MAX_BODY + 1)
        assert answer.status == 413 and answer.content_type == "application/json", answer
        assert f"body larger than {MAX_BODY} bytes" in answer.json()["error"]
        sent = encoded(message(h, "msgHuge", text="x" * (MAX_BODY + 10)))
        answer = await raw_post(robot_url(h), signed(h), sent, pieces=2)
        assert answer.status == 413 and "error" in answer.json(), answer
        assert events(h, "message") == []


# -- item 2: replays, webhooks, the clock, strict bodies ----------------------------------------
@pytest.mark.fakeding_virtual
async def test_a_replayed_signature_is_refused_as_a_replay() -> None:
    async with http_harness() as h:
        url, headers = robot_url(h), signed(h)
        first = await raw_post(url, headers, encoded(message(h, "msgR1", "Hi")))
        assert first.status == 200, first
        again = await raw_post(url, headers, encoded(message(h, "msgR1", "Hi")))
        assert again.status == 409 and "replay" in again.json()["error"], again
        # two messages of one millisecond share a signature: the second one passes at once
        twin = await raw_post(url, headers, encoded(message(h, "msgR2", "Hello")))
        assert twin.status == 200, twin
        await asyncio.sleep(30.0)  # still inside the hour the timestamp is good for
        forged = await raw_post(url, headers, encoded(message(h, "msgEvil", "Spam")))
        assert forged.status == 409, forged
        assert "first used 30 s ago" in forged.json()["error"], forged
        await h.settle()
        assert sorted(e.fields["msg"] for e in events(h, "message")) == ["msgR1", "msgR2"]


@pytest.mark.fakeding_virtual
async def test_a_replayed_card_click_is_refused() -> None:
    async with http_harness() as h:
        sent = h.fake.send_message("Can I get a refund?", conversation_id="cidClickTwice")
        await h.settle()
        card = only_card(h)
        assert card.callback_url is not None
        ts = str(round(h.fake.clock.time() * 1000))
        headers = {
            "x-ddpaas-signature-timestamp": ts,
            "x-ddpaas-signature": card_sign(ts, DEFAULT_CLIENT_SECRET),
        }

        def click(user: str) -> bytes:
            content = json.dumps(
                {
                    "cardPrivateData": {
                        "actionIds": ["feedback_helpful"],
                        "params": {"action": "feedback", "rating": "helpful", "msgId": sent.msg_id},
                    }
                }
            )
            return encoded(
                {
                    "type": "actionCallback",
                    "outTrackId": card.id,
                    "corpId": "c",
                    "userId": user,
                    "content": content,
                }
            )

        assert (await raw_post(card.callback_url, headers, click("alice"))).status == 200
        again = await raw_post(card.callback_url, headers, click("alice"))
        assert again.status == 409 and "replay" in again.json()["error"], again
        await asyncio.sleep(60.0)
        forged = await raw_post(card.callback_url, headers, click("mallory"))
        assert forged.status == 409, forged
        assert h.robot.store is not None
        assert [v.user_id for v in h.robot.store.feedback()] == ["alice"]


def test_the_replay_guard_forgets_after_the_window_and_stays_bounded() -> None:
    guard = ReplayGuard(keep=100.0, reuse=5.0, limit=3)
    assert guard.refusal("s1", "a", 0.0) is None
    assert guard.refusal("s1", "b", 4.0) is None
    assert "replay" in (guard.refusal("s1", "a", 4.5) or "")
    assert "replay" in (guard.refusal("s1", "c", 6.0) or "")
    assert guard.refusal("s1", "a", 101.0) is None, "forgotten after the window"
    for i in range(10):
        guard.refusal(f"x{i}", "k", 102.0)
    assert len(guard._seen) <= 3


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/robot/sendBySession?session=x",
        "https://oapi.dingtalk.com@evil.example/robot/sendBySession",
        "http://oapi.dingtalk.com/robot/sendBySession?session=x",
        "https://oapi.dingtalk.com:8443/robot/sendBySession",
        "https://oapi.dingtalk.com.evil.example/robot/sendBySession",
        "http://127.0.0.1:1/robot/sendBySession",
        "https://oapi.dingtalk.com:99999999/x",
    ],
)
def test_a_session_webhook_off_dingtalks_hosts_is_refused(url: str) -> None:
    why = webhook_refusal(url, "http://127.0.0.1:8080")
    assert why is not None and "sessionWebhook" in why and "oapi.dingtalk.com" in why


@pytest.mark.parametrize(
    "url",
    [
        "https://oapi.dingtalk.com/robot/sendBySession?session=76da36b4c0ffee",
        "https://api.dingtalk.com/robot/sendBySession?session=1",
        "http://127.0.0.1:8080/robot/sendBySession?session=1",
    ],
)
def test_a_session_webhook_on_dingtalk_or_the_endpoint_is_accepted(url: str) -> None:
    assert webhook_refusal(url, "http://127.0.0.1:8080/") is None


@pytest.mark.fakeding_virtual
async def test_a_message_naming_a_foreign_session_webhook_is_refused_and_not_answered() -> None:
    async with http_harness() as h:
        data = message(h, "msgHook", "Hi", sessionWebhook="https://evil.example/hook")
        answer = await raw_post(robot_url(h), signed(h), encoded(data))
        assert answer.status == 400, answer
        assert "sessionWebhook 'https://evil.example/hook'" in answer.json()["error"]
        await h.settle()
        assert events(h, "message") == [] and h.fake.platform.cards.all() == []


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("surrogate", "field text.content holds a lone UTF-16 surrogate"),
        ("deep", "nested"),
        ("nan", "NaN is not standard JSON"),
        ("long timestamp", "at most 15 digits"),
        ("unicode digits", "at most 15 digits"),
        ("not utf-8", "not UTF-8"),
        ("array", "must be a JSON object"),
    ],
)
@pytest.mark.fakeding_virtual
async def test_every_bad_signed_body_gets_a_json_error_naming_what_is_wrong(kind: str, words: str) -> None:
    async with http_harness() as h:
        headers = signed(h)
        raw = encoded(message(h, "msgBad", "Hi"))
        if kind == "surrogate":
            raw = raw.replace(b'"Hi"', b'"Hi \\ud83d"')
        elif kind == "deep":
            raw = b'{"msgId": "m", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        elif kind == "nan":
            raw = raw.replace(b'"Hi"', b"NaN")
        elif kind == "long timestamp":
            ts = "1" * 400
            headers = {"timestamp": ts, "sign": robot_sign(ts, DEFAULT_CLIENT_SECRET)}
        elif kind == "unicode digits":
            ts = "17672256000²"
            headers = {"timestamp": ts, "sign": robot_sign(ts, DEFAULT_CLIENT_SECRET)}
            headers = {k: v.encode().decode("latin-1") for k, v in headers.items()}
        elif kind == "not utf-8":
            raw = raw.replace(b'"Hi"', b'"\xff\xfe"')
        elif kind == "array":
            raw = b"[1, 2]"
        answer = await raw_post(robot_url(h), headers, raw)
        assert answer.status in (400, 401), answer
        assert answer.content_type == "application/json", answer
        assert words in answer.json()["error"], answer
        await h.settle()
        assert events(h, "message") == [] and h.fake.platform.cards.all() == []


def test_a_clock_two_hours_off_at_start_and_corrected_later_is_believed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The system clock is 2 h fast when the robot starts, then NTP corrects it: the robot
    refuses meanwhile (the platform's timestamps look 2 h old) and accepts right after."""

    class Wall:  # the ``time`` module as bot.clock reads it
        offset = 7200.0

        def time(self) -> float:
            return time.time() + self.offset

        def monotonic(self) -> float:
            return time.monotonic()

    wall = Wall()
    monkeypatch.setattr(bot.clock, "time", wall)

    async def main() -> None:
        async with running_fake(None, epoch=None) as fake:
            cfg = RobotConfig(
                DEFAULT_CLIENT_ID,
                DEFAULT_CLIENT_SECRET,
                endpoint=fake.http_url,
                store=str(tmp_path / "robot.sqlite3"),
                base_dir=DEMO_INSTANCE,
                agent="faq",
                mode="http",
                http_port=0,
            )
            robot = DingTalkStreamRobot(cfg, agent=ScriptedAgent([{"chunks": ["ok"]}] * 2))
            task = asyncio.ensure_future(robot.run())
            try:
                async with asyncio.timeout(30):
                    while robot.connection is None or not robot.connection.connected.is_set():
                        await asyncio.sleep(0.01)
                robot.clock.time()  # (read at start, as the robot's upkeep does)
                url = getattr(robot.connection, "url", "")

                def post(msg_id: str) -> Awaitable[Answer]:
                    ts = str(round(time.time() * 1000))
                    data = {
                        "msgId": msg_id,
                        "msgtype": "text",
                        "text": {"content": "hi"},
                        "conversationType": "1",
                        "conversationId": "cidClock",
                        "senderStaffId": "u1",
                        "robotCode": DEFAULT_CLIENT_ID,
                        "sessionWebhook": fake.http_url + "/robot/sendBySession?s=1",
                    }
                    return raw_post(
                        url, {"timestamp": ts, "sign": robot_sign(ts, DEFAULT_CLIENT_SECRET)}, encoded(data)
                    )

                early = await post("msgClock1")
                assert early.status == 403 and "behind" in early.json()["error"], early
                wall.offset = 0.0  # NTP steps the clock back
                late = await post("msgClock2")
                assert late.status == 200, late
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await robot.aclose()

    asyncio.run(main())


# -- item 4: connections that never finish their request head -----------------------------------
@pytest.mark.parametrize(
    "head",
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: appli",  # never finished
        b"POST / HTTP/1.1\nHost: x\nContent-Length: 2\n",  # LF-only, never a blank line
        b"",  # connected, silent
    ],
)
@pytest.mark.fakeding_virtual
async def test_a_connection_whose_request_head_never_ends_is_closed(head: bytes) -> None:
    async with http_harness() as h:
        where = urlsplit(robot_url(h))
        reader, writer = await asyncio.open_connection(where.hostname, where.port)
        writer.write(head)
        await writer.drain()
        start = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(http_mode.IDLE_TIMEOUT + 30):
                rest = await reader.read()
        finally:
            writer.close()
        waited = asyncio.get_running_loop().time() - start
        assert waited <= http_mode.IDLE_TIMEOUT + 1, waited  # (virtual seconds)
        assert b"200" not in rest
        assert violations(h) == []
