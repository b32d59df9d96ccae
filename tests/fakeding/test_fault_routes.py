"""``api`` faults reach the token, gateway and session-webhook routes, and a fault whose route
matches nothing is refused by name. Calls go over real loopback HTTP; the robot is the official
SDK's echo robot in a process of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.core.exceptions import ControlError
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.testing.scenarios.schema import ScenarioError

ROBOT = Path(__file__).resolve().parents[2] / "scenarios" / "byo" / "robots" / "sdk_echo_robot.py"
CREDENTIALS = {"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET}


def test_a_token_fault_fails_the_next_token_call_only(fakeding: ThreadedFakeDing) -> None:
    fakeding.fault(
        {"kind": "api", "route": "POST /v1.0/oauth2/accessToken", "status": 503, "code": "ServiceUnavailable"}
    )
    url = fakeding.http_url + "/v1.0/oauth2/accessToken"
    failed = requests.post(url, json=CREDENTIALS, timeout=10)
    assert (failed.status_code, failed.json()["code"]) == (503, "ServiceUnavailable")
    assert requests.post(url, json=CREDENTIALS, timeout=10).status_code == 200
    fired = [r for r in fakeding.timeline(["fault"]) if r.get("fired")]
    assert [r["route"] for r in fired] == ["POST /v1.0/oauth2/accessToken"]


def test_a_gateway_fault_by_path_alone(fakeding: ThreadedFakeDing) -> None:
    fakeding.fault({"kind": "api", "route": "/v1.0/gateway/connections/open", "count": 2})
    url = fakeding.http_url + "/v1.0/gateway/connections/open"
    body = {
        "clientId": DEFAULT_CLIENT_ID,
        "clientSecret": DEFAULT_CLIENT_SECRET,
        "subscriptions": [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}],
    }
    codes = [requests.post(url, json=body, timeout=10).status_code for _ in range(3)]
    assert codes == [500, 500, 200]


def test_a_session_webhook_fault_loses_one_reply(
    fakeding: ThreadedFakeDing, fakeding_robot_command: Any
) -> None:
    fakeding_robot_command(["python", str(ROBOT)])
    fakeding.fault({"kind": "api", "route": "POST /robot/sendBySession", "status": 502, "code": "BadGateway"})
    fakeding.send_message("first", conversation_id="cidG", staff_id="alice")
    fakeding.wait_for("api", where=lambda r: r["route"] == "POST /robot/sendBySession")
    fakeding.send_message("second", conversation_id="cidG", staff_id="alice")
    fakeding.wait_for("webhook")
    bot = [e["text"] for e in fakeding.transcript("cidG") if e["who"] == "bot"]
    assert bot == ["echo: second"]


def test_a_fault_whose_route_matches_nothing_is_refused_by_name(fakeding: ThreadedFakeDing) -> None:
    with pytest.raises(ControlError) as info:
        fakeding.fault({"kind": "api", "route": "POST /v1.0/oauth2/token"})
    message = str(info.value)
    assert message.startswith("route: no route matches 'POST /v1.0/oauth2/token'")
    for route in (
        "POST /v1.0/oauth2/accessToken",
        "POST /robot/sendBySession",
        "POST /v1.0/gateway/connections/open",
        "PUT /v1.0/card/streaming",
    ):
        assert route in message


def test_a_scenario_names_the_step_of_a_bad_fault(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        f"name: t\nrobot: {{command: [python, {ROBOT}]}}\nusers: {{alice: {{}}}}\n"
        "conversations: {g: {type: group}}\nsteps:\n"
        "  - {at: 0.1, say: {user: alice, in: g, text: hi}}\n"
        "  - at: 0.2\n    fault: {kind: api, route: /v1.0/card/stream}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as info:
        run_scenario(path)
    assert str(info.value).startswith(f"{path}:8: steps[1].fault.route: no route matches '/v1.0/card/stream'")
