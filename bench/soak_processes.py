"""The soak with robot processes: ``python3 dev.py soak --processes``.

Why: the in-process soak cannot kill a robot. Here ``fakeding serve`` is a process, the robots
are ``python -m bot run`` processes sharing a private ``redis-server`` (a free loopback port,
no persistence), and while seeded users write, the run injects process faults on a fixed
schedule: a second replica joins, a replica is killed (SIGKILL) mid-answer and restarted, the
store is locked for writes (Redis ``CLIENT PAUSE … WRITE``), a replica is stopped (SIGTERM:
it must drain and exit 0) and restarted, the other replica is killed and restarted; besides,
a few frames are duplicated or arrive after their redelivery. Then it waits until every
question is answered and reports lost, duplicated and unfinished answers, read from the
fake's cards and webhook replies (a card's title is its question). ``--store sqlite`` runs
one robot on a SQLite file instead (no second replica; the lock is SQLite's write lock held by
another connection). Loopback only; bounded in count and time; it stops what it started.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AGENT = "bench.soak:SoakAgent"  # 3-12 chunks 0.1-0.5 s apart: answers stay in flight for seconds
REDELIVERY_DELAY = 2.0
OWNER_LEASE = 3.0  # a killed replica's cards are taken over about this long after its death
LOCK_SECONDS = {"redis": 4.0, "sqlite": 6.0}
SERVING = re.compile(r"fakeding is serving on (http://127\.0\.0\.1:\d+)")
# (fraction of the messages sent, action, replica)
SCHEDULES: dict[str, list[tuple[float, str, str]]] = {
    "redis": [
        (0.10, "start", "b"),
        (0.25, "kill", "a"),
        (0.30, "start", "a"),
        (0.45, "lock", ""),
        (0.60, "term", "b"),
        (0.65, "start", "b"),
        (0.80, "kill", "b"),
        (0.85, "start", "b"),
    ],
    "sqlite": [
        (0.25, "kill", "a"),
        (0.30, "start", "a"),
        (0.45, "lock", ""),
        (0.60, "term", "a"),
        (0.65, "start", "a"),
        (0.80, "kill", "a"),
        (0.85, "start", "a"),
    ],
}


class Control:
    """The fake's control API over HTTP (``/_fakeding/...``)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_fakeding/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fake_process(workdir: Path) -> Iterator[Control]:
    """``fakeding serve`` with a short redelivery delay, keeping the whole recording; its
    output goes to ``fake.log``."""
    cmd = [
        sys.executable,
        "-m",
        "fakeding.cli",
        "serve",
        "--port",
        "0",
        "--no-limits",
        "--set",
        f"redelivery_delay={REDELIVERY_DELAY}",
        "--set",
        "max_redeliveries=20",
    ]
    log = workdir / "fake.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not (match := SERVING.search(log.read_text(errors="replace"))):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fakeding serve did not start; see {log}")
            time.sleep(0.1)
        yield Control(match.group(1))
    finally:
        _stop(proc, signal.SIGTERM)


@contextmanager
def redis_process(workdir: Path) -> Iterator[str]:
    """A private ``redis-server`` on a free loopback port, without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; run: apt-get install -y redis-server")
    import redis

    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"redis-server did not answer on 127.0.0.1:{port}")
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc, signal.SIGTERM)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DINGTALK_", "OPENAI_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _stop(proc: subprocess.Popen[Any], sig: int) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(10)


class Robots:
    """The robot replicas by name, their logs, and what was done to them."""

    def __init__(self, workdir: Path, endpoint: str, store: str) -> None:
        from bot.elements import ELEMENTS_DIR
        from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

        self.workdir = workdir
        self.store = store
        self.demo = ELEMENTS_DIR / "imRobots.dingTalkDemo"
        self.env = _env()
        self.env.update(
            DINGTALK_OPENAPI_ENDPOINT=endpoint,
            DINGTALK_CLIENT_ID=DEFAULT_CLIENT_ID,
            DINGTALK_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        )
        self.live: dict[str, subprocess.Popen[bytes]] = {}
        self.counts: Counter[str] = Counter()
        self.term_exits: list[int] = []
        self.served: set[str] = set()

    def folder(self, name: str) -> Path:
        folder = self.workdir / name
        if not folder.exists():
            folder.mkdir()
            for file in ("e.json", "faq.md"):
                shutil.copy(self.demo / file, folder / file)
            config = {
                "clientId": "{{DINGTALK_CLIENT_ID}}",
                "clientSecret": "{{DINGTALK_CLIENT_SECRET}}",
                "agent": AGENT,
                "store": self.store,
                "ownerLease": OWNER_LEASE,
                "streamIdleTimeout": 15.0,
                "retryAttempts": 6,
            }
            (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
        return folder

    def start(self, name: str) -> None:
        folder = self.folder(name)
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.live[name] = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", str(folder)],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.counts["robot_starts"] += 1
        self.served.add(name)

    def kill(self, name: str) -> None:
        _stop(self.live.pop(name), signal.SIGKILL)
        self.counts["sigkills"] += 1

    def term(self, name: str) -> None:
        self.term_exits.append(_stop(self.live.pop(name), signal.SIGTERM))
        self.counts["sigterms"] += 1

    def stop_all(self) -> None:
        for name in list(self.live):
            self.term(name)

    def logs(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("*.log")) if p.name != "fake.log"
        )


def lock_store(kind: str, target: str) -> None:
    """Lock the store for writes for a few seconds, as another process could."""
    seconds = LOCK_SECONDS[kind]
    if kind == "redis":
        import redis

        client = redis.Redis.from_url(target)
        try:
            client.execute_command(  # type: ignore[no-untyped-call]
                "CLIENT", "PAUSE", int(seconds * 1000), "WRITE"
            )
        finally:
            client.close()
        return
    holder = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # SQLite's write lock, held by another connection

    def release() -> None:
        time.sleep(seconds)
        holder.execute("ROLLBACK")
        holder.close()

    threading.Thread(target=release, daemon=True).start()


def tally(control: Control, sent: dict[str, str]) -> dict[str, Any]:
    """Lost, duplicated and unfinished answers, from the fake's cards and webhook replies."""
    cards: Counter[str] = Counter()
    final: set[str] = set()
    unfinished = notices = 0
    for card in control.call("GET", "cards"):
        data = card["versions"][-1]["cardData"]
        title = data.get("header", {}).get("title", {}).get("text", "")
        ids = {e.get("id") for e in data.get("contents", [])}
        cards[title] += 1
        if "feedback" in ids:
            final.add(title)
            notices += "notice" in ids
        else:
            unfinished += 1
    webhooks: Counter[str] = Counter()
    for record in control.call("GET", "timeline?kind=webhook"):
        request = record.get("request") or {}
        webhooks[str((request.get("markdown") or {}).get("title", ""))] += 1
    answered = {t for t in sent if t in final or webhooks[t]}
    return {
        "answers_delivered": len(answered),
        "lost": len(sent) - len(answered),
        "duplicates": sum(max(0, cards[t] - 1) + max(0, webhooks[t] - 1) for t in sent),
        "unfinished_cards": unfinished,
        "final_cards_with_notice": notices,
        "webhook_fallbacks": sum(webhooks.values()),
        "lost_msg_ids": sorted(sent[t] for t in sent if t not in answered)[:10],
    }


def soak(
    workdir: Path,
    *,
    messages: int,
    users: int,
    duration: float,
    seed: int,
    store: str,
    settle_limit: float = 120.0,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.monotonic()
    with fake_process(workdir) as control, _store(workdir, store) as target:
        robots = Robots(workdir, control.url, target)
        robots.start("a")
        _wait(lambda: len(control.call("GET", "connections")) == 1, 30, "the first robot")
        schedule = sorted((int(f * messages), action, name) for f, action, name in SCHEDULES[store])
        frames = Counter[str]()
        sent: dict[str, str] = {}
        gap = duration / messages
        begin = time.monotonic()
        for n in range(messages):
            time.sleep(max(0.0, begin + n * gap - time.monotonic()))
            while schedule and schedule[0][0] <= n:
                _, action, name = schedule.pop(0)
                say(f"message {n}: {action} {name}".rstrip())
                if action == "start":
                    robots.start(name)
                elif action == "kill":
                    robots.kill(name)
                elif action == "term":
                    robots.term(name)
                else:
                    lock_store(store, target)
                    robots.counts["store_locks"] += 1
            roll = rng.random()
            if roll < 0.04:
                control.call("POST", "faults", {"kind": "frame", "action": "duplicate"})
                frames["duplicated_frames"] += 1
            elif roll < 0.08:  # the frame arrives after its redelivery, maybe on the other replica
                control.call(
                    "POST", "faults", {"kind": "frame", "action": "delay", "delay": REDELIVERY_DELAY + 1.0}
                )
                frames["late_frames"] += 1
            user = rng.randrange(users)
            question = f"question {n} from user {user}"
            if rng.random() < 0.5:
                conversation = {"id": f"cidSoakGroup{user % 10}==", "type": "group"}
            else:
                conversation = {"id": f"cidSoakDirect{user}==", "type": "single"}
            answer = control.call(
                "POST",
                "messages",
                {
                    "conversation": conversation,
                    "sender": {"staffId": f"user{user}"},
                    "text": question,
                    "atBot": True,
                },
            )
            sent[question] = answer["msgId"]
        sending = time.monotonic() - begin
        say(f"sent {messages} messages in {sending:.1f} s; settling")
        deadline = time.monotonic() + settle_limit
        while time.monotonic() < deadline:
            counts = tally(control, sent)
            if counts["lost"] == 0 and counts["unfinished_cards"] == 0:
                break
            time.sleep(1.0)
        time.sleep(REDELIVERY_DELAY + 1.5)  # a late duplicate would be answered by now
        robots.stop_all()
        counts = tally(control, sent)
        timeline = control.call("GET", "timeline?kind=redeliver&kind=connect")
        logs = robots.logs()
        result: dict[str, Any] = {
            "store": store,
            "messages_sent": len(sent),
            **counts,
            "replicas": len(robots.served),
            **{k: robots.counts[k] for k in ("robot_starts", "sigkills", "sigterms", "store_locks")},
            "sigterm_exit_codes": robots.term_exits,
            "recoveries": logs.count("recovery: message"),
            "dedup_skips": logs.count("skipped message"),
            "redeliveries": sum(1 for r in timeline if r["kind"] == "redeliver"),
            "connects": sum(1 for r in timeline if r["kind"] == "connect"),
            "frame_faults": dict(frames),
            "violations": len(control.call("GET", "violations")),
            "sending_s": round(sending, 1),
            "elapsed_s": round(time.monotonic() - started, 1),
        }
    return result


@contextmanager
def _store(workdir: Path, kind: str) -> Iterator[str]:
    if kind == "redis":
        with redis_process(workdir) as url:
            yield url
    elif kind == "sqlite":
        yield str(workdir / "robot.sqlite3")
    else:
        raise ValueError(f"store must be redis or sqlite, found {kind!r}")


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def run_processes(
    *,
    messages: int = 400,
    users: int = 60,
    duration: float = 60.0,
    seed: int = 1,
    store: str = "redis",
    keep: Path | None = None,
    settle_limit: float = 120.0,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Run the process soak in a temporary folder (or ``keep``, to read the logs after)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return soak(
            keep,
            messages=messages,
            users=users,
            duration=duration,
            seed=seed,
            store=store,
            settle_limit=settle_limit,
            say=say,
        )
    with tempfile.TemporaryDirectory(prefix="fakeding-soak-") as tmp:
        return soak(
            Path(tmp),
            messages=messages,
            users=users,
            duration=duration,
            seed=seed,
            store=store,
            settle_limit=settle_limit,
            say=say,
        )
