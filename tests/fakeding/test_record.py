"""``fakeding record`` as a process between a real-SDK robot process and a fake playing
DingTalk: people's questions get the robot's answers upstream, the written scenario replays
against the same robot with the same answers, and neither file holds a secret or a token."""

from __future__ import annotations

import asyncio
import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

from fakeding.relay.edge import cassette_path
from fakeding.testing.process import RobotProcess
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.threaded import ThreadedFakeDing

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# The robot's own folder: the handler adapter re-imports every module under its path.
ROBOT_DIR = HERE / "record_robot"
APP, SECRET = "dingrelayapp01", "relay-secret-Zq81xW"


@contextmanager
def recorder(
    upstream: str, out: Path, *extra: str, app: str = f"{APP}:{SECRET}"
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``fakeding record`` started, yielded once it printed its banner (its lines so far)."""
    cmd = [
        sys.executable,
        "-m",
        "fakeding.cli",
        "record",
        "--upstream",
        upstream,
        "--app",
        app,
        "--out",
        str(out),
        *extra,
    ]
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        seen: list[str] = []
        try:
            while not seen or not seen[-1].startswith("Ctrl-C"):
                line = lines.get(timeout=20)
                if line is None:
                    err = proc.stderr.read() if proc.stderr else ""
                    pytest.fail(f"fakeding record exited early: {seen}\n{err}")
                seen.append(line)
            yield proc, seen
            while (line := lines.get(timeout=20)) is not None:
                seen.append(line)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def until(what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def robot_answers(fake: ThreadedFakeDing) -> list[str]:
    """What the robot said upstream, in order: webhook texts and final card answers."""

    def read() -> list[str]:
        out = [
            e.text for e in fake.fake.platform.transcript if e.who == "bot" and e.kind.startswith("webhook:")
        ]
        for card in fake.fake.platform.cards.all():
            out.append(json.dumps(card.versions[-1].card_data, sort_keys=True))
        return out

    return fake.call(read)


def test_a_recorded_session_relays_unchanged_and_replays_with_the_same_answers(tmp_path: Path) -> None:
    out = tmp_path / "field.yaml"
    with ThreadedFakeDing(apps=[(APP, SECRET)]) as upstream:
        with recorder(upstream.http_url, out) as (proc, banner):
            url = banner[0].split("serving on ", 1)[1].split(" ", 1)[0]
            assert banner[0].startswith("fakeding is serving on http://127.0.0.1:")
            assert not any(SECRET in line for line in banner)
            robot = RobotProcess(
                upstream,
                [sys.executable, str(ROBOT_DIR / "relay_robot.py")],
                env={"DINGTALK_OPENAPI_ENDPOINT": url},
                client_id=APP,
                client_secret=SECRET,
            )
            robot.start()
            try:
                upstream.send_message(
                    "what is two and two",
                    conversation_id="cidTeamRoom01",
                    title="Team Room",
                    staff_id="alice0042",
                    nick="Alice Wong",
                )
                until("the webhook answer", lambda: len(robot_answers(upstream)) == 1)
                upstream.send_message(
                    "card for me",
                    conversation_id="cidBobDirect77",
                    conversation_type="single",
                    staff_id="bob0077",
                    nick="Bob Li",
                )
                until(
                    "the card's update",
                    lambda: any("echo: card for me" in a for a in robot_answers(upstream)),
                )
                live = robot_answers(upstream)
                # DingTalk's own errors come back unchanged (same status, same body shape)
                bad = {"x-acs-dingtalk-access-token": "not-a-token", "Content-Type": "application/json"}
                via, direct = (
                    requests.put(
                        base + "/v1.0/im/robots/interactiveCards",
                        json={"cardBizId": "x"},
                        headers=bad,
                        timeout=10,
                    )
                    for base in (url, upstream.http_url)
                )
                assert via.status_code == direct.status_code == 400
                assert via.json()["code"] == direct.json()["code"]
                tokens = upstream.call(lambda: list(upstream.fake.platform.tokens))
                assert tokens, "the robot fetched a token through the relay"
            finally:
                robot.stop()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        assert live[0] == "echo: what is two and two"
    scenario_text = out.read_text(encoding="utf-8")
    tape_text = cassette_path(out).read_text(encoding="utf-8")
    for text in (scenario_text, tape_text):
        assert SECRET not in text
        for token in tokens:
            assert token not in text
        for private in ("alice0042", "bob0077", "Alice Wong", "Bob Li", "cidTeamRoom01", APP):
            assert private not in text, private
    scenario = yaml.safe_load(scenario_text)
    says = [s["say"] for s in scenario["steps"]]
    assert [s["text"] for s in says] == ["what is two and two", "card for me"]
    assert scenario["users"] == {"user-1": {"nick": "User 1"}, "user-2": {"nick": "User 2"}}
    assert scenario["conversations"] == {
        "conversation-1": {"type": "group", "title": "Group 1"},
        "conversation-2": {"type": "single"},
    }
    assert scenario["expect"] == {"cards": 1, "webhook_replies": 1, "answers": 2, "max_updates_per_card": 1}
    tape = json.loads(tape_text)
    kinds = {e["kind"] for e in tape["entries"]}
    assert {"push", "ack", "http", "connect"} <= kinds
    hooks = [e for e in tape["entries"] if e.get("target") == "webhook"]
    assert hooks[0]["request"]["text"]["content"] == "echo: what is two and two"

    # replayed against the same robot: the same answers, every expectation met
    scenario["robot"] = {"handler": "relay_robot:Echo", "path": [str(ROBOT_DIR)]}
    out.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    result = run_scenario(out)
    assert not result.failed, result.expectations
    replayed = [e.text for e in result.transcript if e.who == "bot" and e.kind.startswith("webhook:")]
    assert replayed == live[:1]
    assert [json.dumps(c.versions[-1].card_data, sort_keys=True) for c in result.cards] == live[1:]
    run = subprocess.run(
        [sys.executable, "-m", "fakeding.cli", "scenario", "run", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_relay_failure_is_a_clear_message_and_exit_code(tmp_path: Path) -> None:
    out = tmp_path / "never.yaml"
    with ThreadedFakeDing(apps=[(APP, SECRET)]) as upstream:
        refused = subprocess.run(
            [
                sys.executable,
                "-m",
                "fakeding.cli",
                "record",
                "--upstream",
                upstream.http_url,
                "--app",
                f"{APP}:wrong-secret",
                "--out",
                str(out),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert refused.returncode == 4, refused.stderr
    assert "refused the app 'dingrelayapp01': HTTP 401" in refused.stderr
    assert "check --app" in refused.stderr and "Traceback" not in refused.stderr
    unreachable = subprocess.run(
        [
            sys.executable,
            "-m",
            "fakeding.cli",
            "record",
            "--upstream",
            "http://127.0.0.1:9",
            "--app",
            f"{APP}:{SECRET}",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unreachable.returncode == 3, unreachable.stderr
    assert "cannot reach the upstream http://127.0.0.1:9" in unreachable.stderr
    assert not out.exists()


def test_dingtalks_errors_pass_unchanged_and_a_lost_upstream_is_a_502() -> None:
    from fakeding.relay.edge import Relay

    async def main() -> tuple[int, dict[str, object], int, dict[str, object]]:
        upstream = ThreadedFakeDing(apps=[(APP, SECRET)]).start()
        relay = Relay(upstream.http_url, APP, SECRET)
        await relay.open_session()
        await relay.start()
        try:
            async with relay.session.post(
                relay.http_url + "/v1.0/gateway/connections/open",
                json={"clientId": APP, "clientSecret": "wrong", "subscriptions": []},
            ) as resp:
                refused = resp.status, await resp.json(content_type=None)
            upstream.stop()
            async with relay.session.post(
                relay.http_url + "/v1.0/oauth2/accessToken", json={"appKey": APP, "appSecret": SECRET}
            ) as resp:
                lost = resp.status, await resp.json(content_type=None)
        finally:
            await relay.stop()
        return (*refused, *lost)

    status, body, lost_status, lost = asyncio.run(main())
    assert (status, body["code"]) == (401, "authFailed")  # DingTalk's own answer
    assert lost_status == 502 and lost["code"] == "relay.upstreamUnreachable"
    assert "cannot reach http://127.0.0.1:" in str(lost["message"])
