"""End-to-end throughput in real time, as a share of a ceiling measured in the same run.

Actual: N user messages through fakeding (one process) → Stream → the robot with the real SDK
frame handling (this process) → thinking card, streaming, final card → back to the fake.
Ceiling: for each message, the same number of bare HTTP requests (the send, plus the robot's
OpenAPI calls per message) and one bare websocket round trip, between the same two processes
with the same libraries (aiohttp, websockets), at the same concurrency.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import aiohttp
from websockets.asyncio.client import connect

from bot.im_robots.dingtalk_stream.config import RobotConfig
from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot
from bot.scenario_adapter import DEMO_INSTANCE

from .common import PacedAgent


async def actual(http: int, n: int, store: str) -> dict[str, Any]:
    done = asyncio.Event()
    finals: list[float] = []

    def observe(t: float, kind: str, fields: dict[str, Any]) -> None:
        if kind in ("card.final", "reply.fallback"):
            finals.append(time.perf_counter())
            if len(finals) >= n:
                done.set()

    cfg = RobotConfig(client_id="fakeding-client", client_secret="fakeding-secret",
                      endpoint=f"http://127.0.0.1:{http}", store=store, base_dir=DEMO_INSTANCE,
                      qps=1e6)
    robot = DingTalkStreamRobot(cfg, agent=PacedAgent(chunks=10, delay=0.0), observer=observe)
    task = asyncio.ensure_future(robot.run())
    conn = robot.connection or robot.build()
    await asyncio.wait_for(conn.connected.wait(), 10)
    url = f"http://127.0.0.1:{http}/_fakeding/messages"
    async with aiohttp.ClientSession() as session:
        async def send(i: int) -> None:
            body = {"conversation": {"id": f"cidT{i % 50}==", "type": "group"},
                    "sender": {"staffId": f"u{i}"}, "text": f"throughput question {i}"}
            async with session.post(url, json=body) as resp:
                resp.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(send(i) for i in range(n)))
        await asyncio.wait_for(done.wait(), 120)
        elapsed = time.perf_counter() - started
    assert robot.api is not None
    requests = robot.api.requests
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await robot.aclose()
    return {"seconds": elapsed, "requests_per_message": requests / n}


async def ceiling(http: int, echo: int, n: int, requests_per_message: int) -> float:
    url = f"http://127.0.0.1:{http}/_fakeding/health"
    async with aiohttp.ClientSession() as session, connect(f"ws://127.0.0.1:{echo}",
                                                         compression=None) as ws:
        lock = asyncio.Lock()

        async def one(i: int) -> None:
            async with session.post(url.replace("health", "violations")) as resp:
                await resp.read()  # stands for the user's message (control API)
            async with lock:  # one websocket, like the robot's single Stream connection
                await ws.send(json.dumps({"i": i}))
                await ws.recv()
            for _ in range(requests_per_message):
                async with session.get(url) as resp:
                    await resp.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return time.perf_counter() - started


def run(n: int = 300, rounds: int = 5) -> dict[str, Any]:
    """Alternate actual and ceiling ``rounds`` times; report medians (the machine is shared)."""
    import statistics
    import tempfile

    proc = subprocess.Popen([sys.executable, "-m", "bench.server"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    actual_s: list[float] = []
    ceiling_s: list[float] = []
    per_message = 0.0
    try:
        assert proc.stdout is not None
        ports = json.loads(proc.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(rounds):
                got = asyncio.run(actual(ports["http"], n, f"{tmp}/robot{i}.sqlite3"))
                actual_s.append(got["seconds"])
                per_message = got["requests_per_message"]
                ceiling_s.append(asyncio.run(ceiling(ports["http"], ports["echo"], n,
                                                     round(per_message))))
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(10)
    seconds, ceil = statistics.median(actual_s), statistics.median(ceiling_s)
    shares = sorted(c / a for a, c in zip(actual_s, ceiling_s, strict=True))
    return {"messages": n, "rounds": rounds, "seconds": seconds, "per_second": n / seconds,
            "requests_per_message": per_message, "ceiling_seconds": ceil,
            "ceiling_per_second": n / ceil, "share_of_ceiling": ceil / seconds,
            "share_range": (shares[0], shares[-1])}
