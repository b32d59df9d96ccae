"""Platform profiles: each disputed fact a setting with a source; ``--profile`` on ``serve``,
``platform: {profile: ...}`` in scenarios, the fixture's marker; the second-connection rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from fakeding import parity
from fakeding.core.exceptions import ConfigError
from fakeding.core.profiles import DISPUTED, PROFILES, load_profile, profile_toml, with_profile
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings
from fakeding.testing.scenarios.runner import run_scenario
from fakeding.testing.scenarios.schema import ScenarioError
from fakeding.threaded import ThreadedFakeDing

ROOT = Path(__file__).resolve().parents[2]
ROBOT_TOPIC = "/v1.0/im/bot/messages/get"


def test_every_profile_gives_every_disputed_fact_a_value_and_a_source() -> None:
    for name, claims in PROFILES.items():
        assert set(claims) == set(DISPUTED), name
        assert all(c.source.strip() for c in claims.values()), name
        Settings().replace(**load_profile(name))  # every value a valid setting
    documented = load_profile("documented")
    assert all(getattr(Settings(), k) == v for k, v in documented.items()), "the default"
    assert load_profile("observed")["second_connection"] == "kick"
    text = parity.render()
    for setting, claim in PROFILES["observed"].items():
        assert f"`{setting}`" in text and claim.source in text


def test_a_profile_file_round_trips_and_later_settings_win(tmp_path: Path) -> None:
    path = tmp_path / "tenant.toml"
    path.write_text(
        profile_toml(
            {"webhook_ttl": 30.0, "second_connection": "refuse"},
            {"webhook_ttl": "probe: replies refused after 30 s"},
            comment="measured",
        ),
        encoding="utf-8",
    )
    assert load_profile(str(path)) == {"webhook_ttl": 30.0, "second_connection": "refuse"}
    assert load_profile("tenant.toml", base=tmp_path)["webhook_ttl"] == 30.0
    assert with_profile({"profile": str(path), "webhook_ttl": 5.0}) == {
        "webhook_ttl": 5.0,
        "second_connection": "refuse",
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "cannot read"),
        ("x = 1\n", "expected a [settings] table"),
        ("[settings]\nnope = 1\n", "[settings] nope: no such setting"),
        (
            "[settings]\nsecond_connection = 'sometimes'\n",
            "second_connection: expected one of balance, kick, refuse, found 'sometimes'",
        ),
        ("[settings\n", "not valid TOML"),
    ],
)
def test_a_bad_profile_file_is_named_with_what_is_wrong(
    tmp_path: Path, text: str | None, problem: str
) -> None:
    path = tmp_path / "p.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_profile(str(path))
    assert problem in str(err.value)


def test_an_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="expected one of documented, observed or a .toml"):
        load_profile("fastest")


def _connect(fake: ThreadedFakeDing) -> Any:
    answer = requests.post(
        fake.http_url + "/v1.0/gateway/connections/open",
        json={
            "clientId": DEFAULT_CLIENT_ID,
            "clientSecret": DEFAULT_CLIENT_SECRET,
            "subscriptions": [{"type": "CALLBACK", "topic": ROBOT_TOPIC}],
        },
        timeout=10,
    ).json()
    return connect(f"{answer['endpoint']}?ticket={answer['ticket']}", open_timeout=10)


def test_kick_a_newer_connection_replaces_the_older() -> None:
    settings = Settings(second_connection="kick", system_ping_interval=None)
    with ThreadedFakeDing(settings) as fake, _connect(fake) as first, _connect(fake):
        frame = json.loads(first.recv(timeout=10))
        assert frame["headers"]["topic"] == "disconnect"
        assert "newer connection" in json.loads(frame["data"])["reason"]


def test_refuse_a_second_connection_is_a_403_and_the_first_keeps_working() -> None:
    with ThreadedFakeDing(Settings(second_connection="refuse")) as fake, _connect(fake) as first:
        with pytest.raises(InvalidStatus) as err:
            _connect(fake)
        assert err.value.response.status_code == 403
        assert b"Forbidden.ConnectionExists" in err.value.response.body
        fake.send_message("still here?")
        frame = json.loads(first.recv(timeout=10))
        assert "still here?" in frame["data"]


def test_balance_keeps_both_connections() -> None:
    with ThreadedFakeDing(Settings(system_ping_interval=None)) as fake, _connect(fake), _connect(fake):
        assert len(fake.call(lambda: fake.fake.stream.live_connections(DEFAULT_CLIENT_ID))) == 2
        assert not [r for r in fake.timeline() if r.get("kind") == "push"]


def test_serve_profile_applies_before_set_and_a_bad_one_is_a_clear_error(tmp_path: Path) -> None:
    from tests.fakeding.test_cli import serve

    with serve("--profile", "observed", "--set", "qps_limit=7") as fake:
        got = requests.get(fake.url + "/_fakeding/settings", timeout=10).json()
    assert (got["redelivery_delay"], got["second_connection"], got["qps_limit"]) == (16.0, "kick", 7)
    bad = subprocess.run(
        [sys.executable, "-m", "fakeding.cli", "serve", "--profile", "fastest"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "profile 'fastest': expected one of" in bad.stderr
    assert "Traceback" not in bad.stderr


SLOW = """
import asyncio
import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotMessage

class Slow(dingtalk_stream.ChatbotHandler):
    async def process(self, callback):
        await asyncio.sleep(30)  # acks 30 s late
        return AckMessage.STATUS_OK, "OK"
"""


@pytest.mark.parametrize(
    ("profile", "redelivered"), [("observed", [17]), ("documented", []), ("mine.toml", [6])]
)
def test_a_scenario_platform_profile_sets_the_redelivery_delay(
    tmp_path: Path, profile: str, redelivered: list[int]
) -> None:
    (tmp_path / "slow_robot.py").write_text(SLOW, encoding="utf-8")
    (tmp_path / "mine.toml").write_text("[settings]\nredelivery_delay = 5\n", encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(
        f"name: t\nrobot: {{handler: 'slow_robot:Slow', path: ['.']}}\n"
        f"platform: {{profile: {profile}}}\nusers: {{alice: {{}}}}\n"
        f"conversations: {{g: {{type: group}}}}\n"
        f"steps:\n  - at: 1\n    say: {{user: alice, in: g, text: hi}}\n",
        encoding="utf-8",
    )
    result = run_scenario(path)
    assert [round(r.t) for r in result.records if r.kind == "redeliver"] == redelivered


def test_a_scenario_naming_a_missing_profile_fails_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "slow_robot.py").write_text(SLOW, encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\nrobot: {handler: 'slow_robot:Slow', path: ['.']}\nplatform:\n"
        "  profile: gone.toml\nsteps:\n  - {at: 0, wait: true}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        run_scenario(path)
    assert str(err.value).startswith(f"{path}:4: platform.profile: profile 'gone.toml': cannot read")


@pytest.mark.fakeding(profile="observed", qps_limit=3)
def test_the_fixture_marker_takes_a_profile(fakeding: ThreadedFakeDing) -> None:
    assert fakeding.settings.redelivery_delay == 16.0
    assert fakeding.settings.second_connection == "kick"
    assert fakeding.settings.qps_limit == 3


def test_the_recording_guide_names_every_disputed_setting() -> None:
    guide = (ROOT / "docs" / "RECORDING.md").read_text(encoding="utf-8")
    assert all(f"| `{setting}` |" in guide for setting in DISPUTED)
