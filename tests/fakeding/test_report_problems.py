"""The report's Problems: each violation with what explains it (no ack, an error status, the
robot's exception or exit), and the fake's refusals with its message; ``fakeding scenario run``
prints them. Robots are the official SDK in processes of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakeding.cli import main
from fakeding.core.describe import Refs
from fakeding.core.recorder import Record
from fakeding.testing.scenarios.problems import problem_lines
from fakeding.testing.scenarios.render import render
from fakeding.testing.scenarios.runner import run_scenario

ROBOT = """
import os, sys
import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage


class Handler(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        mode = os.environ["MODE"]
        if mode == "raise":
            raise RuntimeError("the database is gone")  # the SDK logs it and never acks
        if mode == "exit":
            print("fatal: the database is gone", file=sys.stderr, flush=True)
            os._exit(3)
        return AckMessage.STATUS_SYSTEM_EXCEPTION, "busy, try later"


client = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential(
    os.environ["DINGTALK_CLIENT_ID"], os.environ["DINGTALK_CLIENT_SECRET"]))
client.register_callback_handler(ChatbotMessage.TOPIC, Handler())
client.start_forever()
"""


def scenario(tmp_path: Path, mode: str, extra: str = "") -> Path:
    (tmp_path / "robot.py").write_text(ROBOT, encoding="utf-8")
    path = tmp_path / f"{mode}.yaml"
    path.write_text(
        f"name: {mode}\nrobot: {{command: [python, robot.py], env: {{MODE: {mode}}}}}\n"
        "platform: {redelivery_delay: 0.3, max_redeliveries: 1}\n"
        "users: {alice: {}}\nconversations: {g: {type: group}}\n"
        f"steps:\n  - {{at: 0.1, say: {{user: alice, in: g, text: hi}}}}\n{extra}",
        encoding="utf-8",
    )
    return path


def problems(report: str) -> list[str]:
    section = report.split("## Problems\n", 1)[1]
    return section.split("\n\n", 1)[0].splitlines()


def test_never_acked_says_no_ack_arrived_and_the_cli_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["scenario", "run", str(scenario(tmp_path, "raise", "expect: {violations: 0}\n"))])
    out = capsys.readouterr().out
    assert code == 1
    assert problems(out) == [
        "- VIOLATION message never acked after 2 deliveries (msg#1)",
        "    why: no ack arrived for any of 2 deliveries",
    ]


def test_an_error_status_ack_is_named(tmp_path: Path) -> None:
    lines = problems(render(run_scenario(scenario(tmp_path, "status"))))
    assert lines == ["- VIOLATION ack code 500 for /v1.0/im/bot/messages/get, expected 200"] * 2 + [
        "- VIOLATION message never acked after 2 deliveries (msg#1)",
        "    why: acked with error status 500",
    ]


def test_a_robot_that_exits_shows_its_code_and_last_output(tmp_path: Path) -> None:
    lines = problems(render(run_scenario(scenario(tmp_path, "exit"))))
    shown = "\n".join(lines)
    assert "the robot exited with code 3" in shown, shown
    assert "fatal: the database is gone" in shown, shown
    assert "'ticket': '***'" in shown, shown  # the SDK logs its connection ticket: masked


def test_an_in_process_robots_exception_sits_under_the_violation_it_explains() -> None:
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/tmp/x/robots/echo_robot.py", line 12, in process\n'
        '    raise ValueError("no text")\nValueError: no text\n'
    )
    records = [
        Record(1, 1.0, "push", {"key": "m1", "connection": "c1", "attempt": 1}),
        Record(
            2,
            1.0,
            "robot.exception",
            {
                "where": "handling /v1.0/im/bot/messages/get",
                "type": "ValueError",
                "message": "no text",
                "traceback": traceback,
            },
        ),
        Record(3, 61.0, "violation", {"key": "m1", "reason": "message never acked after 1 deliveries"}),
    ]
    assert problem_lines(records, Refs()) == [
        "- VIOLATION message never acked after 1 deliveries (msg#1)",
        "    why: no ack arrived for any of 1 deliveries",
        "    robot raised ValueError: no text (handling /v1.0/im/bot/messages/get) at echo_robot.py:12",
    ]


def test_refusals_carry_the_fakes_message() -> None:
    refused = {
        "status": 403,
        "route": "PUT /v1.0/card/streaming",
        "response": {"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "message": "qps exceeded"},
    }
    records = [
        Record(1, 1.0, "api", refused),
        Record(2, 1.5, "api", refused),
        Record(3, 2.0, "webhook", {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
    ]
    assert problem_lines(records, Refs()) == [
        "- refused x2: PUT /v1.0/card/streaming → 403 "
        "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi: qps exceeded",
        "- refused: webhook → errcode 130101: send too fast, exceed 20 times per minute",
    ]
