"""``DingTalkStreamRobot``: the Type element's backend, wiring config, store, agent, OpenAPI
client, Stream connection and handlers.

``run()`` is the robot on the caller's event loop (scenarios run it beside the fake in virtual
time); ``start()``/``stop()`` run it on a background thread through ``ClientManager``.

While it runs, the robot renews its owner lease in the store and takes over, every third of a
lease, the unfinished messages of robots that died (itself before a crash, or a replica):
each is logged and counted as a ``recovery`` event. ``aclose`` drains: no new work, answers in
flight get until ``shutdownDeadline``, then end in a final card with a notice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import dingtalk_stream

from bot.agents import build_agent
from bot.agents.base import Agent
from bot.clock import Clock, LoopClock, SystemClock
from bot.core.incoming import parse_incoming, plan_for
from bot.errors import ConfigError, StoreError, StoreUnwritable
from bot.im_robots.dingtalk_stream.ai_card import AiCardResponder, AiFeedbackHandler
from bot.im_robots.dingtalk_stream.config import RobotConfig, check_live_credentials, load_config
from bot.im_robots.dingtalk_stream.connection import StreamConnection
from bot.im_robots.dingtalk_stream.conversation import Responder
from bot.im_robots.dingtalk_stream.handlers import (
    FeedbackHandler,
    LoggingEventHandler,
    MessageHandler,
    say_unwritable,
    spawner,
)
from bot.im_robots.dingtalk_stream.manager import ClientManager
from bot.im_robots.dingtalk_stream.openapi import OpenApiClient
from bot.im_robots.meta import ImRobot
from bot.storage.storage import SqliteStorage, Storage
from bot.storage.store import Progress, Store, new_owner

if TYPE_CHECKING:
    from bot.metrics import Exporter, Metrics

log = logging.getLogger("bot.robot")
Observer = Callable[[float, str, dict[str, Any]], None]


class Connection(Protocol):
    """What brings messages in: ``start`` serves until ``stop``; ``connected`` while up."""

    connected: asyncio.Event

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class DingTalkStreamRobot(ImRobot):
    def __init__(
        self,
        config: RobotConfig,
        *,
        clock: Clock | None = None,
        agent: Agent | None = None,
        observer: Observer | None = None,
        seed: int = 0,
    ) -> None:
        self.cfg = config
        self.clock = clock or LoopClock()
        # The wall clock as it is at each reading, for the platform's signed timestamps: the
        # default LoopClock keeps the offset it read at start (right for lease and TTL spans,
        # wrong once the system clock is corrected). A given clock is the test's (virtual) one.
        self.wall: Callable[[], float] = self.clock.time if clock is not None else SystemClock().time
        self._agent = agent
        self.observer = observer
        self.seed = seed
        self.tasks: set[asyncio.Task[Any]] = set()
        self.connection: Connection | None = None
        self.api: OpenApiClient | None = None
        self.store: Store | None = None  # the SQLite file itself (None with Redis)
        self.storage: Storage | None = None
        self.responder: Responder | None = None
        self.owner = new_owner()
        self.recoveries = 0
        self.rng = random.Random(seed)
        self.metrics: Metrics | None = None
        self.exporter: Exporter | None = None
        if config.metrics_port is not None:  # prometheus_client is imported only when asked
            from bot.metrics import Metrics

            self.metrics = Metrics()
        self.manager = ClientManager(self.run, self.aclose, name=f"robot-{config.client_id}")

    @classmethod
    def from_instance(
        cls, instance_dir: Path, *, env: Mapping[str, str] | None = None, **overrides: Any
    ) -> DingTalkStreamRobot:
        kwargs = {k: overrides.pop(k) for k in ("clock", "agent", "observer", "seed") if k in overrides}
        return cls(load_config(instance_dir, env=env, **overrides), **kwargs)

    def emit(self, kind: str, **fields: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s", kind, fields)
        if self.metrics is None and self.observer is None:
            return
        now = self.clock.monotonic()
        if self.metrics is not None:
            self.metrics.observe(now, kind, fields)
        if self.observer is not None:
            self.observer(now, kind, fields)

    def store_unwritable(self, msg_id: str, exc: StoreUnwritable) -> None:
        """Say loudly that a message could not be taken because the store cannot write."""
        say_unwritable(self.emit, msg_id, exc)

    def _on_event(self, kind: str, fields: dict[str, Any]) -> None:
        self.emit(kind, **fields)

    def build_core(self) -> Responder:
        """Store, agent, OpenAPI client and responder: all a message needs, in either mode."""
        cfg = self.cfg
        if cfg.is_live:
            check_live_credentials(cfg)
        self.rng = random.Random(self.seed)
        self.storage = open_storage(cfg, self.clock)
        self.store = self.storage.fast if isinstance(self.storage, SqliteStorage) else None
        agent = self._agent or build_agent(cfg.agent, base_dir=cfg.base_dir, locale=cfg.locale)
        self.api = OpenApiClient(
            endpoint=cfg.endpoint,
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            clock=self.clock,
            qps=cfg.qps,
            burst=cfg.qps_burst,
            attempts=cfg.retry_attempts,
            rng=self.rng,
            on_event=self._on_event,
        )
        if self.metrics is not None:
            self.api.on_error = self.metrics.api_error
        ai = cfg.card_mode == "ai"
        self.responder = (AiCardResponder if ai else Responder)(
            config=cfg, api=self.api, agent=agent, storage=self.storage, clock=self.clock, emit=self.emit
        )
        return self.responder

    def message_handler(self) -> MessageHandler:
        assert self.responder is not None and self.storage is not None
        return MessageHandler(
            config=self.cfg,
            responder=self.responder,
            storage=self.storage,
            spawn=spawner(self.tasks),
            emit=self.emit,
            owner=self.owner,
        )

    def feedback_handler(self) -> FeedbackHandler:
        """Card clicks, from the Stream connection or (``mode: "http"``) an HTTP route."""
        assert self.responder is not None and self.storage is not None
        kind = AiFeedbackHandler if self.cfg.card_mode == "ai" else FeedbackHandler
        return kind(
            config=self.cfg,
            responder=self.responder,
            storage=self.storage,
            spawn=spawner(self.tasks),
            emit=self.emit,
            owner=self.owner,
        )

    def build(self) -> Connection:
        """The core and what brings messages in: the Stream websocket, or in ``mode: "http"``
        an HTTP server the platform POSTs to."""
        cfg = self.cfg
        self.build_core()
        if cfg.mode == "http":
            from bot.im_robots.dingtalk_stream.http_aiohttp import HttpServer

            self.connection = HttpServer(self)
            return self.connection
        assert self.api is not None
        conn = StreamConnection(
            self.api,
            rng=self.rng,
            idle_timeout=cfg.stream_idle_timeout,
            on_event=self._on_event,
            auth_attempts=cfg.auth_attempts,
            monotonic=self.clock.monotonic,
        )
        conn.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, self.message_handler())
        conn.register_callback_handler(
            dingtalk_stream.CallbackHandler.TOPIC_CARD_CALLBACK, self.feedback_handler()
        )
        conn.register_all_event_handler(LoggingEventHandler())
        self.connection = conn
        return conn

    async def run(self) -> None:
        """Connect and serve until cancelled or ``aclose``d."""
        conn = self.connection or self.build()
        log.info("robot %s connecting to %s", self.cfg.client_id, self.cfg.endpoint)
        keeper = asyncio.ensure_future(self._keep())
        if self.metrics is not None and self.exporter is None:
            from bot.metrics import Exporter

            self.exporter = Exporter(self)
            await self.exporter.start()
        try:
            await conn.start()
        finally:
            keeper.cancel()

    async def _keep(self, prune_every: float = 3600.0) -> None:
        """Renew the owner lease, take over orphaned messages, prune hourly."""
        next_prune = 0.0
        while self.storage is not None:
            try:
                await self.storage.beat(self.owner, self.cfg.owner_lease)
                await self.recover()
                if self.clock.monotonic() >= next_prune:
                    next_prune = self.clock.monotonic() + prune_every
                    removed = await self.storage.prune(memory_ttl=self.cfg.memory_ttl)
                    if removed:
                        self.emit("store.pruned", rows=removed)
            except StoreError as exc:
                log.warning("store upkeep failed (%s); trying again in %.0f s", exc, self.cfg.owner_lease / 3)
            await asyncio.sleep(self.cfg.owner_lease / 3)

    async def recover(self) -> int:
        """Finish the messages of robots that died mid-answer; how many were taken over."""
        storage, responder = self.storage, self.responder
        if storage is None or responder is None:
            return 0
        taken = 0
        for found in await storage.orphans(self.owner):
            if not await storage.take_over(found.key, old=found.owner, new=self.owner):
                continue  # another robot was first
            taken += 1
            self._resume(found)
        return taken

    def _resume(self, found: Progress) -> None:
        self.recoveries += 1
        try:
            data = json.loads(found.payload)
        except ValueError:
            data = {}
        inc = parse_incoming(data if isinstance(data, dict) else {})
        plan = plan_for(inc, max_question_chars=self.cfg.max_question_chars)
        action = {
            "claimed": "answer again",
            "carded": "answer again into the same card",
            "answered": "finish the card with the kept answer",
        }.get(found.state, "finish")
        log.info("recovery: message %s left %s by %s; %s", found.msg_id, found.state, found.owner, action)
        self.emit("recovery", msg=found.msg_id, state=found.state, via="orphan", owner=found.owner)
        assert self.responder is not None
        spawner(self.tasks)(self.responder.serve(inc, plan, found))

    async def aclose(self, deadline: float | None = None) -> None:
        """Drain: take no new messages, give answers in flight until ``deadline`` seconds
        (default ``shutdownDeadline``), keeping the end of it for their final cards (paced by
        the QPS budget, streaming updates skipped so finals go first); what is still
        answering then ends in a final card with a notice."""
        deadline = self.cfg.shutdown_deadline if deadline is None else deadline
        started = self.clock.monotonic()
        if self.connection is not None:
            await self.connection.stop()
        if self.tasks:
            if self.api is not None:
                self.api.draining = True
            finals = len(self.tasks) / self.cfg.qps + 1.0  # time the final cards need
            _, pending = await asyncio.wait(set(self.tasks), timeout=max(0.0, deadline - finals))
            if pending:
                log.warning("shutting down: %d answer(s) still running are ended with a notice", len(pending))
            for task in pending:
                task.cancel()  # the responder turns a cancel into a final "interrupted" card
            left = max(finals, deadline - (self.clock.monotonic() - started))
            if pending:
                _, stuck = await asyncio.wait(pending, timeout=left)
                if stuck:
                    log.error(
                        "shutting down: %d card(s) could not be finished in time; the "
                        "next start finishes them",
                        len(stuck),
                    )
        if self.api is not None:
            await self.api.close()
        if self.exporter is not None:
            await self.exporter.stop()
            self.exporter = None
        if self.storage is not None:
            left = max(0.0, deadline - (self.clock.monotonic() - started))
            try:  # what is left is free to take at once
                await asyncio.wait_for(self.storage.beat(self.owner, 0.0), left)
            except TimeoutError:
                log.error(
                    "shutting down: the deadline of %g s passed while the store at %s "
                    "stayed busy; this robot's lease is not released, so another robot "
                    "takes over its unfinished messages when the lease runs out (at "
                    "most %g s); messages not acked are delivered again by the platform",
                    deadline,
                    self.storage.name,
                    self.cfg.owner_lease,
                )
            except StoreError as exc:
                log.warning("could not release the owner lease: %s", exc)
            await self.storage.aclose(max(0.0, deadline - (self.clock.monotonic() - started)))
        # A later run() builds afresh: a stopped robot can be started again.
        self.connection, self.api, self.store, self.storage = None, None, None, None

    # -- ImRobot lifecycle on a background thread ---------------------------------------------
    def start(self) -> None:
        self.manager.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.manager.stop(timeout)

    @property
    def is_running(self) -> bool:
        return self.manager.is_running


def open_storage(cfg: RobotConfig, clock: Clock) -> Storage:
    """SQLite for a file path (or ``sqlite://``), Redis for ``redis://``."""
    if cfg.store_scheme == "redis":
        try:
            from bot.storage.redis_store import RedisStorage
        except ImportError:
            raise ConfigError(
                f"store {cfg.store!r} needs the redis client library; pip install redis"
            ) from None
        return RedisStorage(cfg.store, clock, memory_ttl=cfg.memory_ttl)
    return SqliteStorage(cfg.store_path(), clock)
