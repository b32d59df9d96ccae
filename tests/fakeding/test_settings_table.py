"""One settings table (``fakeding.core.settings``): every setting round-trips through each way in
(``Settings``, ``serve --set``, ``serve --config``, the control API, the emulator's pane and
"Save as scenario"), and a wrong type names the setting, what it expected and what it found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from fakeding import ThreadedFakeDing
from fakeding.cli import build_parser, serve_settings
from fakeding.core.exceptions import ConfigError
from fakeding.core.settings import Knob, Settings, knobs
from fakeding.testing.scenarios.harness import scenario_settings

KNOBS = list(knobs().values())
RUNTIME = [k for k in KNOBS if not k.fixed]


def other_value(k: Knob) -> Any:
    """A valid value of ``k`` that is not its default."""
    if k.choices:
        return next(c for c in k.choices if c != k.default)
    if k.kind == "integer":
        return (k.default or 0) + 3
    if k.kind == "number":
        return (k.default or 0) + 1.5
    if k.kind == "boolean":
        return not k.default
    if k.kind == "string":
        return "changed.example" if k.name != "host" else "127.0.0.2"
    if k.name == "qps_routes":  # routes as the timeline names them
        return {"PUT /v1.0/card/streaming": 40}
    return {"deliver_group_messages_without_at": True}


def wrong_value(k: Knob) -> Any:
    return {"integer": "many", "number": "soon", "boolean": "yes", "string": 5, "object": 5}[k.kind]


def test_the_table_has_every_field_with_help_and_a_type() -> None:
    assert [k.name for k in KNOBS] == list(Settings.__dataclass_fields__)
    for k in KNOBS:
        assert k.help and k.kind in ("integer", "number", "boolean", "string", "object"), k
        assert k.default == getattr(Settings(), k.name)
        assert k.applies in ("now", "start", "reset")
    assert [k.name for k in KNOBS if k.fixed] == ["host"]


@pytest.mark.parametrize("knob", KNOBS, ids=[k.name for k in KNOBS])
def test_every_setting_round_trips_through_set_and_config(knob: Knob, tmp_path: Path) -> None:
    value = other_value(knob)
    assert getattr(Settings(**{knob.name: value}), knob.name) == value
    args = build_parser().parse_args(["serve", "--set", f"{knob.name}={json.dumps(value)}"])
    assert getattr(serve_settings(args)[0], knob.name) == value
    config = tmp_path / "fakeding.json"
    config.write_text(json.dumps({knob.name: value}))
    args = build_parser().parse_args(["serve", "--config", str(config)])
    assert getattr(serve_settings(args)[0], knob.name) == value


@pytest.mark.parametrize("knob", KNOBS, ids=[k.name for k in KNOBS])
def test_a_wrong_type_names_the_setting_expected_and_found(knob: Knob, tmp_path: Path) -> None:
    bad = wrong_value(knob)
    with pytest.raises(ConfigError) as made:
        Settings(**{knob.name: bad})
    text = str(made.value)
    assert knob.name in text and "expected" in text and f"found {bad!r}" in text
    config = tmp_path / "fakeding.json"
    config.write_text(json.dumps({knob.name: bad}))
    for argv in (["--set", f"{knob.name}={json.dumps(bad)}"], ["--config", str(config)]):
        with pytest.raises(ConfigError) as flagged:
            serve_settings(build_parser().parse_args(["serve", *argv]))
        assert knob.name in str(flagged.value) and "expected" in str(flagged.value), argv
        assert f"found {bad!r}" in str(flagged.value), argv


def test_every_runtime_setting_round_trips_through_the_control_api_pane_and_saved_scenario() -> None:
    with ThreadedFakeDing() as fake:
        pane = requests.get(fake.http_url + "/_fakeding/settings/knobs", timeout=10).json()
        assert [row["name"] for row in pane] == [k.name for k in KNOBS]
        assert all(row == k.view() for row, k in zip(pane, KNOBS, strict=True))
        changes = {k.name: other_value(k) for k in RUNTIME}
        for name, value in changes.items():  # one at a time: each answer shows every setting
            r = requests.patch(
                fake.http_url + "/_fakeding/settings",
                json={name: value},
                timeout=10,
            )
            assert r.status_code == 200 and r.json()[name] == value, (name, r.text)
        now = requests.get(fake.http_url + "/_fakeding/settings", timeout=10).json()
        assert {k: now[k] for k in changes} == changes
        saved = yaml.safe_load(requests.get(fake.http_url + "/_fakeding/scenario", timeout=10).text)
        assert saved["platform"] == changes  # every changed setting, not a subset
        again = scenario_settings(**saved["platform"])
        assert {k: getattr(again, k) for k in changes} == changes
        for k in RUNTIME:
            r = requests.patch(
                fake.http_url + "/_fakeding/settings", json={k.name: wrong_value(k)}, timeout=10
            )
            assert r.status_code == 400 and r.json()["field"] == k.name, r.text
            assert "expected" in r.json()["error"] and "found" in r.json()["error"]
        r = requests.patch(fake.http_url + "/_fakeding/settings", json={"host": "0.0.0.0"}, timeout=10)
        assert r.status_code == 400 and r.json()["field"] == "host"


def test_the_emulators_settings_route_takes_every_setting_too() -> None:
    with ThreadedFakeDing() as fake:
        r = requests.post(fake.http_url + "/_fakeding/settings", json={"ticket_ttl": 12.5}, timeout=10)
        assert r.status_code == 200 and r.json()["ticket_ttl"] == 12.5
        assert set(r.json()) == {k.name for k in KNOBS}
        r = requests.post(fake.http_url + "/_fakeding/settings", json={"enforce_scopes": 1}, timeout=10)
        assert r.status_code == 400 and r.json()["field"] == "enforce_scopes"
