"""Scenario items in a row share one patched wall clock; nothing else sees it.

freezegun's scan of every loaded module is the largest fixed cost of a short scenario, so the
plugin holds the wall clock across consecutive scenario items (``hold_wall_clock``) and each
scenario's own freeze is a push onto it. Reports must not change, and any other test must see
the real clock.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from freezegun import api as freezegun_api

from fakeding.testing.scenarios import harness
from fakeding.testing.scenarios.render import render
from fakeding.testing.scenarios.robots import installed, registered
from fakeding.testing.scenarios.runner import run_scenario

pytest_plugins = ["pytester"]
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios"


def test_a_held_wall_clock_leaves_reports_byte_identical() -> None:
    files = [LIBRARY / "token_expiry_mid_answer.yaml", LIBRARY / "byo" / "tutorial_style_robot.yaml"]
    alone = [render(run_scenario(path)) for path in files]
    harness.hold_wall_clock()
    try:
        held = [render(run_scenario(path)) for path in files]
        between = time.time()
    finally:
        harness.release_wall_clock()
    assert held == alone
    assert between > harness.EPOCH + 86400  # ticking from the real time, not the scenario's
    assert time.time is freezegun_api.real_time  # released: the real functions are back


def test_releasing_twice_or_without_holding_is_harmless() -> None:
    harness.release_wall_clock()
    harness.hold_wall_clock()
    harness.hold_wall_clock()  # held once, however often asked
    harness.release_wall_clock()
    harness.release_wall_clock()
    assert time.time is freezegun_api.real_time
    assert not freezegun_api.freeze_factories


def test_registered_adapters_follow_sys_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = registered()
    assert registered() is before  # read once
    dist = tmp_path / "late_robot-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: late-robot\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[fakeding.robots]\nlate = late_robot:adapter\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "late" in installed()  # a changed sys.path is read again


ECHO_BOT = """
from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage

class Echo(ChatbotHandler):
    async def process(self, callback):
        msg = ChatbotMessage.from_dict(callback.data)
        self.reply_text("you said " + msg.text.content.strip(), msg)
        return AckMessage.STATUS_OK, "OK"
"""
SCENARIO = """name: echo {n}
robot: {{handler: "echo_bot:Echo", path: ["."]}}
users: {{alice: {{}}}}
conversations: {{g: {{type: group}}}}
steps:
  - {{at: 1, say: {{user: alice, in: g, text: hi}}}}
  - {{at: 70, say: {{user: alice, in: g, text: again}}}}
expect: {{webhook_replies: 2, violations: 0}}
"""


def test_a_plain_test_between_scenario_items_sees_the_real_clock(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DINGTALK_OPENAPI_ENDPOINT", raising=False)
    folder = pytester.path / "scenarios"
    folder.mkdir()
    (folder / "echo_bot.py").write_text(ECHO_BOT)
    for n in (1, 2):
        (folder / f"echo{n}.yaml").write_text(SCENARIO.format(n=n))
    pytester.makepyfile(
        test_between="""
        import time
        from freezegun import api
        def test_real_clock():
            assert time.time is api.real_time and time.monotonic is api.real_monotonic
            assert not api.freeze_factories
    """
    )
    pytester.makeini("[pytest]\nfakeding_scenarios = scenarios\n")
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--snapshot-update",
        "scenarios/echo1.yaml",
        "test_between.py",
        "scenarios/echo2.yaml",
    )
    result.assert_outcomes(passed=3)
