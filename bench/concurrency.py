"""Many simultaneous conversations, each a 10-second scripted answer, in virtual and real time.

Reported per size: makespan / single-conversation time, platform 403s (QPS limit) and how many
errors reached a user, time to the thinking card (p50, p99). Run with the platform's limits
on (as DingTalk runs) and off (the robot's own overhead).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bot.scenario_adapter import open_harness, run_virtual
from fakeding.settings import Settings

from .common import PacedAgent, percentile

USER_ERRORS = ("bot.card.final.failed", "bot.reply.lost", "bot.card.thinking.failed")


@dataclass
class Round:
    size: int
    clock: str
    limits: bool
    makespan: float
    platform_403: int
    user_errors: int
    unfinished: int
    thinking_p50: float
    thinking_p99: float
    wall: float


async def one_round(size: int, *, limits: bool, answer_s: float = 10.0,
                    epoch: float | None = None) -> dict[str, Any]:
    settings = Settings() if limits else Settings(qps_limit=None, webhook_per_minute=None)
    robot = {"qps": 18.0 if limits else 100_000.0}
    agent = PacedAgent(chunks=10, delay=answer_s / 10)
    kwargs: dict[str, Any] = {"settings": settings, "robot": robot, "agent": agent}
    if epoch is None:
        kwargs["epoch"] = None
    async with open_harness(**kwargs) as h:
        fake = h.fake
        start = h.now
        for i in range(size):
            group = i % 2 == 0
            fake.send_message(f"question {i}", conversation_id=f"cidC{i}==",
                              conversation_type="group" if group else "single",
                              staff_id=f"user{i}")
        await h.settle(step=0.1, limit=600)
        records = fake.platform.recorder.records
    sent = {r.fields["msgId"]: r.t for r in records if r.kind == "message"}
    thinking = [r for r in records if r.kind == "bot.card.thinking"]
    finals = [r for r in records if r.kind in ("bot.card.final", "bot.reply.fallback")]
    latency = [r.t - sent[r.fields["msg"]] for r in thinking if r.fields["msg"] in sent]
    return {
        "makespan": max((r.t for r in finals), default=float("nan")) - start,
        "platform_403": sum(1 for r in records if r.kind == "api" and r.fields["status"] == 403),
        "user_errors": sum(1 for r in records if r.kind in USER_ERRORS),
        "unfinished": size - len({r.fields["msg"] for r in finals}),
        "thinking_p50": percentile(latency, 50),
        "thinking_p99": percentile(latency, 99),
    }


def measure(size: int, *, clock: str, limits: bool) -> Round:
    started = time.perf_counter()
    if clock == "virtual":
        stats = run_virtual(lambda: one_round(size, limits=limits), end=3600)
    else:
        stats = asyncio.run(one_round(size, limits=limits))
    return Round(size=size, clock=clock, limits=limits, wall=time.perf_counter() - started,
                 **stats)


def run(sizes: tuple[int, ...] = (1, 10, 100, 500),
        real_sizes: tuple[int, ...] = (1, 10, 100, 500)) -> list[Round]:
    rounds = []
    for limits in (True, False):
        for size in sizes:
            rounds.append(measure(size, clock="virtual", limits=limits))
    for size in real_sizes:
        rounds.append(measure(size, clock="real", limits=True))
    return rounds
