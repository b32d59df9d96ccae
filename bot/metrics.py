"""What a team watches in production: Prometheus metrics and a health check on their own port.

``Metrics`` turns the robot's events (the same ``emit`` calls the logs and the scenario
recorder see) into counters and histograms, in a registry of its own so two robots in one
process never mix. Times come from the robot's clock: the thinking card's and the final
card's delay are measured from the moment the message was taken (``message`` event).
``Exporter`` serves ``GET /metrics`` (text format) and ``GET /healthz`` (200 while the robot
is connected or listening, 503 otherwise) with aiohttp. Off unless ``metricsPort`` is set.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Sized
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger("bot.metrics")
SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
UPDATES = (1, 2, 3, 5, 8, 12, 16, 20, 25, 30)
TRACKED = 10_000  # answers in flight whose start is remembered (oldest forgotten first)
RETRIES = {"api.retry": "openapi", "webhook.retry": "webhook"}
ENDS = ("card.final", "reply.fallback", "card.unfinished", "reply.notice", "reply.lost")


class Metrics:
    """Counters and histograms fed by ``observe(t, kind, fields)``."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.messages = Counter(
            "dingbot_messages", "Robot messages taken, by plan (answer, notice, ignore)", ["plan"], registry=r
        )
        self.answers = Counter(
            "dingbot_answers",
            "Answers delivered, by way (card, webhook) and whether they carry a notice",
            ["via", "notice"],
            registry=r,
        )
        self.thinking = Histogram(
            "dingbot_time_to_thinking_card_seconds",
            "Message taken to thinking card sent",
            buckets=SECONDS,
            registry=r,
        )
        self.final = Histogram(
            "dingbot_time_to_final_card_seconds",
            "Message taken to final card sent",
            buckets=SECONDS,
            registry=r,
        )
        self.updates = Histogram(
            "dingbot_card_updates",
            "Card updates per answer, streaming updates and the final one",
            buckets=UPDATES,
            registry=r,
        )
        self.api_errors = Counter(
            "dingbot_api_errors",
            "Failed OpenAPI and webhook calls, by HTTP status and DingTalk code",
            ["status", "code"],
            registry=r,
        )
        self.retries = Counter(
            "dingbot_retries", "Calls retried after a retriable failure", ["api"], registry=r
        )
        self.fallbacks = Counter(
            "dingbot_fallbacks",
            "Answers sent by session webhook because the card could not be finished",
            registry=r,
        )
        self.skipped_updates = Counter(
            "dingbot_streaming_updates_skipped",
            "Streaming updates skipped (rate limit) or failed",
            ["reason"],
            registry=r,
        )
        self.dedup_skips = Counter(
            "dingbot_dedup_skips", "Messages skipped as duplicates (redeliveries)", registry=r
        )
        self.store_unwritable = Counter(
            "dingbot_store_unwritable",
            "Messages the store could not claim because it cannot write (disk full, read-only), held unacked",
            registry=r,
        )
        self.recoveries = Counter(
            "dingbot_recoveries",
            "Messages taken over from a robot that died or answered late",
            ["via"],
            registry=r,
        )
        self.agent_failures = Counter(
            "dingbot_agent_failures", "Agent errors and timeouts", ["kind"], registry=r
        )
        self.unfinished = Counter(
            "dingbot_cards_unfinished", "Cards left unfinished after every repair attempt", registry=r
        )
        self.in_flight = Gauge("dingbot_answers_in_flight", "Answers started, not yet ended", registry=r)
        self._started: OrderedDict[str, tuple[float, int]] = OrderedDict()

    # -- events ---------------------------------------------------------------------------------
    def observe(self, t: float, kind: str, fields: dict[str, Any]) -> None:
        msg = str(fields.get("msg", ""))
        if kind == "message":
            self.messages.labels(plan=str(fields.get("plan", ""))).inc()
            if fields.get("plan") == "answer":
                self._start(msg, t)
        elif kind == "card.thinking":
            if msg in self._started:
                self.thinking.observe(max(0.0, t - self._started[msg][0]))
        elif kind == "throttle" and fields.get("update"):
            self._count_update(msg, +1)
        elif kind in ("card.stream.skipped", "card.stream.failed"):
            reason = "rate_limit" if kind == "card.stream.skipped" else "error"
            self.skipped_updates.labels(reason=reason).inc()
            self._count_update(msg, -1)
        elif kind in RETRIES:
            self.retries.labels(api=RETRIES[kind]).inc()
        elif kind == "dedup.skip":
            self.dedup_skips.inc()
        elif kind == "store.unwritable":
            self.store_unwritable.inc()
        elif kind == "recovery":
            self.recoveries.labels(via=str(fields.get("via", ""))).inc()
        elif kind in ("agent.error", "agent.crash", "agent.timeout"):
            self.agent_failures.labels(kind=kind.partition(".")[2]).inc()
        if kind in ENDS:
            self._end(t, kind, msg, fields)

    def api_error(self, route: str, status: int, code: str) -> None:
        """One failed call (``OpenApiClient.on_error``); ``route`` is left out of the labels
        so that the series stay few."""
        self.api_errors.labels(status=str(status), code=code or "unknown").inc()

    def _start(self, msg: str, t: float) -> None:
        if msg not in self._started:
            self.in_flight.inc()
        self._started[msg] = (t, 0)
        while len(self._started) > TRACKED:
            self._started.popitem(last=False)
            self.in_flight.dec()

    def _count_update(self, msg: str, delta: int) -> None:
        if msg in self._started:
            start, n = self._started[msg]
            self._started[msg] = (start, max(0, n + delta))

    def _end(self, t: float, kind: str, msg: str, fields: dict[str, Any]) -> None:
        if kind == "card.final":
            self.answers.labels(via="card", notice=str(bool(fields.get("notice"))).lower()).inc()
        elif kind == "reply.fallback":
            self.answers.labels(via="webhook", notice="false").inc()
            self.fallbacks.inc()
        elif kind == "card.unfinished":
            self.unfinished.inc()
        started = self._started.pop(msg, None)
        if started is None:
            return
        self.in_flight.dec()
        if kind == "card.final":
            self.final.observe(max(0.0, t - started[0]))
            self.updates.observe(started[1] + 1)

    def scrape(self) -> bytes:
        return generate_latest(self.registry)


IDLE_TIMEOUT = 60.0  # seconds a scrape connection may sit without a whole request head


class _Config(Protocol):
    @property
    def mode(self) -> str: ...
    @property
    def listen_host(self) -> str: ...
    @property
    def metrics_port(self) -> int | None: ...


class _Connection(Protocol):
    @property
    def connected(self) -> asyncio.Event: ...


class ExporterHost(Protocol):
    """What the exporter reads of the robot (``DingTalkStreamRobot`` is one): a protocol, so this
    module never imports the robot that imports it."""

    @property
    def metrics(self) -> Metrics | None: ...
    @property
    def connection(self) -> _Connection | None: ...
    @property
    def cfg(self) -> _Config: ...
    @property
    def tasks(self) -> Sized: ...
    @property
    def recoveries(self) -> int: ...


class Exporter:
    """``/metrics`` and ``/healthz`` on ``listenHost:metricsPort``; ``url`` once listening."""

    def __init__(self, robot: ExporterHost) -> None:
        self.robot = robot
        self.url: str | None = None
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._health)
        return app

    async def _metrics(self, _: web.Request) -> web.Response:
        metrics = self.robot.metrics
        body = metrics.scrape() if metrics is not None else b""
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, _: web.Request) -> web.Response:
        conn = self.robot.connection
        up = conn is not None and conn.connected.is_set()
        body = {
            "status": "ok" if up else "down",
            "mode": self.robot.cfg.mode,
            "connected": up,
            "answersInFlight": len(self.robot.tasks),
            "recoveries": self.robot.recoveries,
        }
        return web.Response(status=200 if up else 503, text=json.dumps(body), content_type="application/json")

    async def start(self) -> None:
        cfg = self.robot.cfg
        assert cfg.metrics_port is not None
        # (as HTTP mode's server: a request head that never ends is closed, not held)
        self._runner = web.AppRunner(self.app(), access_log=None, keepalive_timeout=IDLE_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.listen_host, cfg.metrics_port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{_host(cfg.listen_host)}:{port}"
        log.info("metrics and health check at %s/metrics and %s/healthz", self.url, self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.url = None


def _host(host: str) -> str:
    """A host as it appears in a URL (IPv6 in brackets; 0.0.0.0 read back on loopback)."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
