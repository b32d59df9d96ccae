"""Many simultaneous conversations, each a scripted answer, in virtual and real time.

Reported per size: makespan against the floor the platform sets (:func:`floor`) and against
the single-conversation time, platform 403s (QPS limit) and how many errors reached a user,
time to the thinking card (p50, p99). Run with the platform's limits on (as DingTalk runs) and
off (the robot's own overhead): 10-second answers (:func:`run`), and 1.2-second answers in
real time with the limits on (:func:`paced`), where the floor is most of the makespan.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bot.scenario_adapter import open_harness, run_virtual
from fakeding.core.settings import Settings

from .common import PacedAgent, percentile

USER_ERRORS = ("bot.card.final.failed", "bot.reply.lost", "bot.card.thinking.failed")
# The robot's own pace with the limits on: a sliding window like the platform's (20 calls in any
# 1 s), at most ROBOT_BURST calls in any ROBOT_BURST / ROBOT_QPS s (1.081 s: an 8% margin for the
# calls' different latencies), so answers that finish together leave 20 at a time, unrefused.
ROBOT_QPS = 18.5
ROBOT_BURST = 20


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
    answer_s: float = 10.0


def platform_rate() -> float:
    """Calls per second per app per API that the platform allows (the fake's default)."""
    rate = Settings().qps_limit
    assert rate is not None
    return float(rate)


def floor(answer_s: float, size: int, rate: float) -> float:
    """The least makespan the platform allows with its limits on: every conversation ends with
    a final card update and the update API takes ``rate`` calls per second per app, so
    ``size`` answers that all finish at ``answer_s`` need ``size / rate`` seconds more. An
    estimate: the sliding window lets up to ``rate`` calls pass at once, so a round smaller
    than ``rate`` may end a little sooner; never before ``answer_s``."""
    if answer_s < 0 or size < 1 or rate <= 0:
        raise ValueError(
            f"floor: expected answer_s >= 0, size >= 1, rate > 0; found {answer_s}, {size}, {rate}"
        )
    return answer_s + size / rate


def floors(rounds: list[Round], rate: float) -> list[float]:
    """Each round's floor: :func:`floor` with the limits on; with them off, the
    single-conversation makespan of the same clock and answer (what no load can beat)."""
    singles = {(r.clock, r.answer_s): r.makespan for r in rounds if r.size == 1 and not r.limits}
    out = []
    for r in rounds:
        if r.limits:
            out.append(floor(r.answer_s, r.size, rate))
        elif (r.clock, r.answer_s) in singles:
            out.append(singles[(r.clock, r.answer_s)])
        else:
            raise ValueError(
                f"no single-conversation round ({r.clock}, {r.answer_s} s, limits "
                f"off) to serve as the floor of {r.size} conversations"
            )
    return out


async def one_round(
    size: int, *, limits: bool, answer_s: float = 10.0, epoch: float | None = None
) -> dict[str, Any]:
    settings = Settings() if limits else Settings(qps_limit=None, webhook_per_minute=None)
    robot: dict[str, Any] = {"qps": ROBOT_QPS, "qpsBurst": ROBOT_BURST} if limits else {"qps": 100_000.0}
    agent = PacedAgent(chunks=10, delay=answer_s / 10)
    kwargs: dict[str, Any] = {"settings": settings, "robot": robot, "agent": agent}
    if epoch is None:
        kwargs["epoch"] = None
    async with open_harness(**kwargs) as h:
        fake = h.fake
        start = h.now
        for i in range(size):
            group = i % 2 == 0
            fake.send_message(
                f"question {i}",
                conversation_id=f"cidC{i}==",
                conversation_type="group" if group else "single",
                staff_id=f"user{i}",
            )
        await h.settle(step=0.1, limit=600)
        records = fake.recorder.records
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


def measure(size: int, *, clock: str, limits: bool, answer_s: float = 10.0) -> Round:
    started = time.perf_counter()
    if clock == "virtual":
        stats = run_virtual(lambda: one_round(size, limits=limits, answer_s=answer_s), end=3600)
    else:
        stats = asyncio.run(one_round(size, limits=limits, answer_s=answer_s))
    return Round(
        size=size, clock=clock, limits=limits, wall=time.perf_counter() - started, answer_s=answer_s, **stats
    )


def run(
    sizes: tuple[int, ...] = (1, 10, 100, 500), real_sizes: tuple[int, ...] = (1, 10, 100, 500)
) -> list[Round]:
    rounds = []
    for limits in (True, False):
        for size in sizes:
            rounds.append(measure(size, clock="virtual", limits=limits))
    for size in real_sizes:
        rounds.append(measure(size, clock="real", limits=True))
    return rounds


def paced(sizes: tuple[int, ...] = (30, 100), answer_s: float = 1.2) -> list[Round]:
    """Short answers in real time with the platform's limits on: the floor is most of it."""
    return [measure(size, clock="real", limits=True, answer_s=answer_s) for size in sizes]
