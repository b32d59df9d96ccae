"""A Node robot that leaks a socket on every reconnect fails its scenario with the leak
violation, naming the app and its connections; the same robot closing its old socket passes.
Real Node, the ``ws`` and ``axios`` packages from the committed lockfile, the fake in TLS mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeding.testing.scenarios.runner import run_scenario
from tests.node_install import npm_ci

ROBOTS = Path(__file__).resolve().parents[2] / "scenarios" / "byo" / "robots"


def scenario(tmp_path: Path, close_old: bool) -> Path:
    robot = {
        "command": ["node", str(ROBOTS / "reconnecting_bot.mjs")],
        "env": {
            "CLOSE_OLD_SOCKET": "1" if close_old else "0",
            "RECONNECT_EVERY_MS": "300",
            "RECONNECTS": "3",
        },
    }
    path = tmp_path / "reconnecting.yaml"
    path.write_text(
        f"""
name: a robot that reconnects on a timer
robot: {json.dumps(robot)}
platform: {{max_connections_per_app: 2}}
users: {{alice: {{}}}}
conversations: {{support: {{type: group}}}}
steps:
  - at: 2.0
    say: {{user: alice, in: support, text: "still there?"}}
expect:
  webhook_replies: 1
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module", autouse=True)
def node_modules() -> None:
    npm_ci(ROBOTS)


def test_the_leaky_robot_fails_naming_its_connections(tmp_path: Path) -> None:
    result = run_scenario(scenario(tmp_path, close_old=False))
    leaks = [
        str(r.fields["reason"])
        for r in result.records
        if r.kind == "violation" and "live Stream connections" in str(r.fields["reason"])
    ]
    assert leaks, [r.fields for r in result.records if r.kind == "violation"]
    connections = [r.fields["connection"] for r in result.records if r.kind == "connect"]
    assert len(connections) == 4
    assert "holds 3 live Stream connections, expected at most 2" in leaks[0]
    assert all(c in leaks[-1] for c in connections)


def test_the_same_robot_closing_its_old_socket_passes(tmp_path: Path) -> None:
    result = run_scenario(scenario(tmp_path, close_old=True))
    violations = [r.fields for r in result.records if r.kind == "violation"]
    assert violations == []
    assert len([r for r in result.records if r.kind == "connect"]) == 4
    assert len([r for r in result.records if r.kind == "disconnect"]) >= 3
