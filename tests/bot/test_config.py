"""An instance's config.json: placeholders from the environment, validation, live-mode checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ConfigError
from bot.im_robots.dingtalk_stream.config import (
    LIVE_ENDPOINT,
    RobotConfig,
    check_live_credentials,
    load_config,
)
from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot

SECRET = "s3cr3t-Do-Not-Print-0123456789"
ENV = {"DINGTALK_CLIENT_ID": "ding-app-42", "DINGTALK_CLIENT_SECRET": SECRET}


def instance(tmp_path: Path, config: Any) -> Path:
    text = config if isinstance(config, str) else json.dumps(config)
    (tmp_path / "config.json").write_text(text, encoding="utf-8")
    return tmp_path


def base(**more: Any) -> dict[str, Any]:
    return {"clientId": "{{DINGTALK_CLIENT_ID}}", "clientSecret": "{{DINGTALK_CLIENT_SECRET}}", **more}


def test_placeholders_are_filled_from_the_environment_everywhere(tmp_path: Path) -> None:
    config = base(
        agent={"name": "openai", "base_url": "{{ LLM_URL }}/v1", "model": "m", "tags": ["{{TEAM}}-bot", 3]},
        store="{{DATA}}/{{TEAM}}.sqlite3",
    )
    env = {
        **ENV,
        "LLM_URL": "http://127.0.0.1:9",
        "TEAM": "acme",
        "DATA": str(tmp_path),
        "DINGTALK_OPENAPI_ENDPOINT": "http://127.0.0.1:8",
    }
    cfg = load_config(instance(tmp_path, config), env=env)
    assert cfg.client_id == "ding-app-42" and cfg.client_secret == SECRET
    assert cfg.agent == {
        "name": "openai",
        "base_url": "http://127.0.0.1:9/v1",
        "model": "m",
        "tags": ["acme-bot", 3],
    }
    assert cfg.store_path() == tmp_path / "acme.sqlite3"
    assert cfg.endpoint == "http://127.0.0.1:8" and not cfg.is_live
    assert cfg.base_dir == tmp_path


def test_the_bundled_demo_config_loads_from_the_environment() -> None:
    demo = Path(__file__).resolve().parents[2] / "bot/elements/imRobots.dingTalkDemo"
    cfg = load_config(demo, env=ENV)
    assert (cfg.client_id, cfg.client_secret, cfg.agent, cfg.locale) == ("ding-app-42", SECRET, "faq", "en")
    assert cfg.endpoint == LIVE_ENDPOINT and cfg.is_live


def test_an_endpoint_in_the_file_wins_over_the_environment(tmp_path: Path) -> None:
    env = {**ENV, "DINGTALK_OPENAPI_ENDPOINT": "http://127.0.0.1:8"}
    cfg = load_config(instance(tmp_path, base(endpoint="http://127.0.0.1:7")), env=env)
    assert cfg.endpoint == "http://127.0.0.1:7"


def test_camel_case_keys_map_onto_the_settings(tmp_path: Path) -> None:
    config = base(
        locale="zh",
        maxUpdates=7,
        updateInterval=1.5,
        updateBatch=2,
        qps=10,
        agentTimeout=30,
        maxQuestionChars=100,
        maxCardChars=500,
        memoryTtl=60,
        memoryTurns=4,
        retryAttempts=3,
        streamIdleTimeout=45,
    )
    cfg = load_config(instance(tmp_path, config), env=ENV)
    assert (
        cfg.locale,
        cfg.max_updates,
        cfg.update_interval,
        cfg.update_batch,
        cfg.qps,
        cfg.agent_timeout,
        cfg.max_question_chars,
        cfg.max_card_chars,
        cfg.memory_ttl,
        cfg.memory_turns,
        cfg.retry_attempts,
        cfg.stream_idle_timeout,
    ) == ("zh", 7, 1.5, 2, 10, 30, 100, 500, 60, 4, 3, 45)


def test_a_missing_variable_names_the_variable_and_the_file(tmp_path: Path) -> None:
    path = instance(tmp_path, base())
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"DINGTALK_CLIENT_SECRET": SECRET})
    message = str(caught.value)
    assert "DINGTALK_CLIENT_ID" in message
    assert str(path / "config.json") in message
    assert SECRET not in message


def test_a_variable_set_to_empty_is_used_not_reported_missing(tmp_path: Path) -> None:
    cfg = load_config(instance(tmp_path, base()), env={**ENV, "DINGTALK_CLIENT_ID": ""})
    assert cfg.client_id == ""
    with pytest.raises(ConfigError, match="clientId"):
        check_live_credentials(cfg)


def test_unknown_keys_are_named_with_the_known_ones(tmp_path: Path) -> None:
    path = instance(tmp_path, base(clientSecrte="x", maxUpdate=3))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV)
    message = str(caught.value)
    assert "clientSecrte" in message and "maxUpdate" in message
    assert "maxUpdates" in message, "the message lists the keys that are accepted"
    assert str(path / "config.json") in message


WRONG = [
    ("maxUpdates", "20"),
    ("maxUpdates", 0),
    ("maxUpdates", True),
    ("updateBatch", 2.5),
    ("updateInterval", 0),
    ("updateInterval", "2"),
    ("qps", -1),
    ("agentTimeout", None),
    ("memoryTtl", False),
    ("memoryTurns", 0),
    ("retryAttempts", "5"),
    ("maxQuestionChars", 0),
    ("maxCardChars", 1.5),
    ("locale", "fr"),
    ("locale", 1),
    ("agent", 5),
    ("endpoint", "ftp://example.com"),
    ("store", 3),
    ("clientId", 42),
    ("clientSecret", None),
    ("streamIdleTimeout", "30"),
    ("streamIdleTimeout", -5),
]


def load_with(tmp_path: Path, key: str, value: Any) -> tuple[Path, str]:
    path = instance(tmp_path, {**base(), key: value})
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV)
    return path / "config.json", str(caught.value)


@pytest.mark.parametrize(("key", "value"), WRONG)
def test_a_value_of_the_wrong_type_is_refused_naming_the_file(tmp_path: Path, key: str, value: Any) -> None:
    path, message = load_with(tmp_path, key, value)
    assert str(path) in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("maxUpdates", "20"),
        ("updateBatch", 2.5),
        ("updateInterval", 0),
        ("agentTimeout", None),
        ("memoryTtl", False),
        ("memoryTurns", 0),
        ("retryAttempts", "5"),
        ("maxQuestionChars", 0),
        ("maxCardChars", 1.5),
        ("clientId", 42),
        ("clientSecret", None),
    ],
)
def test_a_refused_value_is_named_by_its_key_in_config_json(tmp_path: Path, key: str, value: Any) -> None:
    _, message = load_with(tmp_path, key, value)
    assert key in message, f"the error should name {key!r} as written in config.json: {message}"


def test_a_missing_client_id_key_is_named(tmp_path: Path) -> None:
    path = instance(tmp_path, {"clientSecret": "x"})
    with pytest.raises(ConfigError, match="clientId is required"):
        load_config(path, env={})


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"], ids=["broken", "not-an-object"])
def test_a_config_that_is_not_a_json_object_is_refused(tmp_path: Path, text: str) -> None:
    path = instance(tmp_path, text)
    with pytest.raises(ConfigError, match="config.json"):
        load_config(path, env=ENV)


def test_a_folder_without_config_json_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config.json"):
        load_config(tmp_path, env=ENV)


@pytest.mark.parametrize(
    ("client_id", "client_secret", "named"),
    [
        ("your-client-id", SECRET, ["clientId"]),
        ("", SECRET, ["clientId"]),
        ("ding-app-42", "changeme", ["clientSecret"]),
        ("ding-app-42", "   ", ["clientSecret"]),
        ("dingxxxxxxxx", "your-client-secret", ["clientId", "clientSecret"]),
        ("{{DINGTALK_CLIENT_ID}}", SECRET, ["clientId"]),
    ],
)
def test_live_mode_refuses_placeholder_or_missing_credentials_without_the_secret(
    client_id: str, client_secret: str, named: list[str]
) -> None:
    cfg = RobotConfig(client_id=client_id, client_secret=client_secret)
    assert cfg.is_live
    with pytest.raises(ConfigError) as caught:
        check_live_credentials(cfg)
    message = str(caught.value)
    for label in named:
        assert label in message
    for label in {"clientId", "clientSecret"} - set(named):
        assert label not in message
    assert "DINGTALK_CLIENT_ID" in message and "DINGTALK_OPENAPI_ENDPOINT" in message
    assert SECRET not in message
    assert SECRET not in repr(cfg)


def test_live_mode_accepts_real_looking_credentials() -> None:
    check_live_credentials(RobotConfig(client_id="ding-app-42", client_secret=SECRET))


def test_the_robot_refuses_to_start_live_with_placeholders(tmp_path: Path) -> None:
    cfg = RobotConfig(client_id="your-client-id", client_secret=SECRET, store=str(tmp_path / "robot.sqlite3"))
    robot = DingTalkStreamRobot(cfg)
    with pytest.raises(ConfigError) as caught:
        robot.build()
    assert SECRET not in str(caught.value)
    assert not (tmp_path / "robot.sqlite3").exists(), "refused before touching anything"


def test_the_secret_is_not_in_the_config_repr(tmp_path: Path) -> None:
    cfg = load_config(instance(tmp_path, base()), env=ENV)
    assert SECRET not in repr(cfg) and "ding-app-42" in repr(cfg)


def test_a_store_in_memory_is_not_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for store in (":memory:", "sqlite://:memory:"):
        cfg = RobotConfig(client_id="a", client_secret="b", store=store)
        assert str(cfg.store_path()) == ":memory:"
    assert (
        RobotConfig(client_id="a", client_secret="b", store="data/r.sqlite3").store_path()
        == tmp_path / "data" / "r.sqlite3"
    )
