"""Bring your own robot: official-SDK handlers in virtual time, robot processes by command,
robot-agnostic expectations and steps. Robots are the real ``dingtalk_stream`` SDK."""

from __future__ import annotations

import asyncio
import difflib
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from fakeding.testing import inprocess
from fakeding.testing.scenarios.harness import run_virtual, running_fake
from fakeding.testing.scenarios.render import render
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.testing.scenarios.schema import ScenarioError, load_scenario
from tests.node_install import npm_ci

BYO = Path(__file__).resolve().parents[2] / "scenarios" / "byo"


def write(tmp_path: Path, robot: str, body: str = "", files: dict[str, str] | None = None) -> Path:
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(
        f"name: t\nrobot: {robot}\nusers: {{alice: {{}}}}\n"
        f"conversations: {{g: {{type: group}}}}\n"
        f"steps:\n  - at: 1\n    say: {{user: alice, in: g, text: hi}}\n{body}",
        encoding="utf-8",
    )
    return path


ECHO = """
import dingtalk_stream, time
from dingtalk_stream import AckMessage, ChatbotMessage

class Echo(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        msg = ChatbotMessage.from_dict(callback.data)
        time.sleep(70)  # a blocking call longer than the redelivery delay
        self.reply_text("echo " + msg.text.content.strip() + " at " + str(int(time.time())), msg)
        return AckMessage.STATUS_OK, "OK"

def not_a_handler():
    return 42
"""


def test_a_blocking_handler_runs_in_virtual_time_and_is_redelivered(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "{handler: 'echo_robot:Echo', path: ['.']}",
        "expect: {answers: 2, max_answers_per_message: 2, violations: 0}\n",
        {"echo_robot.py": ECHO},
    )
    result = run_scenario(path)
    kinds = [(r.kind, round(r.t)) for r in result.records if r.kind in ("push", "redeliver")]
    # The fake has its own loop: its 60 s redelivery fires on time while the robot's is held.
    assert kinds == [("push", 1), ("redeliver", 61)]
    texts = [e.text for e in result.transcript if e.who == "bot"]
    epoch = 1_767_225_600
    assert texts == [f"echo hi at {epoch + 71}", f"echo hi at {epoch + 141}"]  # time.time() moves
    assert not result.failed, result.failed


@pytest.mark.parametrize(
    ("robot", "problem"),
    [
        ("{handler: 'nowhere:Echo', path: ['.']}", "robot.handler: 'nowhere:Echo' does not import"),
        ("{handler: 'echo_robot:Missing', path: ['.']}", "robot.handler: module 'echo_robot' has no"),
        ("{handler: 'echo_robot:not_a_handler', path: ['.']}", "gave int, not a handler"),
        ("{handler: 'echo_robot:Echo', colour: red}", "robot.colour: unknown key 'colour'"),
    ],
)
def test_a_bad_handler_is_named_with_file_and_line(tmp_path: Path, robot: str, problem: str) -> None:
    path = write(tmp_path, robot, files={"echo_robot.py": ECHO})
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(err.value).startswith(f"{path}:2: ")
    assert problem in str(err.value)


def test_a_command_that_exits_early_fails_with_its_last_output(tmp_path: Path) -> None:
    path = write(tmp_path, "{command: [python, -c, 'print(\"no credentials here\"); raise SystemExit(3)']}")
    with pytest.raises(Exception) as err:
        run_scenario(path)
    assert "exited with code 3 before connecting" in str(err.value)
    assert "no credentials here" in str(err.value)


def test_a_command_gets_the_fake_in_its_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{{command: [python, {BYO / 'robots' / 'sdk_echo_robot.py'}]}}",
        "expect: {webhook_replies: 1, violations: 0}\n",
    )
    result = run_scenario(path)
    assert [e.text for e in result.transcript] == ["hi", "echo: hi"]
    assert not result.failed


def test_expected_violations_are_listed_and_others_still_fail(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "{handler: 'echo_robot:Echo', path: ['.']}",
        "  - at: 2\n    fault: {kind: frame, action: drop}\n"
        "expect: {violations: [{reason: 'never acked'}]}\n",
        {"echo_robot.py": ECHO},
    )
    result = run_scenario(path)
    names = {e.name: e.ok for e in result.expectations}
    assert names == {"violations[never acked]": False, "violations[other]": True}


def test_in_process_calls_follow_the_same_rules_as_http() -> None:
    async def main() -> list[Any]:
        async with running_fake() as fake:
            loop = asyncio.get_running_loop()
            base = fake.http_url
            fake.fault(
                {
                    "kind": "api",
                    "route": "PUT /v1.0/card/streaming",
                    "status": 403,
                    "code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                }
            )
            with inprocess.serving(fake.openapi, base, lambda s: None):
                token = requests.post(
                    base + "/v1.0/oauth2/accessToken",
                    json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
                ).json()
                headers = {"x-acs-dingtalk-access-token": token["accessToken"]}
                faulted = requests.put(base + "/v1.0/card/streaming", headers=headers, json={})
                unknown = requests.get(base + "/v1.0/nowhere", headers=headers)
            assert loop.time() == 0.0
            kinds = [(r.kind, r.fields.get("status")) for r in fake.recorder.records]
            return [faulted.status_code, faulted.json()["code"], unknown.status_code, kinds]

    status, code, unknown, kinds = run_virtual(main)
    assert (status, code, unknown) == (403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", 404)
    assert ("api", 403) in kinds and ("api", 404) in kinds and ("violation", None) in kinds


def test_a_graph_reply_to_the_session_webhook_is_accepted() -> None:
    async def main() -> Any:
        async with running_fake() as fake:
            fake.graph_request("what is new?", conversation_id="cidG", staff_id="alice")
            session = next(iter(fake.platform.sessions))
            _, out = fake.platform.webhook(
                fake.now,
                session,
                {
                    "contentType": "ai_card",
                    "content": {"templateId": "t", "cardData": {"content": "all good"}},
                },
            )
            return out, [e.text for e in fake.platform.transcript]

    out, transcript = run_virtual(main)
    assert out == {"errcode": 0, "errmsg": "ok"}
    assert transcript == ["what is new?", "all good"]


@pytest.mark.parametrize("name", sorted(p.stem for p in BYO.glob("*.yaml")))
def test_the_byo_library_renders_identically_twice(name: str) -> None:
    if name.startswith("node_"):
        npm_ci(BYO / "robots")
    first = render(run_scenario(BYO / f"{name}.yaml"))
    second = render(run_scenario(BYO / f"{name}.yaml"))
    # the whole unified diff, not pytest's truncated one: a rare flicker must be diagnosable
    lines = difflib.unified_diff(first.splitlines(), second.splitlines(), "first", "second", lineterm="")
    diff = "\n".join(lines)
    assert first == second, f"{name} rendered differently the second time:\n{diff}"


def test_sys_path_is_restored_after_loading_a_handler(tmp_path: Path) -> None:
    before = list(sys.path)
    load_scenario(write(tmp_path, "{handler: 'echo_robot:Echo', path: ['.']}", files={"echo_robot.py": ECHO}))
    assert sys.path == before


def test_sdk_robot_helper_ships_with_the_kit(fakeding: Any) -> None:
    from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage

    from fakeding.testing.sdk import SdkRobot

    class Echo(ChatbotHandler):
        async def process(self, callback: Any) -> tuple[int, str]:
            msg = ChatbotMessage.from_dict(callback.data)
            self.reply_text("you said " + msg.text.content.strip(), msg)
            return AckMessage.STATUS_OK, "OK"

    with SdkRobot().on_messages(Echo()):
        fakeding.wait_for("connect")
        fakeding.send_message("hi", conversation_id="cidG", staff_id="alice")
        fakeding.wait_for("webhook")
    assert fakeding.transcript("cidG")[-1]["text"] == "you said hi"


def test_a_robot_command_fixture_and_an_expected_violation(
    fakeding: Any, fakeding_robot_command: Any
) -> None:
    fakeding_robot_command(["python", str(BYO / "robots" / "sdk_echo_robot.py")])
    fakeding.send_message("hi", conversation_id="cidG", staff_id="alice")
    fakeding.wait_for("webhook")
    assert fakeding.transcript("cidG")[-1]["text"] == "echo: hi"
    requests.get(fakeding.http_url + "/v1.0/not/a/route")  # a violation this test expects
    fakeding.expect_violation("unknown route GET /v1.0/not/a/route")
