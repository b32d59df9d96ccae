"""Helpers to drive the real robot against the fake platform on a virtual-time loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from bot.scenario_adapter import EPOCH, BotHarness, open_harness, run_virtual
from fakeding.core.cards import Card
from fakeding.core.recorder import Record
from fakeding.core.settings import Settings

T = TypeVar("T")

SEND_ROUTE = "POST /v1.0/im/v1.0/robot/interactiveCards/send"
UPDATE_ROUTE = "PUT /v1.0/im/robots/interactiveCards"
QPS_CODE = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"

# What users read, written out here on purpose (not taken from bot.core.i18n): the tests pin
# the sentences themselves.
THINKING = {
    "en": "[Thinking] Analyzing your question, please wait...",
    "zh": "[思考]正在分析您的问题，请稍候...",
}
LABELS = {
    "en": ["😄 Very Helpful", "😊 Helpful", "🙂 Somewhat Helpful", "😅 Not Helpful"],
    "zh": ["😄 非常有帮助", "😊 有帮助", "🙂 帮助不大", "😅 没帮助"],
}
RATINGS = ["very_helpful", "helpful", "somewhat_helpful", "not_helpful"]
AGENT_ERROR = (
    "⚠️ Sorry, the assistant ran into an error. Any partial answer above is kept; "
    "please send your question again in a moment."
)


def agent_timeout_notice(seconds: str) -> str:
    return (
        f"⚠️ Sorry, the assistant took longer than {seconds} s to answer. Any partial "
        "answer above is kept; please send your question again in a moment."
    )


def play(
    body: Callable[[BotHarness], Awaitable[T]],
    *,
    settings: Settings | None = None,
    robot: dict[str, Any] | None = None,
    agent: Any = None,
    store_dir: Path | None = None,
    seed: int = 0,
) -> T:
    """Open a harness on a fresh virtual-time loop, run ``body`` in it, return its result.

    Tests mark themselves ``@pytest.mark.fakeding_virtual`` and open the harness inline
    (``async with open_harness(...) as h:``) instead; this stays for code that calls it."""

    async def main() -> T:
        async with open_harness(
            settings=settings, robot=robot, agent=agent, store_dir=store_dir, seed=seed
        ) as h:
            return await body(h)

    return run_virtual(main)


def records(h: BotHarness, *kinds: str) -> list[Record]:
    wanted = set(kinds)
    return [r for r in h.fake.recorder.records if not wanted or r.kind in wanted]


def events(h: BotHarness, name: str) -> list[Record]:
    """The robot's own ``bot.<name>`` events."""
    return records(h, "bot." + name)


def api_calls(h: BotHarness, route: str, *, status: int | None = None) -> list[Record]:
    return [
        r
        for r in records(h, "api")
        if r.fields.get("route") == route and (status is None or r.fields.get("status") == status)
    ]


def violations(h: BotHarness) -> list[str]:
    return [str(r) for r in records(h, "violation")]


def cards(h: BotHarness) -> list[Card]:
    return h.fake.platform.cards.all()


def only_card(h: BotHarness) -> Card:
    found = cards(h)
    assert len(found) == 1, f"expected exactly one card, found {len(found)}"
    return found[0]


def contents(card_data: dict[str, Any]) -> list[dict[str, Any]]:
    found = card_data.get("contents")
    assert isinstance(found, list), f"card data without a contents list: {card_data!r}"
    return found


def markdown(card_data: dict[str, Any], element_id: str) -> str | None:
    for element in contents(card_data):
        if element.get("type") == "markdown" and element.get("id") == element_id:
            return str(element["text"])
    return None


def is_final(card_data: dict[str, Any]) -> bool:
    return any(e.get("id") == "feedback" and e.get("type") == "action" for e in contents(card_data))


def updates(card: Card) -> list[dict[str, Any]]:
    """The card data of every update the robot made (not the first send)."""
    return [v.card_data for v in card.versions if v.source == "update"]


def streaming_texts(card: Card) -> list[str]:
    """Answer text of every update before the final one."""
    return [str(markdown(d, "answer")) for d in updates(card) if not is_final(d)]


def webhook_texts(h: BotHarness, conversation_id: str) -> list[str]:
    """Markdown bodies the robot sent through the session webhook into a conversation."""
    return [
        e["text"]
        for e in h.fake.transcript(conversation_id)
        if e["who"] == "bot" and e["kind"] == "webhook:markdown"
    ]


def api_request(record: Record) -> dict[str, Any]:
    request = record.fields.get("request")
    assert isinstance(request, dict), f"api record without a request body: {record}"
    return request


def card_data_of(request: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request["cardData"])
    return data


async def restart_robot(h: BotHarness, agent: Any) -> tuple[Any, asyncio.Task[None]]:
    """Stop the harness's robot and start a new one with its configuration (so its SQLite
    file); the new robot's events are recorded as ``bot.*`` with ``robot="restarted"``."""
    from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot

    assert h.robot_task is not None
    h.robot_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await h.robot_task
    await h.robot.aclose()

    def observe(t: float, kind: str, fields: dict[str, Any]) -> None:
        h.fake.recorder.add(t, "bot." + kind, **fields, robot="restarted")

    robot = DingTalkStreamRobot(h.robot.cfg, clock=h.fake.clock, agent=agent, observer=observe, seed=1)
    task = asyncio.ensure_future(robot.run())
    before = len(records(h, "connect"))
    while len(records(h, "connect")) == before:
        assert not task.done(), "the restarted robot stopped before connecting"
        await asyncio.sleep(0)
    return robot, task


async def stop_robot(robot: Any, task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await robot.aclose()


def wall(t: float) -> float:
    """Wall-clock stamp (seconds since the epoch) of virtual second ``t``."""
    return EPOCH + t
