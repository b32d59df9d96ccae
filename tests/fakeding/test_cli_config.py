"""``fakeding serve --config FILE --set KEY=VALUE``: the control API's settings as flags."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from fakeding.cli import build_parser, serve_settings
from fakeding.core import json_check
from fakeding.core.control_spec import APP_IN
from fakeding.core.exceptions import ConfigError, ControlError
from tests.fakeding.test_cli import ROOT, _stop, serve

TOML = """
redelivery_delay = 2.5
qps_limit = 5
system_ping_interval = 30

[[apps]]
clientId = "node-robot"
clientSecret = "node-secret"
scopes = ["Card.Instance.Write"]
callbackUrl = "http://127.0.0.1:9/robot"
"""


def test_serve_takes_a_toml_config_and_set_flags(tmp_path: Path) -> None:
    config = tmp_path / "fakeding.toml"
    config.write_text(TOML)
    with serve("--config", str(config), "--set", "qps_limit=null", "--set", "webhook_per_minute=7") as fake:
        settings = requests.get(fake.url + "/_fakeding/settings", timeout=10).json()
        assert settings["redelivery_delay"] == 2.5 and settings["system_ping_interval"] == 30
        assert settings["qps_limit"] is None  # --set comes after the file
        assert settings["webhook_per_minute"] == 7
        (app,) = requests.get(fake.url + "/_fakeding/apps", timeout=10).json()
        assert app["clientId"] == "node-robot" and app["scopes"] == ["Card.Instance.Write"]
        assert app["callbackUrl"] == "http://127.0.0.1:9/robot"
        assert "  app clientId=node-robot clientSecret=node-secret" in fake.lines
        assert _stop(fake.proc, signal.SIGTERM) == 0


def test_a_json_config_works_the_same(tmp_path: Path) -> None:
    config = tmp_path / "fakeding.json"
    config.write_text(json.dumps({"token_ttl": 60, "enforce_scopes": False}))
    settings, apps = serve_settings(build_parser().parse_args(["serve", "--config", str(config)]))
    assert settings.token_ttl == 60.0 and settings.enforce_scopes is False
    assert [a["client_id"] for a in apps] == ["fakeding-client"]


@pytest.mark.parametrize(
    ("content", "flags", "words"),
    [
        ("redelivery_delai = 1\n", [], ["redelivery_delai", "no such setting", "redelivery_delay"]),
        ("qps_limit = -1\n", [], ["qps_limit", ">= 0", "-1"]),
        ("enforce_scopes = 1\n", [], ["enforce_scopes", "true or false"]),
        ("[[apps]]\nclientId = 'x'\n", [], ["apps[0].clientSecret"]),
        ("", ["--set", "token_ttl"], ["--set", "KEY=VALUE", "'token_ttl'"]),
        ("", ["--set", "ticket_ttl=soon"], ["ticket_ttl", "'soon'"]),
        ("qps_limit = [1\n", [], ["does not parse"]),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, content: str, flags: list[str], words: list[str]) -> None:
    config = tmp_path / "fakeding.toml"
    config.write_text(content)
    with pytest.raises(ConfigError) as info:
        serve_settings(build_parser().parse_args(["serve", "--config", str(config), *flags]))
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_a_bad_setting_exits_2_with_the_reason(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fakeding.cli", "serve", "--set", "nope=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "nope" in done.stderr and "no such setting" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_config_file_s_app_is_checked_as_post_apps_checks_it(tmp_path: Path) -> None:
    """One schema (``control_spec.APP_IN``) for ``[[apps]]`` and ``POST /_fakeding/apps``."""
    bad = {"clientId": "x", "clientSecret": "y", "scopes": ["ok", 3]}
    with pytest.raises(ControlError) as route:
        json_check.check(APP_IN, bad, "apps[0]")
    config = tmp_path / "fakeding.json"
    config.write_text(json.dumps({"apps": [bad]}))
    with pytest.raises(ConfigError) as info:
        serve_settings(build_parser().parse_args(["serve", "--config", str(config)]))
    assert str(route.value) in str(info.value)
    assert "apps[0].scopes[1]: expected a string, found 3" in str(info.value)
