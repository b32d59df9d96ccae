"""``DingTalkStreamRobot``: the Type element's backend, wiring config, store, agent, OpenAPI
client, Stream connection and handlers.

``run()`` is the robot on the caller's event loop (scenarios run it beside the fake in virtual
time); ``start()``/``stop()`` run it on a background thread through ``ClientManager``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dingtalk_stream

from ...agents import build_agent
from ...agents.base import Agent
from ...clock import Clock, LoopClock
from ...store import Store
from ..meta import ImRobot
from .config import RobotConfig, check_live_credentials, load_config
from .connection import StreamConnection
from .conversation import Responder
from .handlers import FeedbackHandler, LoggingEventHandler, MessageHandler, spawner
from .manager import ClientManager
from .openapi import OpenApiClient

log = logging.getLogger("bot.robot")
Observer = Callable[[float, str, dict[str, Any]], None]


class DingTalkStreamRobot(ImRobot):
    def __init__(self, config: RobotConfig, *, clock: Clock | None = None,
                 agent: Agent | None = None, observer: Observer | None = None,
                 seed: int = 0) -> None:
        self.cfg = config
        self.clock = clock or LoopClock()
        self._agent = agent
        self.observer = observer
        self.seed = seed
        self.tasks: set[asyncio.Task[Any]] = set()
        self.connection: StreamConnection | None = None
        self.api: OpenApiClient | None = None
        self.store: Store | None = None
        self.manager = ClientManager(self.run, self.aclose, name=f"robot-{config.client_id}")

    @classmethod
    def from_instance(cls, instance_dir: Path, *, env: Mapping[str, str] | None = None,
                      **overrides: Any) -> DingTalkStreamRobot:
        kwargs = {k: overrides.pop(k) for k in ("clock", "agent", "observer", "seed")
                  if k in overrides}
        return cls(load_config(instance_dir, env=env, **overrides), **kwargs)

    def emit(self, kind: str, **fields: Any) -> None:
        log.debug("%s %s", kind, fields)
        if self.observer is not None:
            self.observer(self.clock.monotonic(), kind, fields)

    def _on_event(self, kind: str, fields: dict[str, Any]) -> None:
        self.emit(kind, **fields)

    def build(self) -> StreamConnection:
        cfg = self.cfg
        if cfg.is_live:
            check_live_credentials(cfg)
        rng = random.Random(self.seed)
        self.store = Store(cfg.store_path(), self.clock)
        agent = self._agent or build_agent(cfg.agent, base_dir=cfg.base_dir, locale=cfg.locale)
        self.api = OpenApiClient(endpoint=cfg.endpoint, client_id=cfg.client_id,
                                 client_secret=cfg.client_secret, clock=self.clock, qps=cfg.qps,
                                 attempts=cfg.retry_attempts, rng=rng, on_event=self._on_event)
        responder = Responder(config=cfg, api=self.api, agent=agent, store=self.store,
                              clock=self.clock, emit=self.emit)
        spawn = spawner(self.tasks)
        conn = StreamConnection(self.api, rng=rng, idle_timeout=cfg.stream_idle_timeout,
                                on_event=self._on_event)
        conn.register_callback_handler(
            dingtalk_stream.ChatbotMessage.TOPIC,
            MessageHandler(config=cfg, responder=responder, store=self.store, spawn=spawn,
                           emit=self.emit))
        conn.register_callback_handler(
            dingtalk_stream.CallbackHandler.TOPIC_CARD_CALLBACK,
            FeedbackHandler(config=cfg, responder=responder, store=self.store, spawn=spawn,
                            emit=self.emit))
        conn.register_all_event_handler(LoggingEventHandler())
        self.connection = conn
        return conn

    async def run(self) -> None:
        """Connect and serve until cancelled or ``aclose``d."""
        conn = self.connection or self.build()
        log.info("robot %s connecting to %s", self.cfg.client_id, self.cfg.endpoint)
        pruner = asyncio.ensure_future(self._prune_forever())
        try:
            await conn.start()
        finally:
            pruner.cancel()

    async def _prune_forever(self, every: float = 3600.0) -> None:
        """Expired dedup keys and memory leave the SQLite file hourly, so it stays small."""
        while self.store is not None:
            removed = self.store.prune(memory_ttl=self.cfg.memory_ttl)
            if removed:
                self.emit("store.pruned", rows=removed)
            await asyncio.sleep(every)

    async def aclose(self, grace: float = 2.5) -> None:
        """Stop taking messages, give answers in flight ``grace`` seconds, then finish them."""
        if self.connection is not None:
            await self.connection.stop()
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=grace)
            for task in pending:
                task.cancel()  # the responder turns a cancel into a final "interrupted" card
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self.api is not None:
            await self.api.close()
        if self.store is not None:
            self.store.close()
        # A later run() builds afresh: a stopped robot can be started again.
        self.connection, self.api, self.store = None, None, None

    # -- ImRobot lifecycle on a background thread ---------------------------------------------
    def start(self) -> None:
        self.manager.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.manager.stop(timeout)

    @property
    def is_running(self) -> bool:
        return self.manager.is_running
