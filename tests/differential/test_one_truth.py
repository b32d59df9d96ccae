"""One truth, two clocks: each robot shape of the corpus (``shapes``) runs as a scenario in
virtual time and in real time outside the scenario engine (a ``ThreadedFakeDing`` and the
SDK's client on its own thread, the same steps at the same times), and both must reach the
same verdicts: answers per conversation, duplicate answers, unfinished and failed cards,
violations, and the largest ack latency within ``ACK_TOLERANCE`` seconds. A difference is a
bug of the kit's virtual time."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakeding.core.cards import Card
from fakeding.core.recorder import Record
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings
from fakeding.testing.scenarios import generic
from fakeding.testing.scenarios.harness import Harness
from fakeding.testing.scenarios.runner import _act, run_scenario
from fakeding.testing.scenarios.schema import load_scenario
from fakeding.testing.scenarios.sdk_robot import load_handlers
from fakeding.testing.sdk_endpoint import point_sdk_at
from fakeding.threaded import ThreadedFakeDing

from .shapes import SETTINGS, SHAPES, Shape

ACK_TOLERANCE = 1.0  # real runs add scheduling jitter (up to ~0.9 s seen with 2 busy cores)
LLM_SECONDS = 1.0
QUIET_REAL = 3.0  # real seconds with nothing new recorded (> any hold of the corpus): robot done


def verdicts(records: list[Record], cards: list[Card]) -> dict[str, Any]:
    counts = generic.answers(records)
    conv = {
        str(r.fields["msgId"]): str(r.fields["conversation"])
        for r in records
        if r.kind == "message" and r.fields.get("delivered")
    }
    conv.update(
        {str(r.fields["key"]): str(r.fields["conversation"]) for r in records if r.kind == "graph"}
    )  # a graph request is answered like a message
    per_conv: Counter[str] = Counter()
    for msg, n in counts.items():
        per_conv[conv[msg]] += n
    return {
        "answers": dict(sorted(per_conv.items())),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "unfinished_cards": sum(1 for c in cards if generic.unfinished_reason(c) is not None),
        "failed_cards": sum(1 for c in cards if c.failed),
        "violations": sum(1 for r in records if r.kind == "violation"),
        "webhook_replies": sum(1 for r in records if r.kind == "webhook" and r.fields.get("errcode") == 0),
        "card_versions": [len(c.versions) for c in cards],
        "max_ack_latency": generic.max_ack_latency(records),
    }


@contextlib.contextmanager
def llm_stand_in(delay: float) -> Iterator[str]:
    """A slow language model on loopback: answers after ``delay`` real seconds."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay)
            body = b"the model says hi"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ask"
    finally:
        server.shutdown()
        server.server_close()


def write_scenario(shape: Shape, folder: Path, llm_url: str | None) -> Path:
    (folder / f"{shape.name}_robot.py").write_text(shape.source, encoding="utf-8")
    acts = [s.get("say") or s.get("graph") or s.get("click") for s in shape.steps]
    users = sorted({a["user"] for a in acts if a})
    rooms = sorted({a["in"] for a in acts if a and "in" in a}) or ["team"]
    data: dict[str, Any] = {
        "name": shape.name,
        "robot": {"handler": f"{shape.name}_robot:Robot", "path": ["."]},
        "platform": {k: v for k, v in SETTINGS.items() if k in ("redelivery_delay", "webhook_per_minute")},
        "users": {u: {"nick": u.title()} for u in users},
        "conversations": {r: {"type": "group", "title": r} for r in rooms},
        "steps": shape.steps,
    }
    if llm_url is not None:
        data["latency"] = {llm_url.split("/")[2]: LLM_SECONDS}
    path = folder / f"{shape.name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def serve_client(loop: asyncio.AbstractEventLoop, client: Any) -> None:
    """The SDK client on its own thread until the loop is stopped; then everything closed."""
    asyncio.set_event_loop(loop)
    loop.create_task(client.start())
    loop.run_forever()
    for _ in range(5):  # the SDK catches CancelledError once in start() and sleeps
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not tasks:
            break
        for task in tasks:
            task.cancel()
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.wait(tasks, timeout=0.5))
    if client.websocket is not None:
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.wait_for(client.websocket.close(), 1))
    loop.close()


def run_real(path: Path) -> tuple[list[Record], list[Card]]:
    """The same robot and steps in real time: the fake on its thread, the SDK on its own."""
    import dingtalk_stream as ds

    scenario = load_scenario(path)
    td = ThreadedFakeDing(Settings().replace(**SETTINGS)).start()
    fake = td.fake
    patch = point_sdk_at(fake.http_url)
    handlers = load_handlers(str(scenario.options["handler"]), [path.parent])

    class Client(ds.DingTalkStreamClient):  # type: ignore[misc]
        def get_host_ip(self) -> str:
            return "127.0.0.1"

    client = Client(ds.Credential(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))
    for topic, handler in handlers.items():
        if topic == "*":
            client.register_all_event_handler(handler)
        else:
            client.register_callback_handler(topic, handler)
    loop = asyncio.new_event_loop()
    robot = threading.Thread(target=serve_client, args=(loop, client), daemon=True)
    robot.start()
    try:
        deadline = time.monotonic() + 20
        while not td.call(lambda: bool(fake.stream.live_connections(DEFAULT_CLIENT_ID))):
            assert time.monotonic() < deadline, "the SDK client did not connect"
            time.sleep(0.01)
        h = Harness(fake, None)  # type: ignore[arg-type]  # _act only uses h.fake
        start = time.monotonic()
        users, convs = scenario.data.get("users") or {}, scenario.data.get("conversations") or {}
        for step in scenario.steps:
            time.sleep(max(0.0, start + step.at - time.monotonic()))
            td.call(_act, h, scenario, step, users, convs)
        seen, quiet_since, cap = -1, time.monotonic(), time.monotonic() + 60
        while time.monotonic() < cap:
            total = td.call(lambda: fake.recorder.total)
            if total != seen or td.call(fake.stream.in_flight):
                seen, quiet_since = total, time.monotonic()
            elif time.monotonic() - quiet_since > QUIET_REAL:
                break
            time.sleep(0.05)
        records = td.call(lambda: list(fake.recorder.records))
        cards = td.call(fake.platform.cards.all)
        return records, cards
    finally:
        for handler in handlers.values():
            if isinstance(handler, ds.AsyncChatbotHandler):
                handler.async_executor.shutdown(wait=False, cancel_futures=True)
        loop.call_soon_threadsafe(loop.stop)
        robot.join(timeout=5)
        td.stop()
        patch.undo()


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_virtual_and_real_time_agree(shape: Shape, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with llm_stand_in(0.0) as url:  # virtual: the declared latency stands for the model
        monkeypatch.setenv("LLM_URL", url)
        path = write_scenario(shape, tmp_path, url if shape.llm else None)
        result = run_scenario(path)
        virtual = verdicts(result.records, result.cards)
    with llm_stand_in(LLM_SECONDS) as url:
        monkeypatch.setenv("LLM_URL", url)
        path = write_scenario(shape, tmp_path, url if shape.llm else None)
        real = verdicts(*run_real(path))
    assert sum(real["answers"].values()) + real["webhook_replies"] > 0 or shape.name == "event_handler", real
    late = abs(virtual.pop("max_ack_latency") - real.pop("max_ack_latency"))
    assert virtual == real
    assert late <= ACK_TOLERANCE, f"ack latencies differ by {late:.3f} s"
    if shape.llm:
        outside = [r for r in result.records if r.kind == "robot.outside"]
        assert outside and "1 virtual s each" in str(outside[0].fields), outside
