"""End-to-end throughput in real time, as a share of a ceiling measured in the same run, and the
CPU each process spends per message, for this tree's robot and for a baseline commit's.

Actual: N user messages through fakeding (one process) → Stream → the robot with the real SDK
frame handling (this process) → thinking card, streaming, final card → back to the fake.
Ceiling: for each message, the same HTTP requests (the user's send, then the robot's OpenAPI
calls of one answer: methods, paths, JSON bodies and the token header, taken from the fake's
records of the actual round) to a bare aiohttp echo, and one bare websocket round trip of a
frame's size, between the same two processes with the same libraries (aiohttp, websockets), at
the same concurrency.
CPU: this process's CPU time around each round (``time.process_time``, all threads) and the
fake's (``on_cpu``: /proc; not measured where there is none). "Before" and "after": the
same actual round in a process of its own whose ``import bot`` finds either the robot of
:data:`BASELINE` (extracted with ``git archive``) or this tree's.

``python -m bench.throughput`` is that process: it prints where ``bot`` was imported from, then
runs one actual round per JSON line read from stdin and prints its figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp
from websockets.asyncio.client import connect

from bot.elements import ELEMENTS_DIR
from bot.im_robots.dingtalk_stream.config import RobotConfig
from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot

from .common import PacedAgent

ROOT = Path(__file__).resolve().parents[1]
# not bot.scenario_adapter's: that module imports the kit's scenario engine, whose path the
# baseline robot's tree names differently (the kit's layers moved it to fakeding.testing)
DEMO_INSTANCE = ELEMENTS_DIR / "imRobots.dingTalkDemo"

# The robot "before": main as it was when issue 14's hot-path work (item 5: fewer store round
# trips per message, card JSON built once) began; every later robot is compared with it.
BASELINE = "3b0d017"


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used so far; None without /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # the command name may hold spaces
        ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    except (OSError, IndexError, ValueError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def on_cpu(pid: int) -> float | None:
    """Seconds the live threads of process ``pid`` have run, to the nanosecond
    (``/proc/<pid>/task/*/schedstat``), where the kernel keeps that; else ``proc_cpu`` (clock
    ticks of 10 ms: a round of 300 messages costs the fake about 20). For the CPU of a round,
    over which the fake's threads stay the same (a thread that ended takes its time along)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as f:
                total += int(f.read().split()[0])
    except (OSError, IndexError, ValueError):
        return proc_cpu(pid)
    return total / 1e9


def cpu_delta(pid: int | None, before: float | None) -> float | None:
    after = on_cpu(pid) if pid is not None else None
    return None if after is None or before is None else after - before


def user_message(i: int) -> dict[str, Any]:
    """The control-API body of user message ``i`` (50 groups, a user each message)."""
    return {
        "conversation": {"id": f"cidT{i % 50}==", "type": "group"},
        "sender": {"staffId": f"u{i}"},
        "text": f"throughput question {i}",
    }


async def timed_round(
    session: aiohttp.ClientSession, url: str, n: int, done: asyncio.Event, fake_pid: int | None
) -> tuple[float, float, float | None]:
    """Send ``n`` user messages at once and wait for ``done``: wall seconds, this process's CPU
    seconds and the fake's (None without /proc) over the round."""

    async def send(i: int) -> None:
        async with session.post(url, json=user_message(i)) as resp:
            resp.raise_for_status()

    fake_before = on_cpu(fake_pid) if fake_pid is not None else None
    cpu_before = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(send(i) for i in range(n)))
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - started
    return elapsed, time.process_time() - cpu_before, cpu_delta(fake_pid, fake_before)


async def actual(http: int, n: int, store: str, fake_pid: int | None = None) -> dict[str, Any]:
    done = asyncio.Event()
    finals: list[float] = []

    def observe(t: float, kind: str, fields: dict[str, Any]) -> None:
        if kind in ("card.final", "reply.fallback"):
            finals.append(time.perf_counter())
            if len(finals) >= n:
                done.set()

    cfg = RobotConfig(
        client_id="fakeding-client",
        client_secret="fakeding-secret",
        endpoint=f"http://127.0.0.1:{http}",
        store=store,
        base_dir=DEMO_INSTANCE,
        qps=1e6,
    )
    robot = DingTalkStreamRobot(cfg, agent=PacedAgent(chunks=10, delay=0.0), observer=observe)
    task = asyncio.ensure_future(robot.run())
    conn = robot.connection or robot.build()
    await asyncio.wait_for(conn.connected.wait(), 10)
    url = f"http://127.0.0.1:{http}/_fakeding/messages"
    async with aiohttp.ClientSession() as session:
        elapsed, cpu, fake_cpu = await timed_round(session, url, n, done, fake_pid)
    assert robot.api is not None
    requests = robot.api.requests
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await robot.aclose()
    return {"seconds": elapsed, "requests_per_message": requests / n, "cpu_s": cpu, "fake_cpu_s": fake_cpu}


async def sends(http: int, n: int) -> float:
    """CPU seconds this process spends on ``n`` concurrent control-API POSTs alone: the share
    of the robot process's CPU that stands for the users, not for the robot."""
    url = f"http://127.0.0.1:{http}/_fakeding/violations"
    async with aiohttp.ClientSession() as session:

        async def one(i: int) -> None:
            async with session.post(url, json=user_message(i)) as resp:
                await resp.read()

        cpu_before = time.process_time()
        await asyncio.gather(*(one(i) for i in range(n)))
        return time.process_time() - cpu_before


FRAME_BYTES = 1_000  # about a pushed robot message's Stream frame
TOKEN_HEADER = {"x-acs-dingtalk-access-token": "0" * 32, "Content-Type": "application/json"}


@dataclass(frozen=True)
class Bare:
    """The requests of one message, made bare: the user's send and the robot's OpenAPI calls of
    one answer (method, path, body), to the bare aiohttp echo at ``base``."""

    base: str
    calls: tuple[tuple[str, str, bytes], ...]

    async def send(self, session: aiohttp.ClientSession, i: int) -> None:
        body = json.dumps(user_message(i)).encode()
        async with session.post(self.base + "/_fakeding/messages", data=body, headers=TOKEN_HEADER) as resp:
            await resp.read()

    async def answer(self, session: aiohttp.ClientSession) -> None:
        for method, path, body in self.calls:
            async with session.request(method, self.base + path, data=body, headers=TOKEN_HEADER) as resp:
                await resp.read()


async def robot_calls(http: int, bare_port: int) -> Bare:
    """The OpenAPI calls of the robot's last answer in the fake's records (those naming its card,
    in order; bodies as recorded, secrets masked), aimed at the bare echo on ``bare_port``."""
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{http}/_fakeding/timeline?kind=api"
        async with session.get(url) as resp:
            records = await resp.json()
    by_card: dict[str, list[tuple[str, str, bytes]]] = {}
    for r in records:
        request = r.get("request")
        if r.get("status") == 200 and isinstance(request, dict) and "cardBizId" in request:
            method, path = r["route"].split(" ", 1)
            body = json.dumps(request, ensure_ascii=False).encode()
            by_card.setdefault(str(request["cardBizId"]), []).append((method, path, body))
    if not by_card:
        raise RuntimeError("the fake recorded no card call of the robot: nothing to make bare")
    return Bare(f"http://127.0.0.1:{bare_port}", tuple(list(by_card.values())[-1]))


async def ceiling(echo: int, n: int, bare: Bare, fake_pid: int | None = None) -> dict[str, Any]:
    """One round of the ceiling. The users' sends and the robot's calls go on client sessions
    of their own, both new each round, as in the actual round (the users' session, then the
    robot's own connection pool): sharing one let the answers reuse connections the sends had
    just opened, a saving no robot has, as its users are other clients."""
    frame = json.dumps({"data": "x" * FRAME_BYTES})
    async with (
        aiohttp.ClientSession() as users,
        aiohttp.ClientSession() as robot,
        connect(f"ws://127.0.0.1:{echo}", compression=None) as ws,
    ):
        lock = asyncio.Lock()

        async def one(i: int) -> None:
            await bare.send(users, i)  # stands for the user's message (control API)
            async with lock:  # one websocket, like the robot's single Stream connection
                await ws.send(frame)
                await ws.recv()
            await bare.answer(robot)

        fake_before = on_cpu(fake_pid) if fake_pid is not None else None
        cpu_before = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return {
            "seconds": time.perf_counter() - started,
            "cpu_s": time.process_time() - cpu_before,
            "fake_cpu_s": cpu_delta(fake_pid, fake_before),
        }


class RobotProcessError(RuntimeError):
    """The robot process could not run a round (its stderr's last lines say why)."""


class RobotProcess:
    """``python -m bench.throughput`` with ``root`` first on its path, so that ``import bot``
    finds the robot under ``root``; checked from the process's own answer."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        # closed by close(): the process outlives this call
        self.stderr: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(self.root), str(ROOT)]))}
        # -P: the working directory is not put first on the path (it could hold another bot/)
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "bench.throughput"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        found = Path(self._answer()["bot"]).resolve()
        if not found.is_relative_to(self.root):
            self.close()
            raise RobotProcessError(f"import bot found {found}, expected under {self.root}")

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.stderr.seek(0)
            tail = " / ".join(self.stderr.read().strip().splitlines()[-2:])
            raise RobotProcessError(f"the robot process ended: {tail or 'no output'}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def round(self, http: int, n: int, store: str, fake_pid: int | None) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"http": http, "n": n, "store": store, "fake_pid": fake_pid}) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.stderr.close()


def extract_baseline(dest: Path, commit: str = BASELINE, repo: Path = ROOT) -> str | None:
    """Put ``bot/`` of ``commit`` under ``dest``; None when done, else why it could not be."""
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", commit, "bot"],
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"git could not run ({exc})"
    if out.returncode != 0:
        why = out.stderr.decode(errors="replace").strip().splitlines()
        return f"git archive {commit} failed ({why[-1] if why else f'exit {out.returncode}'})"
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return None


def median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known and len(known) == len(values) else None


def per_message_ms(values: list[float | None], n: int) -> float | None:
    m = median_or_none(values)
    return None if m is None else 1000 * m / n


def share_interval(
    actual_s: list[float], ceiling_s: list[float], *, level: float = 0.9, draws: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """The range of the share (median ceiling round / median actual round) that the rounds'
    own spread allows: a bootstrap over the round pairs, seeded so that a run's report follows
    from its rounds. On a shared machine single rounds range widely, and a median within this
    interval of the goal does not say which side of it the robot is on."""
    if len(actual_s) != len(ceiling_s) or not actual_s:
        raise ValueError(
            f"expected as many ceiling rounds as actual ones, found {len(ceiling_s)} and {len(actual_s)}"
        )
    rng = random.Random(seed)
    pairs = list(zip(actual_s, ceiling_s, strict=True))
    shares = sorted(
        statistics.median(c for _, c in draw) / statistics.median(a for a, _ in draw)
        for draw in (rng.choices(pairs, k=len(pairs)) for _ in range(draws))
    )
    tail = (1 - level) / 2
    return shares[int(tail * (draws - 1))], shares[int((1 - tail) * (draws - 1))]


def run(n: int = 300, rounds: int = 9, before: bool = True) -> dict[str, Any]:
    """Alternate actual and ceiling ``rounds`` times; report medians (the machine is shared).
    With ``before``, each round also runs the actual round in a process of this tree's robot
    and in one of :data:`BASELINE`'s, for the CPU per message before and after. Each round also
    runs the SDK alone (``sdk_round``: the official client acking, the same bare requests), for
    the SDK's share of the robot's gap to the ceiling."""
    from .sdk_round import sdk_only

    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    actual_s: list[float] = []
    ceiling_s: list[float] = []
    sdk_s: list[float] = []
    cpu: dict[str, list[float | None]] = {
        k: []
        for k in ("robot", "fake", "sends", "ceiling", "ceiling_fake", "after", "before", "sdk", "sdk_fake")
    }
    busy: dict[str, list[float | None]] = {"robot": [], "fake": []}
    per_message = 0.0
    bare: Bare | None = None
    why_not: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        ports = json.loads(proc.stdout.readline())
        http, pid = ports["http"], proc.pid
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack, robot_process_gc():
            robots: dict[str, RobotProcess] = {}
            if before:
                reason = extract_baseline(Path(tmp) / "baseline")
                for name, root in (("after", ROOT), ("before", Path(tmp) / "baseline")):
                    if name == "before" and reason:
                        why_not[name] = reason
                        continue
                    try:
                        robots[name] = RobotProcess(root)
                    except RobotProcessError as exc:
                        why_not[name] = str(exc)
                        continue
                    stack.callback(robots[name].close)
            else:
                why_not["before"] = why_not["after"] = "skipped in this run (--quick)"
            for i in range(rounds):
                got = asyncio.run(actual(http, n, f"{tmp}/robot{i}.sqlite3", pid))
                actual_s.append(got["seconds"])
                per_message = got["requests_per_message"]
                if bare is None:  # this tree's calls of one answer, before another robot's round
                    bare = asyncio.run(robot_calls(http, ports["bare"]))
                cpu["robot"].append(got["cpu_s"])
                cpu["fake"].append(got["fake_cpu_s"])
                busy["robot"].append(got["cpu_s"] / got["seconds"])
                busy["fake"].append(None if got["fake_cpu_s"] is None else got["fake_cpu_s"] / got["seconds"])
                order = list(robots.items())  # alternate who goes first: no order bias
                for name, robot in order if i % 2 == 0 else order[::-1]:
                    try:
                        cpu[name].append(robot.round(http, n, f"{tmp}/{name}{i}.sqlite3", pid)["cpu_s"])
                    except (RobotProcessError, OSError, ValueError) as exc:
                        why_not[name] = f"round {i + 1} failed ({exc})"
                        del robots[name]
                cpu["sends"].append(asyncio.run(sends(http, n)))
                assert bare is not None  # (taken after the first actual round)
                ceil = asyncio.run(ceiling(ports["echo"], n, bare, pid))
                ceiling_s.append(ceil["seconds"])
                cpu["ceiling"].append(ceil["cpu_s"])
                cpu["ceiling_fake"].append(ceil["fake_cpu_s"])
                bare_sdk = asyncio.run(sdk_only(http, n, bare, pid))
                sdk_s.append(bare_sdk["seconds"])
                cpu["sdk"].append(bare_sdk["cpu_s"])
                cpu["sdk_fake"].append(bare_sdk["fake_cpu_s"])
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:  # aiohttp's shutdown may wait for idle keep-alive connections: not measured
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
    seconds, ceil_s = statistics.median(actual_s), statistics.median(ceiling_s)
    sdk_seconds = statistics.median(sdk_s)
    shares = sorted(c / a for a, c in zip(actual_s, ceiling_s, strict=True))
    ms = {k: (None if k in why_not else per_message_ms(v, n)) for k, v in cpu.items()}
    return {
        "messages": n,
        "rounds": rounds,
        "seconds": seconds,
        "per_second": n / seconds,
        "requests_per_message": per_message,
        "bare_calls": [f"{m} {path} ({len(body)} B)" for m, path, body in (bare.calls if bare else ())],
        "ceiling_seconds": ceil_s,
        "ceiling_per_second": n / ceil_s,
        "share_of_ceiling": ceil_s / seconds,
        "share_range": (shares[0], shares[-1]),
        "share_interval": share_interval(actual_s, ceiling_s),
        "sdk_seconds": sdk_seconds,
        "sdk_share_of_ceiling": ceil_s / sdk_seconds,
        "fake_cpu_ratio": (
            # None: a side spent less than one CPU tick (a tiny run), so there is nothing to compare
            None if not ms["fake"] or not ms["ceiling_fake"] else ms["fake"] / ms["ceiling_fake"]
        ),
        "cpu_ms": ms,
        "busy": {k: median_or_none(v) for k, v in busy.items()},
        "baseline": BASELINE,
        "not_measured": why_not,
    }


@contextlib.contextmanager
def robot_process_gc() -> Iterator[None]:
    """This process stands for the robot's: it runs under the garbage-collector settings that
    ``python -m bot run`` makes (the ceiling's rounds too); the old ones come back after."""
    from bot.runtime import tune_gc

    old = gc.get_threshold()
    tune_gc()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*old)


def _serve_rounds() -> None:
    import bot

    logging.basicConfig(level=logging.CRITICAL)
    try:  # what `python -m bot run` does once started (a baseline robot may not have it)
        from bot.runtime import tune_gc
    except ImportError:
        pass
    else:
        tune_gc()
    print(json.dumps({"bot": bot.__file__}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        got = asyncio.run(actual(ask["http"], ask["n"], ask["store"], ask["fake_pid"]))
        print(json.dumps(got), flush=True)


if __name__ == "__main__":
    _serve_rounds()
