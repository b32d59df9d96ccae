"""Command mode keeps concurrency: steps go out at their times while the robot is still busy,
and the report is the same from run to run because it is ordered by cause, not by arrival.
The robot is the official SDK in a process of its own, answering each message slowly."""

from __future__ import annotations

from pathlib import Path

from fakeding.testing.scenarios.render import render
from fakeding.testing.scenarios.runner import ScenarioResult, run_scenario

SLOW_ROBOT = """
import asyncio, os
import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage


class Slow(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        incoming = ChatbotMessage.from_dict(callback.data)
        text = incoming.text.content.strip()
        await asyncio.sleep(float(os.environ["DELAY_" + text.split()[0].upper()]))
        self.reply_text("answer to " + text, incoming)
        return AckMessage.STATUS_OK, "OK"


client = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential(
    os.environ["DINGTALK_CLIENT_ID"], os.environ["DINGTALK_CLIENT_SECRET"]))
client.register_callback_handler(ChatbotMessage.TOPIC, Slow())
client.start_forever()
"""


def scenario(tmp_path: Path, delays: dict[str, float]) -> Path:
    (tmp_path / "slow_robot.py").write_text(SLOW_ROBOT, encoding="utf-8")
    env = ", ".join(f"DELAY_{k.upper()}: '{v}'" for k, v in delays.items())
    path = tmp_path / "overlap.yaml"
    path.write_text(
        f"name: overlap\nrobot: {{command: [python, slow_robot.py], env: {{{env}}}}}\n"
        "users: {alice: {}, bob: {}}\n"
        "conversations: {team: {type: group}, desk: {type: group}}\n"
        "steps:\n"
        "  - {at: 0.1, say: {user: alice, in: team, text: alice asks}}\n"
        "  - {at: 0.4, say: {user: bob, in: team, text: bob asks}}\n"
        "  - {at: 0.5, say: {user: bob, in: desk, text: carl asks}}\n"
        "expect: {answers: 3, max_answers_per_message: 1, violations: 0}\n",
        encoding="utf-8",
    )
    return path


def as_happened(result: ScenarioResult) -> list[str]:
    """Pushes and answers in the order the fake recorded them (real time)."""
    records = sorted(result.records, key=lambda r: r.t)
    return [
        f"{r.kind} {r.fields.get('key') or r.fields.get('conversation')}"
        for r in records
        if r.kind in ("push", "webhook")
    ]


def test_overlapping_users_are_in_flight_at_once_and_reported_stably(tmp_path: Path) -> None:
    # alice is answered slowly; carl (bob's other group) at once: answers arrive out of order
    first = run_scenario(scenario(tmp_path, {"alice": 1.5, "bob": 1.0, "carl": 0.1}))
    assert not first.failed, first.failed
    happened = as_happened(first)
    pushes = [i for i, line in enumerate(happened) if line.startswith("push")]
    answers = [i for i, line in enumerate(happened) if line.startswith("webhook")]
    assert len(pushes) == 3 and len(answers) == 3
    assert max(pushes) < min(answers), happened  # every message was sent before any answer
    second = run_scenario(scenario(tmp_path, {"alice": 1.5, "bob": 1.0, "carl": 0.1}))
    assert render(first) == render(second)
    # reported by cause: each question followed by its answer, in step order
    lines = [(e.who, e.text) for e in first.transcript]
    assert lines == [
        ("user:alice", "alice asks"),
        ("bot", "answer to alice asks"),
        ("user:bob", "bob asks"),
        ("bot", "answer to bob asks"),
        ("user:bob", "carl asks"),
        ("bot", "answer to carl asks"),
    ]


def test_a_different_pace_gives_the_same_report(tmp_path: Path) -> None:
    """The robot's pace changes which answer arrives first, not the report."""
    slow_first = render(run_scenario(scenario(tmp_path, {"alice": 1.2, "bob": 0.1, "carl": 0.1})))
    fast_first = render(run_scenario(scenario(tmp_path, {"alice": 0.1, "bob": 0.1, "carl": 0.1})))
    assert slow_first == fast_first
