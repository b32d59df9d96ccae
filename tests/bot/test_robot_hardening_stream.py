"""Issue 23's robot findings outside HTTP mode: a card callback whose ``content`` is not JSON
is acked, not a crash; SIGTERM while another process holds the SQLite store locked ends within
``shutdownDeadline`` and says what was left."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import subprocess
from pathlib import Path

import dingtalk_stream
import pytest

from bot.agents.scripted import ScriptedAgent
from bot.im_robots.dingtalk_stream.connection import StreamConnection
from bot.scenario_adapter import open_harness
from fakeding import ThreadedFakeDing
from fakeding.core.stream.protocol import TOPIC_CARD_CALLBACK
from tests.bot.robot_kit import only_card, records, violations

from .robust_kit import ask, instance, is_final, robot_env, start_robot


@pytest.mark.parametrize("content", ["not json {", "", 42, {"cardPrivateData": "x"}])
@pytest.mark.fakeding_virtual
async def test_a_card_callback_whose_content_is_not_json_text_is_acked_and_logged(
    content: object, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        async with open_harness(agent=ScriptedAgent([{"chunks": ["Within 14 days."]}])) as h:
            h.fake.send_message("Can I get a refund?", conversation_id="cidOdd", staff_id="alice")
            await h.settle()
            card = only_card(h)
            frame = h.fake.push(
                TOPIC_CARD_CALLBACK,
                {
                    "type": "actionCallback",
                    "outTrackId": card.id,
                    "corpId": "corp",
                    "userId": "alice",
                    "content": content,
                },
            )
            await asyncio.sleep(1.0)
            acks = [r for r in records(h, "ack") if r.fields["messageId"] == frame]
            assert [a.fields["code"] for a in acks] == [200], records(h, "ack")
            assert h.robot.store is not None and h.robot.store.feedback() == []
            assert is_final(card.current) and violations(h) == []
            assert h.robot_task is not None and not h.robot_task.done()

    said = [r.getMessage() for r in caplog.records if "acked and ignored" in r.getMessage()]
    assert said and "content is not JSON" in said[0], [r.getMessage() for r in caplog.records]
    assert not any("never retrieved" in r.getMessage() or r.exc_info for r in caplog.records)


def test_sigterm_while_another_process_holds_the_store_locked_honours_the_deadline(
    fakeding: ThreadedFakeDing, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    folder = instance(tmp_path, shutdownDeadline=3)
    log = tmp_path / "robot.log"
    robot = start_robot(folder, robot_env(fakeding), log)
    processes.append(robot)
    fakeding.wait_for("connect", timeout=30)
    ask(fakeding, "How do I reset my password?", "kim")
    fakeding.wait_until(
        lambda: any(is_final(c["versions"][-1]["cardData"]) for c in fakeding.fake.cards()),
        timeout=30,
        what="kim's card final",
    )
    holder = sqlite3.connect(tmp_path / "robot.sqlite3", timeout=10)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # a backup or a sqlite3 shell holding the file
        robot.send_signal(signal.SIGTERM)
        # 3 s deadline; the rest is room for a loaded machine (it took 19-30 s before)
        code = robot.wait(15)
    finally:
        holder.rollback()
        holder.close()
    output = log.read_text()
    assert code == 0, output
    assert "deadline of 3 s passed while the store at" in output, output
    assert "delivered again by the platform" in output
    assert "Traceback" not in output


@pytest.mark.fakeding_virtual
async def test_a_metrics_connection_whose_request_head_never_ends_is_closed() -> None:
    from urllib.parse import urlsplit

    from bot.metrics import IDLE_TIMEOUT

    async with open_harness(agent=ScriptedAgent([]), robot={"metricsPort": 0}) as h:
        assert h.robot.exporter is not None and h.robot.exporter.url is not None
        where = urlsplit(h.robot.exporter.url)
        reader, writer = await asyncio.open_connection(where.hostname, where.port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        await writer.drain()
        start = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(IDLE_TIMEOUT + 30):
                assert await reader.read() == b""
        finally:
            writer.close()
        assert asyncio.get_running_loop().time() - start <= IDLE_TIMEOUT + 1  # (virtual s)


@pytest.mark.parametrize("text", ['"hi \\ud83d"', "[" * 70 + "]" * 70])
@pytest.mark.fakeding_virtual
async def test_a_stream_message_with_a_lone_surrogate_or_deep_nesting_is_acked_not_a_crash(
    text: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The fake cannot send such a frame (it refuses to encode one), the real platform can: the
    frame goes through the SDK's own parsing into the robot's registered handler."""

    with caplog.at_level(logging.INFO):
        async with open_harness(agent=ScriptedAgent([{"chunks": ["ok"]}])) as h:
            data = (
                '{"msgId": "msgOdd", "msgtype": "text", "conversationType": "1", '
                '"conversationId": "cidOdd", "senderStaffId": "u1", "robotCode": "r", '
                '"text": {"content": ' + text + "}}"
            )
            frame = dingtalk_stream.CallbackMessage.from_dict(
                {
                    "specVersion": "1.0",
                    "type": "CALLBACK",
                    "data": data,
                    "headers": {"topic": dingtalk_stream.ChatbotMessage.TOPIC, "messageId": "f1"},
                }
            )
            handler = h.robot.message_handler()
            assert await handler.process(frame) == (200, "OK")
            await h.settle()
            assert h.fake.platform.cards.all() == []
            assert h.robot.store is not None and h.robot.store.progress("r:msgOdd") is None

    said = [r.getMessage() for r in caplog.records if "acked and not answered" in r.getMessage()]
    assert said and "robot message" in said[0], [r.getMessage() for r in caplog.records]


@pytest.mark.fakeding_virtual
async def test_a_frame_nested_deeper_than_json_parses_is_acked_on_the_live_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        async with open_harness(agent=ScriptedAgent([{"chunks": ["ok"]}])) as h:
            deep = '{"msgId": "m", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
            frame = {
                "specVersion": "1.0",
                "type": "CALLBACK",
                "data": deep,
                "headers": {
                    "topic": dingtalk_stream.ChatbotMessage.TOPIC,
                    "messageId": "frameDeep1",
                    "contentType": "application/json",
                },
            }
            connection = h.robot.connection
            assert isinstance(connection, StreamConnection)
            async with asyncio.timeout(30):  # (the fake sees the socket before the robot does)
                await connection.connected.wait()
            await connection.background_task(frame)
            await asyncio.sleep(1.0)
            # the fake never pushed that frame, so the ack it got is one it does not know
            assert any("ack for unknown messageId 'frameDeep1'" in v for v in violations(h))
            assert h.fake.platform.cards.all() == []

    said = [r.getMessage() for r in caplog.records if "nested too deeply" in r.getMessage()]
    assert said and "frameDeep1" in said[0]
    assert not any(r.exc_info for r in caplog.records)
