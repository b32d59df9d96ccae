"""``fakeding record --tls --proxy-port 0`` in front of a fake playing DingTalk, with the
official Node SDK robot (it hard-codes https://api.dingtalk.com) reaching the recorder through
TLS mode's proxy; the recording replays against the same Node robot with the same answers."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import yaml

from fakeding.relay.edge import cassette_path
from fakeding.testing.process import RobotProcess
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.threaded import ThreadedFakeDing
from tests.fakeding.test_record import APP, SECRET, recorder, until
from tests.node_install import npm_ci

ROBOTS = Path(__file__).resolve().parents[2] / "scenarios" / "byo" / "robots"
EXPORT = re.compile(r"^\s*export ([A-Z_]+)=(.*)$")


def bot_texts(fake: ThreadedFakeDing) -> list[str]:
    return fake.call(
        lambda: [
            e.text for e in fake.fake.platform.transcript if e.who == "bot" and e.kind.startswith("webhook:")
        ]
    )


def test_the_node_robot_is_recorded_through_tls_mode_and_replays(tmp_path: Path) -> None:
    npm_ci(ROBOTS)
    out = tmp_path / "node.yaml"
    args = ("--tls", "--proxy-port", "0", "--ca-dir", str(tmp_path / "ca"), "--keep-names")
    with (
        ThreadedFakeDing(apps=[(APP, SECRET)]) as upstream,
        recorder(upstream.http_url, out, *args) as (proc, banner),
    ):
        assert banner[0].startswith("fakeding is serving on https://127.0.0.1:")
        node_at = banner.index("point a Node robot at it:")
        env = dict(m.groups() for line in banner[node_at + 1 :] if (m := EXPORT.match(line)))
        assert {"HTTPS_PROXY", "NO_PROXY", "NODE_EXTRA_CA_CERTS"} <= set(env)
        robot = RobotProcess(
            upstream,
            ["node", str(ROBOTS / "node_bot.mjs")],
            cwd=ROBOTS,
            env=env,
            client_id=APP,
            client_secret=SECRET,
        )
        robot.start()
        try:
            upstream.send_message(
                "hello from node",
                conversation_id="cidSupport01",
                title="Support",
                staff_id="alice01",
                nick="Alice",
            )
            until("the card", lambda: len(upstream.cards()) == 1, timeout=30)
            card = upstream.cards()[0]["cardBizId"]
            upstream.click(card, staff_id="alice01", button_id="yes")
            until("the thanks", lambda: "thanks for voting yes" in bot_texts(upstream), timeout=30)
            live = bot_texts(upstream)
        finally:
            robot.stop()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr.read() if proc.stderr else ""
    assert live == ["node heard: hello from node", "thanks for voting yes"]
    text = out.read_text(encoding="utf-8")
    assert SECRET not in text and SECRET not in cassette_path(out).read_text(encoding="utf-8")
    scenario = yaml.safe_load(text)
    assert [next(k for k in s if k != "at") for s in scenario["steps"]] == ["say", "click"]
    assert scenario["steps"][1]["click"] == {
        "user": "user-1",
        "card": 1,
        "button": "yes",
        "params": {"vote": "yes"},
    }
    assert scenario["users"] == {"user-1": {"nick": "Alice"}}  # --keep-names
    assert scenario["expect"] == {"cards": 1, "webhook_replies": 2, "answers": 3, "max_updates_per_card": 1}
    scenario["robot"] = {"command": ["node", str(ROBOTS / "node_bot.mjs")]}
    out.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    result = run_scenario(out)
    assert not result.failed, result.expectations
    assert [e.text for e in result.transcript if e.who == "bot" and e.kind.startswith("webhook:")] == live
