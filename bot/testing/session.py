"""This robot running beside a fake: built from the demo instance, recording into the fake.

``BotSession`` is what the scenario engine drives; ``open_harness`` is the same robot for the
robot's own tests and benchmarks, with a custom agent or store and ``h.robot`` at hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from bot.agents.base import Agent
from bot.core.i18n import LOCALES
from bot.elements import ELEMENTS_DIR
from bot.im_robots.dingtalk_stream.config import CARD_MODES, KEYS, RobotConfig, validate
from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings
from fakeding.server import FakeDing
from fakeding.testing.scenarios.harness import EPOCH, Harness, attached, running_fake

DEMO_INSTANCE = ELEMENTS_DIR / "imRobots.dingTalkDemo"

_STRING = {"type": "string"}
_COUNT = {"type": "integer", "minimum": 1}
_SECONDS = {"type": "number", "exclusiveMinimum": 0}
OPTION_TYPES: dict[str, dict[str, Any]] = {
    "clientId": _STRING,
    "clientSecret": _STRING,
    "endpoint": _STRING,
    "store": _STRING,
    "locale": {"enum": list(LOCALES)},
    "agent": {"type": ["string", "object"]},
    "maxUpdates": _COUNT,
    "updateBatch": _COUNT,
    "maxQuestionChars": _COUNT,
    "maxCardChars": _COUNT,
    "memoryTurns": _COUNT,
    "retryAttempts": _COUNT,
    "qpsBurst": _COUNT,
    "updateInterval": _SECONDS,
    "qps": _SECONDS,
    "agentTimeout": _SECONDS,
    "memoryTtl": _SECONDS,
    "streamIdleTimeout": {"anyOf": [_SECONDS, {"type": "null"}]},
    "cardMode": {"enum": list(CARD_MODES)},
    "aiCardTemplateId": _STRING,
    "mode": {"enum": ["stream", "http"]},
    "cardCallbackUrl": _STRING,
}
OPTIONS_SCHEMA: dict[str, Any] = {  # a scenario's robot: mapping, keys as in config.json
    "type": "object",
    "additionalProperties": False,
    "properties": {key: OPTION_TYPES.get(key, {}) for key in KEYS},
}


def build_robot(
    fake: FakeDing,
    options: Mapping[str, Any],
    *,
    agent: Agent | None = None,
    store: Path,
    seed: int = 0,
    tag: Mapping[str, Any] | None = None,
) -> DingTalkStreamRobot:
    """The demo instance's robot pointed at ``fake``, on its clock, recording ``bot.<kind>``
    (with ``tag`` fields added) into the fake's recorder. ``options`` use config.json keys
    (snake_case field names work too) and override the demo's defaults."""
    recorder = fake.recorder
    extra = dict(tag or {})

    def observe(t: float, kind: str, fields: dict[str, Any]) -> None:
        recorder.add(t, "bot." + kind, **fields, **extra)

    values: dict[str, Any] = {
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "endpoint": fake.http_url,
        "store": str(store),
        "base_dir": DEMO_INSTANCE,
        "agent": "faq",
        "http_port": 0,
    }  # mode "http": any free port
    values.update({KEYS.get(k, k): v for k, v in options.items()})
    cfg = validate(RobotConfig(**values), DEMO_INSTANCE / "config.json")
    return DingTalkStreamRobot(cfg, clock=fake.clock, agent=agent, observer=observe, seed=seed)


class BotSession:
    """One ``DingTalkStreamRobot`` run as a task on the fake's loop."""

    def __init__(self, fake: FakeDing, robot: DingTalkStreamRobot) -> None:
        self.fake = fake
        self.robot = robot
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.ensure_future(self.robot.run())
        while not self._up():  # no virtual time passes while I/O runs
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0)
        if self.robot.cfg.mode == "http":  # the app's messages are POSTed to the robot
            url = getattr(self.robot.connection, "url", None)
            self.fake.add_app(self.robot.cfg.client_id, self.robot.cfg.client_secret, callback_url=url)

    def _up(self) -> bool:
        if self.robot.cfg.mode == "http":
            conn = self.robot.connection
            return conn is not None and conn.connected.is_set()
        return bool(self.fake.stream.live_connections())

    def busy(self) -> bool:
        return bool(self.pending())

    def pending(self) -> list[asyncio.Future[Any]]:
        """The robot's work and, in HTTP mode, the platform's POSTs to it."""
        posts: list[asyncio.Future[Any]] = list(self.fake.http_callbacks.pending())
        return [task for task in self.robot.tasks if not task.done()] + posts

    async def aclose(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self.robot.aclose()


class BotHarness(Harness):
    """A harness whose session is this robot: ``h.robot`` and ``h.robot_task`` for tests."""

    @property
    def bot(self) -> BotSession:
        assert isinstance(self.session, BotSession)
        return self.session

    @property
    def robot(self) -> DingTalkStreamRobot:
        return self.bot.robot

    @property
    def robot_task(self) -> asyncio.Task[None] | None:
        return self.bot.task


@contextlib.asynccontextmanager
async def open_harness(
    *,
    settings: Settings | None = None,
    robot: dict[str, Any] | None = None,
    agent: Any = None,
    store_dir: Path | None = None,
    seed: int = 0,
    epoch: float | None = EPOCH,
    connect: bool = True,
) -> AsyncIterator[BotHarness]:
    """A running fake and a connected robot on the current (virtual-time) loop."""
    async with running_fake(settings, seed=seed, epoch=epoch) as fake:
        with contextlib.ExitStack() as stack:
            if store_dir is None:
                store_dir = Path(
                    stack.enter_context(tempfile.TemporaryDirectory(prefix="fakeding-scenario-"))
                )
            bot = build_robot(fake, robot or {}, agent=agent, store=store_dir / "robot.sqlite3", seed=seed)
            async with attached(BotHarness(fake, BotSession(fake, bot)), connect=connect) as h:
                yield h
