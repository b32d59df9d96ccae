"""The live view's server side: recorder listeners, the SSE stream, run-time settings, the page's
files, "Save as scenario" (replayed by the scenario runner) and ``fakeding serve -v``."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import requests
import websockets
import yaml

from bot.scenario_adapter import open_harness, run_virtual
from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDing, ThreadedFakeDing
from fakeding.aio.live import Console, export_scenario, feed_of
from fakeding.aio.scenario_yaml import to_yaml
from fakeding.core.export import session_scenario
from fakeding.core.platform import Platform
from fakeding.core.recorder import Record, Recorder
from fakeding.core.settings import Settings
from fakeding.core.terminal import printable
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.testing.scenarios.schema import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def _message(fake: ThreadedFakeDing, text: str, **kw: Any) -> requests.Response:
    body = {
        "conversation": {"id": "cidLive1", "type": "group", "title": "Live"},
        "sender": {"staffId": "alice", "nick": "Alice"},
        "text": text,
        **kw,
    }
    r = requests.post(fake.http_url + "/_fakeding/messages", json=body, timeout=10)
    assert r.status_code == 200, r.text
    return r


# -- the recorder hook ----------------------------------------------------------------------------


def test_recorder_listeners_see_each_record_in_order_and_follow_resets() -> None:
    seen: list[Record] = []
    p = Platform(Settings())
    p.recorder.listeners.append(seen.append)
    a = p.recorder.add(1.0, "message", n=1)
    b = p.recorder.add(2.0, "violation", reason="x")
    assert seen == [a, b]
    p.reset()
    c = p.recorder.add(0.5, "connect", connection="c1")
    assert seen == [a, b, c] and c.seq == 1  # a fresh recorder, the same listeners
    assert Recorder().listeners == []


# -- the page and its files -----------------------------------------------------------------------


def test_page_is_served_at_the_root_with_its_files(fakeding: ThreadedFakeDing) -> None:
    r = requests.get(fakeding.http_url + "/", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert '<script src="/_fakeding/web/app.js">' in r.text
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        f = requests.get(f"{fakeding.http_url}/_fakeding/web/{name}", timeout=10)
        assert f.status_code == 200 and f.headers["Content-Type"].startswith(kind)
        offline = f.text.replace('"http://www.w3.org/2000/svg"', "")  # a name, not a fetch
        assert "http://" not in offline and "https://" not in offline  # no CDN: works offline
    missing = requests.get(fakeding.http_url + "/_fakeding/web/nope.js", timeout=10)
    assert missing.status_code == 404 and "app.js" in missing.text
    assert requests.get(fakeding.http_url + "/favicon.ico", timeout=10).status_code == 204
    assert fakeding.timeline() == []  # the page's traffic is not recorded


# -- server-sent events ---------------------------------------------------------------------------


def _follow(url: str, found: list[dict[str, Any]], ready: threading.Event, until: Any) -> threading.Thread:
    def run() -> None:
        with requests.get(url, stream=True, timeout=10) as r:
            assert r.headers["Content-Type"] == "text/event-stream; charset=utf-8"
            for line in r.iter_lines(decode_unicode=True):
                if line.startswith("data: "):
                    found.append(json.loads(line[6:]))
                    ready.set()
                    if until(found):
                        return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_events_start_with_a_snapshot_then_follow_the_recorder(fakeding: ThreadedFakeDing) -> None:
    _message(fakeding, "before", atBot=False)
    found: list[dict[str, Any]] = []
    ready = threading.Event()
    thread = _follow(
        fakeding.http_url + "/_fakeding/events",
        found,
        ready,
        lambda evs: any(e["type"] == "say" and e["text"] == "after" for e in evs),
    )
    assert ready.wait(10)
    snap = found[0]
    assert snap["type"] == "snapshot"
    assert [r["kind"] for r in snap["records"]] == ["message"]
    assert snap["transcript"][0]["text"] == "before"
    assert snap["settings"]["qps_limit"] == 20
    _message(fakeding, "after", atBot=False)
    thread.join(10)
    assert not thread.is_alive()
    live = found[1:]
    record = next(e for e in live if e["type"] == "record")
    assert record["kind"] == "message" and record["fields"]["sender"] == "alice"
    assert record["seq"] == 2 and record["line"].startswith("user alice → [cidLive1] msg#2 text")
    say = next(e for e in live if e["type"] == "say")
    assert say == {
        "type": "say",
        "t": say["t"],
        "who": "user:alice",
        "kind": "text",
        "text": "after",
        "ref": record["fields"]["msgId"],
        "conversation": "cidLive1",
        "conversationType": "group",
        "title": "Live",
    }


def test_a_tab_closed_during_its_first_snapshot_is_not_a_fake_failure() -> None:
    """A follower that leaves while its (large) snapshot is being written is a client going
    away, not a fake bug: no violation, so the pytest fixture's check() stays green."""

    async def run() -> list[Record]:
        fake = FakeDing()
        await fake.start()
        try:
            parts = {f"part{k}": "x" * 2000 for k in range(8)}  # fields are clipped at ~2 kB
            for i in range(600):  # a snapshot of several MB (its latest 500 records): the write
                fake.record("note", n=i, **parts)  # waits on the socket
            feed = feed_of(fake)
            for _ in range(3):
                reader, writer = await asyncio.open_connection("127.0.0.1", fake.http_port)
                writer.write(
                    f"GET /_fakeding/events HTTP/1.1\r\nHost: 127.0.0.1:{fake.http_port}\r\n\r\n".encode()
                )
                await writer.drain()
                assert (await reader.read(1000)).startswith(b"HTTP/1.1 200")
                await fake.wait_until(lambda: feed.sinks, what="the stream to follow")
                sock = writer.get_extra_info("socket")  # close with a reset, as a killed tab may
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.close()
                await fake.wait_until(lambda: not feed.sinks, what="the stream handler to end")
            return list(fake.violations)
        finally:
            await fake.stop()

    assert asyncio.run(run()) == []


def test_card_events_carry_the_version_shown(fakeding: ThreadedFakeDing) -> None:
    from tests.fakeding.test_control_api import CARD_DATA, _send_card

    found: list[dict[str, Any]] = []
    ready = threading.Event()
    thread = _follow(
        fakeding.http_url + "/_fakeding/events",
        found,
        ready,
        lambda evs: any(e.get("kind") == "card.send" for e in evs),
    )
    assert ready.wait(10)
    _send_card(fakeding, "card-live", "cidLive1")
    thread.join(10)
    event = next(e for e in found if e.get("kind") == "card.send")
    assert event["card"]["id"] == "card-live" and event["card"]["version"] == 1
    assert event["card"]["cardData"] == CARD_DATA and event["card"]["cardKind"] == "interactive"


def test_a_reset_is_announced_to_followers(fakeding: ThreadedFakeDing) -> None:
    found: list[dict[str, Any]] = []
    ready = threading.Event()
    thread = _follow(
        fakeding.http_url + "/_fakeding/events",
        found,
        ready,
        lambda evs: any(e.get("type") == "record" for e in evs),
    )
    assert ready.wait(10)
    fakeding.reset()
    _message(fakeding, "fresh", atBot=False)
    thread.join(10)
    assert [e["type"] for e in found[1:3]] == ["reset", "record"]
    assert found[2]["seq"] == 1


# -- settings at run time -------------------------------------------------------------------------


def test_settings_change_at_run_time_and_keep_the_run(fakeding: ThreadedFakeDing) -> None:
    _message(fakeding, "kept", atBot=False)
    url = fakeding.http_url + "/_fakeding/settings"
    assert requests.get(url, timeout=10).json()["redelivery_delay"] == 60.0
    r = requests.post(
        url, json={"qps_limit": None, "redelivery_delay": 5, "redelivery_new_message_id": True}, timeout=10
    )
    assert r.status_code == 200, r.text
    assert r.json()["qps_limit"] is None and r.json()["redelivery_delay"] == 5
    assert fakeding.settings.redelivery_delay == 5 and fakeding.settings.qps_limit is None
    assert len(fakeding.timeline()) == 1  # nothing was reset
    for body, field, words in (
        ({"qps_limit": "many"}, "qps_limit", "a whole number >= 0 or null, found 'many'"),
        ({"max_redeliveries": None}, "max_redeliveries", "cannot be switched off"),
        ({"redelivery_new_message_id": 1}, "redelivery_new_message_id", "true or false"),
        ({"host": "0.0.0.0"}, "host", "no such setting; expected one of seed"),
    ):
        bad = requests.post(url, json=body, timeout=10)
        assert bad.status_code == 400 and bad.json()["field"] == field, bad.text
        assert words in bad.json()["error"]
    bad = requests.post(url, data=b"[1]", timeout=10, headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["field"] == "body"


def test_connections_list_the_live_ones(fakeding: ThreadedFakeDing) -> None:
    assert requests.get(fakeding.http_url + "/_fakeding/connections", timeout=10).json() == []


# -- save as scenario -----------------------------------------------------------------------------


async def _session(tmp: Path) -> str:
    """A session by hand, in virtual time: a question, its answer, a vote, a fault."""
    robot = {"agent": {"name": "faq", "delay": 0.12}, "locale": "en"}
    async with open_harness(robot=robot) as h:
        fake = h.fake
        fake.send_message(
            "How do I reset my password?",
            conversation_id="cidSupport==",
            title="Acme support",
            staff_id="alice",
            nick="Alice",
        )
        await h.settle()
        await asyncio.sleep(3)
        fake.click(fake.platform.cards.all()[0].id, staff_id="alice", button_id="feedback_helpful")
        await h.settle()
        fake.send_message(
            "Can I get a refund?",
            conversation_id="cidBob",
            conversation_type="single",
            staff_id="bob",
            nick="Bob",
        )
        await h.settle()
        fake.fault({"kind": "disconnect"})
        await asyncio.sleep(15)
        await h.settle()
        return to_yaml(export_scenario(fake, "by hand"))


def test_exported_session_replays_as_a_scenario(tmp_path: Path) -> None:
    text = run_virtual(lambda: _session(tmp_path))
    path = tmp_path / "session.yaml"
    path.write_text(text, encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["users"] == {"alice": {"nick": "Alice"}, "bob": {"nick": "Bob"}}
    assert data["conversations"] == {
        "Support": {"type": "group", "title": "Acme support"},
        "Bob": {"type": "single"},
    }
    kinds = [next(k for k in ("say", "click", "fault") if k in s) for s in data["steps"]]
    assert kinds == ["say", "click", "say", "fault"]
    assert data["steps"][1]["click"] == {"user": "alice", "card": 1, "button": "feedback_helpful"}
    assert len(data["steps"][0]["answer"]["chunks"]) > 1  # streamed, as seen
    assert data["expect"] == {"cards": 2, "violations": 0}
    load_scenario(path)  # valid against the schema
    result = run_scenario(path)
    assert not result.failed, result.expectations
    said = [(e.who, e.text) for e in result.transcript if e.kind != "card"]
    assert said == [
        ("user:alice", "How do I reset my password?"),
        ("user:alice", "😊 Helpful"),
        ("user:bob", "Can I get a refund?"),
    ]
    answer = "".join(data["steps"][0]["answer"]["chunks"])
    final = result.cards[0].current["contents"][0]["text"]
    assert final == answer
    assert any(r.kind == "bot.feedback" for r in result.records)


def test_export_keeps_changed_settings_and_non_text_messages() -> None:
    p = Platform(Settings())
    p.recorder.add(
        1.0,
        "message",
        conversation="cidG",
        sender="u",
        msgtype="picture",
        msgId="m1",
        atBot=False,
        delivered=False,
    )
    s = session_scenario(p.recorder, [], [], {}, {}, {}, settings={"qps_limit": None})
    assert s["platform"] == {"qps_limit": None}
    assert s["steps"] == [{"at": 0.0, "say": {"user": "u", "in": "G", "msgtype": "picture", "atBot": False}}]
    assert s["conversations"] == {"G": {"type": "group", "title": "cidG"}}


# -- the console ----------------------------------------------------------------------------------


def test_console_prints_one_line_per_event_and_a_summary() -> None:
    out = io.StringIO()
    console = Console(out, color=True)
    console(
        [
            {"type": "record", "kind": "message", "t": 0.5, "fields": {}, "line": "user a → x"},
            {"type": "say", "who": "bot", "text": "an answer\nover two lines", "conversation": "cidX"},
            {
                "type": "record",
                "kind": "api",
                "t": 0.9,
                "fields": {"status": 200},
                "line": "api",
                "quiet": True,
            },
            {"type": "record", "kind": "api", "t": 1.0, "fields": {"status": 403}, "line": "api"},
            {"type": "record", "kind": "violation", "t": 2.0, "fields": {}, "line": "VIOLATION y"},
            {"type": "reset"},
        ]
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "+0.500s user a → x"
    assert lines[1].strip() == "robot in [cidX]: an answer over two lines"  # what was said
    assert lines[2] == "\x1b[33m+1.000s api\x1b[0m"  # a refused call stands out
    assert lines[3] == "\x1b[1;31m!! +2.000s VIOLATION y\x1b[0m" and lines[4] == "-- reset --"
    assert console.summary() == (
        "summary: 1 messages, 1 answers, 0 cards, 0 updates, 1 API errors, 1 violations"
    )


def test_console_neutralises_terminal_escapes_from_robot_and_user_data(fakeding: ThreadedFakeDing) -> None:
    """A staff id (user data) and a robot's request path carrying ESC/CSI/BEL/C1/bidi controls
    are printed as visible escapes: ``serve -v`` never lets them drive the terminal."""
    nasty = "z\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eoe"
    _message(fakeding, "hi", atBot=False, sender={"staffId": nasty})
    fakeding.expect_violation("unknown route")
    requests.get(fakeding.http_url + "/v1.0/%1b[2Jgone%07", timeout=10)  # a violation
    feed = feed_of(fakeding.fake)
    events = [feed.record_event(r) for r in fakeding.fake.recorder.records]
    out = io.StringIO()
    Console(out, color=True)(events)
    text = out.getvalue()
    ours = text.replace("\x1b[1;31m", "").replace("\x1b[33m", "").replace("\x1b[0m", "")
    # (the console's own colours: violations red, refused calls yellow)
    assert not [ch for ch in ours if ch != "\n" and not ch.isprintable()], ours
    assert "user z\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eoe → [cidLive1]" in text
    assert "/v1.0/\\x1b[2Jgone\\x07" in text
    assert printable("中文 😊 tab\there") == "中文 😊 tab\there"  # the rest is untouched


def test_serve_verbose_prints_events_as_they_happen_and_a_summary() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakeding.cli", "serve", "--port", "0", "-v"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.split("serving on ")[1].split()[0]
        while "Ctrl-C" not in proc.stdout.readline():
            pass
        requests.post(
            url + "/_fakeding/messages",
            timeout=10,
            json={
                "conversation": {"id": "cidV", "type": "group"},
                "sender": {"staffId": "zoe"},
                "text": "hi",
                "atBot": False,
            },
        )
        line = proc.stdout.readline()
        assert line.startswith("+") and "user zoe → [cidV] msg#1 text (not delivered" in line
        requests.get(url + "/v1.0/nothing/here", timeout=10)  # a violation
        said = proc.stdout.readline()
        assert said.strip() == "zoe in [cidV]: hi", said  # what was said, not only that it was
        lines = [proc.stdout.readline() for _ in range(2)]
        assert any(x.startswith("!! +") and "VIOLATION" in x for x in lines), lines
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert rest.strip().endswith(
            "summary: 1 messages, 0 answers, 0 cards, 0 updates, 1 API errors, 1 violations"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_console_says_what_the_doctor_finds_when_a_robot_first_connects(
    fakeding: ThreadedFakeDing,
) -> None:
    """``serve -v``: a robot subscribed only to events hears, at its first connect, that it will
    never receive robot messages; the summary adds the rest of the doctor's findings."""
    out = io.StringIO()
    console = Console(out, color=False, doctor=fakeding.fake.doctor)
    stop = fakeding.call(lambda: feed_of(fakeding.fake).add_sink(console))
    try:
        opened = requests.post(
            fakeding.http_url + "/v1.0/gateway/connections/open",
            timeout=10,
            json={
                "clientId": DEFAULT_CLIENT_ID,
                "clientSecret": DEFAULT_CLIENT_SECRET,
                "subscriptions": [{"type": "EVENT", "topic": "*"}],
            },
        ).json()

        async def robot() -> None:
            async with websockets.connect(f"{opened['endpoint']}?ticket={opened['ticket']}"):
                await asyncio.to_thread(fakeding.wait_for, "connect")
                fakeding.send_message("anyone?", at_bot=False)

        asyncio.run(robot())
        fakeding.wait_until(lambda: "no-robot-topic" in out.getvalue(), what="the doctor line")
        doctor = [line for line in out.getvalue().splitlines() if line.startswith("doctor:")]
        assert doctor[0].startswith(
            "doctor: [error] no-robot-topic: app fakeding-client is "
            "connected but will never receive robot messages"
        )
        assert len(doctor) == 1  # at a connect only errors; the rest waits for the summary
        fakeding.call(console.summary)
        assert "doctor: [info] group-without-at" in out.getvalue()
    finally:
        fakeding.call(stop)
