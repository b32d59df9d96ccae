"""One virtual clock across threads and loops (``fakeding.testing.vtime``): real threads, real loopback
sockets, a real asyncio server on the run's loop."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fakeding.testing.vtime.coordinator as coordinator_module
from fakeding.testing.scenarios.harness import frozen_wall_clock
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.testing.scenarios.sdk_robot import _fresh_import
from fakeding.testing.vtime import VirtualTimeError
from fakeding.testing.vtime.run import run_threaded

EPOCH = 1_000_000.0


def run(main: Any, **kwargs: Any) -> Any:
    with frozen_wall_clock(EPOCH):
        return run_threaded(main, epoch=EPOCH, end=kwargs.pop("end", 1000.0), **kwargs)


async def echo_server(delay: float) -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        await asyncio.sleep(delay)
        writer.write(line)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_threads_sleeps_and_loopback_calls_share_one_clock() -> None:
    async def main() -> list[tuple[str, float, float]]:
        loop = asyncio.get_running_loop()
        seen: list[tuple[str, float, float]] = []
        server, port = await echo_server(5.0)

        def sleeper() -> None:
            time.sleep(50)
            seen.append(("sleeper", loop.time(), time.time() - EPOCH))

        def client() -> None:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                time.sleep(3)
                sock.sendall(b"hi\n")
                sock.makefile().readline()
            seen.append(("client", loop.time(), time.time() - EPOCH))

        threads = [threading.Thread(target=sleeper), threading.Thread(target=client)]
        for t in threads:
            t.start()
        await asyncio.sleep(100)
        seen.append(("main", loop.time(), time.time() - EPOCH))
        for t in threads:
            t.join()
        server.close()
        return seen

    assert run(main) == [("client", 8.0, 8.0), ("sleeper", 50.0, 50.0), ("main", 100.0, 100.0)]


def test_time_never_jumps_past_a_timer_a_waiting_loop_has_not_seen() -> None:
    """A timer put on a loop that is already waiting (here by another thread, without waking
    it) must fire at its time, not at the loop's next deadline: the jump stops at the earliest
    pending timer of every virtual loop. Before that rule it fired at t=100."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        fired: list[float] = []

        def behind_its_back() -> None:
            time.sleep(1)
            loop.call_at(loop.time() + 2, lambda: fired.append(loop.time()))  # no wake-up

        helper = threading.Thread(target=behind_its_back)
        helper.start()
        await asyncio.sleep(100)
        helper.join()
        return fired

    assert run(main) == [3.0]


def test_a_reply_in_flight_over_loopback_arrives_before_a_later_timer() -> None:
    """A thread (no loop of its own) sends and blocks for the reply: the server's loop must see
    the request before time jumps to its 10 s timer. Repeated: the race is a matter of
    microseconds (before sends from such threads counted as activity, it lost some rounds)."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        server, port = await echo_server(0.0)
        answered: list[float] = []

        def ask() -> None:
            for _ in range(20):
                with socket.create_connection(("127.0.0.1", port)) as sock:
                    sock.sendall(b"now?\n")
                    sock.makefile().readline()
                answered.append(loop.time())

        thread = threading.Thread(target=ask)
        thread.start()
        await asyncio.sleep(10)
        thread.join()
        server.close()
        return answered

    assert run(main) == [0.0] * 20


@contextlib.contextmanager
def outside_server(delay: float) -> Iterator[int]:
    """An HTTP server that is not part of the run (started before it, on its own thread)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def call_outside(port: int) -> Any:
    async def main() -> tuple[float, Any]:
        import urllib.request

        loop = asyncio.get_running_loop()

        def fetch() -> float:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as reply:
                reply.read()
            return loop.time()

        at = await loop.run_in_executor(None, fetch)
        clock: Any = loop._vclock  # type: ignore[attr-defined]
        return at, clock.outside

    return main


def test_an_outside_call_costs_its_declared_latency_and_is_reported() -> None:
    with outside_server(0.0) as port:
        at, outside = run(call_outside(port), latency={f"127.0.0.1:{port}": 3.0})
    assert at == 3.0
    (call,) = outside.calls.values()
    assert (call.host, call.count, call.virtual_cost) == (f"127.0.0.1:{port}", 1, 3.0)
    assert outside.advice_for(call) == "3 virtual s each (latency:)"


def test_an_outside_call_without_latency_holds_the_clock_and_says_what_to_do() -> None:
    with outside_server(0.2) as port:  # 0.2 real seconds: virtual time must not move meanwhile
        at, outside = run(call_outside(port))
    assert at == 0.0
    (call,) = outside.calls.values()
    assert call.real_seconds >= 0.2
    assert f'declare `latency: {{"127.0.0.1:{port}": SECONDS}}`' in outside.advice_for(call)


def test_a_thread_that_never_waits_stops_the_run_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coordinator_module, "STUCK_REAL", 0.3)
    stop = threading.Event()

    async def main() -> None:
        def spin() -> None:
            while not stop.is_set():
                sum(range(100))

        threading.Thread(target=spin, name="spinner").start()
        await asyncio.sleep(1)

    try:
        with pytest.raises(VirtualTimeError, match=r"could not move .* busy: spinner at "):
            run(main)
    finally:
        stop.set()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_driver_that_fails_ends_the_run_naming_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without it, every loop of the run would wait forever for time to move."""
    judge = coordinator_module.Coordinator.judge

    def failing(self: coordinator_module.Coordinator, frames: Any = None) -> Any:
        if self.now >= 1:  # (the run under way: its first sleep over)
            raise RuntimeError("boom")
        return judge(self, frames)

    monkeypatch.setattr(coordinator_module.Coordinator, "judge", failing)

    async def main() -> None:
        await asyncio.sleep(1)
        await asyncio.sleep(5)

    with pytest.raises(
        VirtualTimeError, match=r"its driver failed \(RuntimeError: boom at test_vtime\.py:\d+\)"
    ):
        run(main)


def test_a_thread_whose_frame_cannot_be_read_is_busy_and_the_driver_goes_on() -> None:
    """CPython 3.11 once handed the driver an object that was no frame ("'bool' object has no
    attribute 'f_code'"), which ended the driver. Such a thread is busy for that look, and a
    run's end rule names it rather than failing."""
    coordinator = coordinator_module.Coordinator()
    me, other = threading.get_ident(), max(threading._active) + 1  # (no thread has the other id)
    unreadable: Any = True
    verdict = coordinator.judge({me: unreadable, other: unreadable})
    assert not verdict.idle
    assert [b for b in verdict.busy if "its frame could not be read: AttributeError" in b] == verdict.busy
    assert len(verdict.busy) == 2
    [(ident, what)] = coordinator.pending(frames={other: unreadable})
    assert ident == other and "its frame could not be read" in what


ROBOT = """
import os, random, threading, time, dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage

class Later(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        msg = ChatbotMessage.from_dict(callback.data)
        os.environ["ROBOT_WAS_HERE"] = "1"
        def answer():
            time.sleep(30)
            self.reply_text("late %.6f" % random.random(), msg)
        threading.Thread(target=answer, name="answerer").start()
        return AckMessage.STATUS_OK, "OK"

class Forever(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        def poll():
            while True:
                time.sleep(1)
        threading.Thread(target=poll, name="poller", daemon=True).start()
        return AckMessage.STATUS_OK, "OK"

class Broken(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        raise ValueError("the robot's own bug")
"""


def scenario(tmp_path: Path, handler: str, extra: str = "") -> Path:
    (tmp_path / "robot_mod.py").write_text(ROBOT, encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(
        f"name: t\nrobot: {{handler: 'robot_mod:{handler}', path: ['.']}}\n"
        "users: {alice: {}}\nconversations: {g: {type: group}}\n"
        f"steps:\n  - at: 1\n    say: {{user: alice, in: g, text: hi}}\n{extra}",
        encoding="utf-8",
    )
    return path


def bot_texts(result: Any) -> list[str]:
    return [e.text for e in result.transcript if e.who == "bot"]


def test_the_run_waits_for_a_robot_thread_and_seeds_its_random(tmp_path: Path) -> None:
    first = run_scenario(scenario(tmp_path, "Later", "seed: 7\n"))
    again = run_scenario(scenario(tmp_path, "Later", "seed: 7\n"))
    other = run_scenario(scenario(tmp_path, "Later", "seed: 8\n"))
    assert [(round(r.t), r.kind) for r in first.records if r.kind == "webhook"] == [(31, "webhook")]
    assert bot_texts(first) == bot_texts(again) != bot_texts(other)
    assert "ROBOT_WAS_HERE" not in __import__("os").environ  # each run has its own environment


def test_a_robot_thread_still_running_at_the_cap_is_named_and_stopped(tmp_path: Path) -> None:
    result = run_scenario(scenario(tmp_path, "Forever", "settle: 20\n"))
    unfinished = [r.fields for r in result.records if r.kind == "robot.unfinished"]
    assert len(unfinished) == 1
    assert any("thread poller sleeping until" in p for p in unfinished[0]["pending"])
    stopped = [r.fields for r in result.records if r.kind == "robot.thread_stopped"]
    assert [(s["thread"], s["reason"]) for s in stopped] == [("poller", "still running when the run ended")]
    # the cap (t=21) falls on one of the poller's wake-ups: whether the stop sees it before or
    # after it went back to sleep is the order of two events at the same virtual instant
    assert stopped[0]["doing"] in (
        "thread poller sleeping until t=21.000s",
        "thread poller sleeping until t=22.000s",
    )
    for t in threading.enumerate():
        if t.name == "poller":
            t.join(timeout=5)
            assert not t.is_alive()


def test_a_robot_exception_is_recorded_with_its_traceback(tmp_path: Path) -> None:
    result = run_scenario(scenario(tmp_path, "Broken"))
    found = [r.fields for r in result.records if r.kind == "robot.exception"]
    assert len(found) == 2  # never acked: the platform redelivers once, the robot fails again
    for exc in found:
        assert (exc["type"], exc["message"]) == ("ValueError", "the robot's own bug")
        assert "robot_mod.py" in exc["traceback"] and exc["where"].startswith("handling ")


def test_a_fresh_robot_import_never_purges_installed_packages(tmp_path: Path) -> None:
    import dingtalk_stream

    (tmp_path / "rootbot.py").write_text("X = 1\n", encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:  # a root holding the venv (``path: [..]`` at a project root) holds the SDK too
        module = _fresh_import("rootbot", [tmp_path, Path(sys.prefix)])
    finally:
        sys.path.remove(str(tmp_path))
    assert module.X == 1
    assert sys.modules["dingtalk_stream"] is dingtalk_stream


def test_after_a_run_the_sdk_points_where_it_did_before(tmp_path: Path) -> None:
    """A test session's own fake stays the SDK's endpoint after a handler scenario (it was
    left on the scenario's stopped fake, failing every later SDK test in the session)."""
    import dingtalk_stream.utils as utils

    from fakeding.testing.sdk_endpoint import point_sdk_at

    patch = point_sdk_at("http://127.0.0.1:4321")
    try:
        run_scenario(scenario(tmp_path, "Broken", "settle: 1\n"))
        endpoint = utils.DINGTALK_OPENAPI_ENDPOINT
        assert endpoint == "http://127.0.0.1:4321"
    finally:
        patch.undo()
