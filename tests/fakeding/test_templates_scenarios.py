"""A scenario's ``templates:``: a real SDK robot (``AICardReplier``, in virtual time) that
streams into a key its template does not bind fails naming the key; with the right key it
passes and the report draws the card as the template does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fakeding.testing.scenarios.render import render
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.testing.scenarios.schema import ScenarioError, load_scenario

HERE = Path(__file__).parent / "templates"

ROBOT = """
import dingtalk_stream
from dingtalk_stream import AckMessage, AICardReplier, ChatbotMessage

KEY = {key!r}

class Answer(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        msg = ChatbotMessage.from_dict(callback.data)
        replier = AICardReplier(self.dingtalk_client, msg)
        card = replier.start("ai-answer.schema", {{}})
        replier.streaming(card, KEY, "Hello **" + msg.text.content.strip() + "**",
                          append=False, finished=True, failed=False)
        return AckMessage.STATUS_OK, "OK"
"""


def scenario(tmp_path: Path, key: str, expect: str) -> Path:
    (tmp_path / "answer_robot.py").write_text(ROBOT.format(key=key), encoding="utf-8")
    shutil.copy(HERE / "ai_answer.json", tmp_path / "ai_answer.json")
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: streams into its template\n"
        "robot: {handler: 'answer_robot:Answer', path: ['.']}\n"
        "templates: {ai-answer.schema: ai_answer.json}\n"
        "users: {alice: {}}\nconversations: {g: {type: group}}\n"
        "steps:\n  - at: 1\n    say: {user: alice, in: g, text: world}\n"
        f"expect: {expect}\n",
        encoding="utf-8",
    )
    return path


def test_streaming_into_an_undeclared_key_fails_naming_it(tmp_path: Path) -> None:
    result = run_scenario(scenario(tmp_path, "msgContent", "{violations: 0}"))
    assert result.failed
    report = render(result)
    assert "streaming key 'msgContent' is not a variable of the template" in report
    assert "- violations: expected 0, found 2 (FAILED)" in report  # the key, then the blank card


def test_the_right_key_passes_and_the_report_draws_the_card(tmp_path: Path) -> None:
    result = run_scenario(scenario(tmp_path, "content", "{violations: 0, warnings: 0}"))
    assert not result.failed, result.failed
    report = render(result)
    card = report[report.index("## Cards") : report.index("## Timeline")]
    assert "    Hello world" in card.splitlines()  # the markdown as drawn (was: Hello **world**)
    assert "flowStatus:" not in card  # drawn, not dumped
    versions = card[card.index("    versions:") :].splitlines()[1:]
    assert [line.split(")")[0].strip() for line in versions if line.strip()] == [
        f"v{n} ({v.source}" for n, v in enumerate(result.cards[0].versions, 1)
    ]
    assert [line for line in versions if line.strip()][-1].endswith("Hello world")


def test_a_bad_template_path_is_named_at_load_time(tmp_path: Path) -> None:
    path = scenario(tmp_path, "content", "{violations: 0}")
    path.write_text(
        path.read_text(encoding="utf-8").replace("ai_answer.json}", "nope.json}"), encoding="utf-8"
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert f"{path}:3: templates.ai-answer.schema" in str(err.value)
    assert "nope.json" in str(err.value) and "no readable file" in str(err.value)
