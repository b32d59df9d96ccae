"""This robot's adapter for the fakeding scenario engine (entry point ``fakeding.robots``:
``bot = "bot.scenario_adapter:adapter"``).

A scenario's ``robot:`` mapping takes config.json keys (``agent``, ``locale``, ``maxUpdates``,
``agentTimeout``...); with no ``agent`` the robot answers from the steps' ``answer:`` blocks.
The pieces live in ``bot.testing``; ``open_harness`` and ``BotHarness`` are re-exported for
the robot's own tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.testing import report
from bot.testing.scripted import ANSWER_SCHEMA, ScenarioAgent, scenario_agent
from bot.testing.session import (
    DEMO_INSTANCE,
    OPTIONS_SCHEMA,
    BotHarness,
    BotSession,
    build_robot,
    open_harness,
)
from fakeding.testing.scenarios.harness import EPOCH, run_virtual
from fakeding.testing.scenarios.robots import Refs, RobotAdapter, RobotContext

if TYPE_CHECKING:
    from fakeding.core.cards import Card
    from fakeding.core.recorder import Record
    from fakeding.server import FakeDing
    from fakeding.testing.scenarios.robots import RunFacts

__all__ = [
    "DEMO_INSTANCE",
    "EPOCH",
    "BotAdapter",
    "BotHarness",
    "BotSession",
    "ScenarioAgent",
    "adapter",
    "open_harness",
    "run_virtual",
]


class BotAdapter:
    """``DingTalkStreamRobot`` from the demo instance, answering with the scenario's script."""

    name = "bot"
    options_schema: dict[str, Any] = OPTIONS_SCHEMA
    answer_schema: dict[str, Any] | None = ANSWER_SCHEMA
    expectation_schema: Mapping[str, dict[str, Any]] = report.EXPECTATION_SCHEMA
    record_prefix = report.PREFIX
    summary_kinds: Mapping[str, str] = report.SUMMARY_KINDS

    def open(self, fake: FakeDing, ctx: RobotContext) -> BotSession:
        options = dict(ctx.options)
        agent = None
        if options.setdefault("agent", "scripted") == "scripted":
            agent = scenario_agent(ctx.steps)
            options["agent"] = "faq"  # the config needs a valid name; the script is injected
        robot = build_robot(fake, options, agent=agent, store=ctx.tmp / "robot.sqlite3", seed=ctx.seed)
        return BotSession(fake, robot)

    def expectations(self, result: RunFacts) -> dict[str, int]:
        return report.expectations(result)

    def describe(self, record: Record, refs: Refs) -> str | None:
        return report.describe(record, refs)

    def card_state(self, card_data: Any) -> str:
        return report.card_state(card_data)

    def is_final(self, card: Card) -> bool:
        return report.is_final(card)


adapter: RobotAdapter = BotAdapter()  # typed so mypy checks the protocol is met
