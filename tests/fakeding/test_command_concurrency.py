"""Command mode keeps concurrency: steps go out at their times while the robot is still busy,
and the report is the same from run to run because it is ordered by cause, not by arrival.
The robot is the official SDK in a process of its own, answering each message slowly."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest

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


CLICK_ROBOT = """
import asyncio, json, os
import dingtalk_stream, requests
from dingtalk_stream import AckMessage, ChatbotMessage

ACK, CALLS = os.environ["ACK"], os.environ["CALLS"].split(",")
asked = {}  # card id -> the message it answered
VOTE = {"header": {"title": {"type": "text", "text": "vote"}}, "contents": [
    {"type": "action", "id": "act", "actions": [
        {"type": "button", "id": "yes", "actionType": "request", "status": "primary",
         "label": {"type": "text", "text": "Yes"}, "value": json.dumps({"vote": "yes"})}]}]}


def acked():
    url = os.environ["FAKEDING_URL"] + "/_fakeding/timeline"
    acks = requests.get(url, params={"kind": "ack"}, timeout=5).json()
    return any(str(a.get("key", "")).startswith("click:") for a in acks)


class Ask(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        incoming = ChatbotMessage.from_dict(callback.data)
        self.reply_text("heard you", incoming)
        asked[self.reply_card(VOTE, incoming)] = incoming
        return AckMessage.STATUS_OK, "OK"


class Clicks(dingtalk_stream.ChatbotHandler):
    def answer(self, card_id):
        for call in CALLS:  # two replies, told apart in the timeline by their msgtype
            if call == "text":
                self.reply_text("thanks", asked[card_id])
            else:
                self.reply_markdown("noted", "**noted**", asked[card_id])

    async def after_ack(self, card_id):
        while not await asyncio.to_thread(acked):
            await asyncio.sleep(0.02)
        await asyncio.to_thread(self.answer, card_id)

    async def process(self, callback):
        card_id = dingtalk_stream.CardCallbackMessage.from_dict(callback.data).card_instance_id
        if ACK == "last":  # the fake has both replies before the ack is even sent
            self.answer(card_id)
        else:  # the replies go out once the fake has recorded the ack
            asyncio.ensure_future(self.after_ack(card_id))
        return AckMessage.STATUS_OK, "OK"


client = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential(
    os.environ["DINGTALK_CLIENT_ID"], os.environ["DINGTALK_CLIENT_SECRET"]))
client.register_callback_handler(ChatbotMessage.TOPIC, Ask())
client.register_callback_handler(dingtalk_stream.CallbackHandler.TOPIC_CARD_CALLBACK, Clicks())
client.start_forever()
"""


@pytest.fixture(scope="module")
def click_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], ScenarioResult]:
    """A vote card, a click, and the robot's answer to it: an ack on its websocket and two
    replies over HTTP (``calls``, in that order), the ack sent ``first`` or ``last``. Each
    variant runs once for the module."""
    folder = tmp_path_factory.mktemp("clicks")
    (folder / "click_robot.py").write_text(CLICK_ROBOT, encoding="utf-8")

    @functools.cache
    def run(ack: str, calls: str) -> ScenarioResult:
        path = folder / f"{ack}-{calls.replace(',', '-')}.yaml"
        path.write_text(
            "name: clicks\n"
            f"robot: {{command: [python, click_robot.py], env: {{ACK: {ack}, CALLS: '{calls}'}}}}\n"
            "users: {alice: {}}\n"
            "conversations: {team: {type: group}}\n"
            "steps:\n"
            "  - {at: 0.2, say: {user: alice, in: team, text: vote}}\n"
            "  - {at: 1.0, click: {user: alice, card: 'card#1', button: 'Yes'}}\n"
            "expect: {cards: 1, webhook_replies: 3, violations: 0, api_errors: 0}\n",
            encoding="utf-8",
        )
        result = run_scenario(path)
        assert not result.failed, render(result)
        return result

    return run


def arrived(result: ScenarioResult) -> list[str]:
    """The robot's answer to the click, in the order the fake got it."""
    click = next(r.seq for r in result.records if r.kind == "click")
    return [
        f"{r.kind} {r.fields.get('msgtype', '')}".strip()
        for r in sorted(result.records, key=lambda r: r.seq)
        if r.seq > click and r.kind in ("ack", "webhook")
    ]


def after_click(report: str) -> list[str]:
    """The report's timeline from the click on."""
    timeline = report.split("## Timeline\n")[1].split("\n\n")[0].splitlines()
    return timeline[next(i for i, line in enumerate(timeline) if line.startswith("click ")) :]


def test_an_ack_and_replies_read_the_same_whichever_channel_the_fake_heard_first(
    click_run: Callable[[str, str], ScenarioResult],
) -> None:
    """The ack goes over the websocket, the replies over HTTP: the fake may get them in either
    order (the Node byo robot's click once flickered so). The report lists the Stream's
    records first, then the robot's calls, whichever came first."""
    first, last = click_run("first", "text,markdown"), click_run("last", "text,markdown")
    assert arrived(first) == ["ack", "webhook text", "webhook markdown"]  # both orders happened
    assert arrived(last) == ["webhook text", "webhook markdown", "ack"]
    assert render(first) == render(last)
    assert after_click(render(first)) == [
        "click card#1 by alice on yes",
        "push click(card#1) attempt=1 → conn#1",
        "ack click(card#1) code=200",
        "webhook [team] text errcode=0",
        "webhook [team] markdown errcode=0",
    ]


def test_the_order_of_a_robots_calls_is_never_hidden(click_run: Callable[[str, str], ScenarioResult]) -> None:
    """On one channel the report keeps the order the fake got: users see the replies in that
    order, so a robot that swaps them reads differently."""
    text_first, markdown_first = click_run("last", "text,markdown"), click_run("last", "markdown,text")
    assert arrived(markdown_first) == ["webhook markdown", "webhook text", "ack"]
    assert after_click(render(markdown_first))[-2:] == [
        "webhook [team] markdown errcode=0",
        "webhook [team] text errcode=0",
    ]
    assert after_click(render(text_first))[-2:] == [
        "webhook [team] text errcode=0",
        "webhook [team] markdown errcode=0",
    ]
