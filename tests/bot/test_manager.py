"""The robot on a background thread: start, a warned second start, stop within 5 s."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.elements import ELEMENTS_DIR
from bot.im_robots.dingtalk_stream.config import RobotConfig
from bot.im_robots.dingtalk_stream.manager import ClientManager
from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot
from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing

GATEWAY = "POST /v1.0/gateway/connections/open"
INTERRUPTED = (
    "⚠️ The assistant was restarted while answering. Any partial answer above is "
    "kept; please send your question again."
)


def make_robot(
    fake: ThreadedFakeDing, tmp_path: Path, agent: ScriptedAgent | None = None
) -> DingTalkStreamRobot:
    cfg = RobotConfig(
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        endpoint=fake.http_url,
        store=str(tmp_path / "robot.sqlite3"),
        base_dir=ELEMENTS_DIR / "imRobots.dingTalkDemo",
    )
    return DingTalkStreamRobot(cfg, agent=agent or ScriptedAgent([{"chunks": ["Hi."]}] * 3))


def timed_stop(robot: DingTalkStreamRobot | ClientManager) -> float:
    started = time.monotonic()
    robot.stop()
    return time.monotonic() - started


def gateway_calls(fake: ThreadedFakeDing) -> list[dict[str, object]]:
    return [r for r in fake.timeline(["api"]) if r["route"] == GATEWAY]


def final_card(fake: ThreadedFakeDing) -> dict[str, object]:
    def final() -> dict[str, object] | None:  # runs on the fake's own loop
        for card in fake.fake.cards():
            data = card["versions"][-1]["cardData"]
            if any(e.get("id") == "feedback" for e in data.get("contents", [])):
                return dict(data)
        return None

    found: dict[str, object] = fake.wait_until(final, timeout=10, what="a final card")
    return found


def test_start_connects_answers_and_stop_disconnects(fakeding: ThreadedFakeDing, tmp_path: Path) -> None:
    robot = make_robot(fakeding, tmp_path)
    assert not robot.is_running
    robot.start()
    try:
        assert robot.is_running
        fakeding.wait_for("connect")
        fakeding.send_message("Hello?", staff_id="alice")
        data = final_card(fakeding)
        assert data["contents"][0]["text"] == "Hi."  # type: ignore[index]
    finally:
        elapsed = timed_stop(robot)
    assert elapsed < 5.0
    assert not robot.is_running
    fakeding.wait_for("disconnect")
    assert len(gateway_calls(fakeding)) == 1


def _named(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def test_a_second_start_warns_and_does_not_open_a_second_client(
    fakeding: ThreadedFakeDing, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    robot = make_robot(fakeding, tmp_path)
    robot.start()
    try:
        fakeding.wait_for("connect")
        threads = _named(robot.manager.name)
        with caplog.at_level(logging.WARNING, logger="bot.manager"):
            robot.start()
        warnings = [r for r in caplog.records if r.name == "bot.manager"]
        assert [r.levelno for r in warnings] == [logging.WARNING]
        assert "already running" in warnings[0].getMessage()
        # No sleep to prove the absence: a client runs only on a thread of the manager's name,
        # and the second start made none (so nothing can call the gateway later).
        assert _named(robot.manager.name) == threads
        assert len(gateway_calls(fakeding)) == 1
        assert len(fakeding.timeline(["connect"])) == 1
        assert robot.is_running
    finally:
        assert timed_stop(robot) < 5.0
    assert not robot.is_running


def test_stop_with_an_answer_in_flight_returns_within_5_s_and_finishes_the_card(
    fakeding: ThreadedFakeDing, tmp_path: Path
) -> None:
    robot = make_robot(
        fakeding, tmp_path, ScriptedAgent([{"chunks": ["Let ", "me ", "think", "...", " "], "hang": True}])
    )
    robot.start()
    try:
        fakeding.wait_for("connect")
        fakeding.send_message("A hard one?", staff_id="alice")
        fakeding.wait_for("card.update")  # five chunks: the partial answer is on the card
    finally:
        elapsed = timed_stop(robot)
    assert elapsed < 5.0
    assert not robot.is_running
    data = final_card(fakeding)
    texts = {e.get("id"): e.get("text") for e in data["contents"]}  # type: ignore[attr-defined]
    assert texts["answer"] == "Let me think... "
    assert texts["notice"] == INTERRUPTED


def test_stop_before_start_is_harmless(fakeding: ThreadedFakeDing, tmp_path: Path) -> None:
    robot = make_robot(fakeding, tmp_path)
    assert timed_stop(robot) < 5.0
    assert not robot.is_running


def test_the_robot_can_be_started_again_after_a_stop(fakeding: ThreadedFakeDing, tmp_path: Path) -> None:
    robot = make_robot(fakeding, tmp_path)
    robot.start()
    fakeding.wait_for("connect")
    assert timed_stop(robot) < 5.0
    robot.start()
    try:
        fakeding.wait_for("connect", count=2, timeout=5)
        assert robot.is_running
        fakeding.send_message("Back again?", staff_id="alice")
        final_card(fakeding)
    finally:
        assert timed_stop(robot) < 5.0


def test_stop_returns_within_5_s_even_if_closing_hangs() -> None:
    async def run() -> None:
        await asyncio.Event().wait()

    async def close() -> None:
        await asyncio.Event().wait()  # never finishes

    manager = ClientManager(run, close, name="stuck")
    manager.start()
    assert manager.is_running
    assert timed_stop(manager) < 5.0
    assert not manager.is_running


def test_a_robot_that_crashes_stops_running_and_keeps_the_error(caplog: pytest.LogCaptureFixture) -> None:
    closed: list[bool] = []

    async def run() -> None:
        raise RuntimeError("boom")

    async def close() -> None:
        closed.append(True)

    manager = ClientManager(run, close, name="crashy")
    with caplog.at_level(logging.ERROR, logger="bot.manager"):
        manager.start()
        deadline = time.monotonic() + 5.0
        while manager.is_running and time.monotonic() < deadline:
            time.sleep(0.01)
    assert not manager.is_running
    assert isinstance(manager.error, RuntimeError)
    assert closed == [True]
    assert any("boom" in r.getMessage() for r in caplog.records if r.name == "bot.manager")
