"""Elements: the bundled Meta → Type → instance chain, e.json checks and entry classes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.elements import ELEMENTS_DIR, REQUIRED, backend, lineage, load_element
from bot.errors import ConfigError
from bot.im_robots.dingtalk_stream.config import load_config
from bot.im_robots.dingtalk_stream.robot import DingTalkStreamRobot
from bot.im_robots.meta import ImRobot

DEMO = ELEMENTS_DIR / "imRobots.dingTalkDemo"
TYPE = "imRobots.dingTalkStreamType"
META = "imRobots.Meta"


def element(folder: Path, **manifest: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "e.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def manifest(type_: str = TYPE, **more: Any) -> dict[str, Any]:
    return {
        "title": "t",
        "description": "d",
        "type": type_,
        "backendBundleEntry": "bot.im_robots.dingtalk_stream.robot:DingTalkStreamRobot",
        **more,
    }


def test_the_bundled_demo_resolves_to_its_type_and_the_meta() -> None:
    chain = lineage(DEMO)
    assert [e.name for e in chain] == ["imRobots.dingTalkDemo", TYPE, META]
    assert [e.type for e in chain] == [TYPE, META, ""]
    assert [e.path for e in chain] == [DEMO, ELEMENTS_DIR / TYPE, ELEMENTS_DIR / META]


def test_entry_classes_load_and_the_robot_is_an_im_robot() -> None:
    demo, type_, meta = lineage(DEMO)
    assert demo.manifest["backendBundleEntry"] == "."  # as the JitAi tutorial writes it
    assert backend([demo, type_, meta]) is DingTalkStreamRobot
    assert type_.entry() is DingTalkStreamRobot
    assert meta.entry() is ImRobot
    assert issubclass(DingTalkStreamRobot, ImRobot)


def test_every_bundled_element_has_the_required_fields() -> None:
    folders = sorted(p for p in ELEMENTS_DIR.iterdir() if (p / "e.json").is_file())
    assert [p.name for p in folders] == [META, "imRobots.dingTalkDemo", TYPE]
    for folder in folders:
        loaded = load_element(folder)
        assert set(REQUIRED) <= set(loaded.manifest)
        assert loaded.manifest["title"] and loaded.manifest["description"]


def test_the_type_parameters_are_keys_the_instance_config_accepts(tmp_path: Path) -> None:
    parameters = load_element(ELEMENTS_DIR / TYPE).manifest["parameters"]
    assert {"clientId", "clientSecret", "agent"} <= set(parameters)
    config = {name: "x" if name != "agent" else "faq" for name in parameters}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    load_config(tmp_path, env={})  # no "unknown key" for any declared parameter


def test_the_demo_robot_builds_from_its_instance_folder(tmp_path: Path) -> None:
    robot = DingTalkStreamRobot.from_instance(
        DEMO,
        env={"DINGTALK_CLIENT_ID": "ding-app", "DINGTALK_CLIENT_SECRET": "s"},
        store=str(tmp_path / "robot.sqlite3"),
    )
    assert robot.cfg.client_id == "ding-app" and robot.cfg.base_dir == DEMO
    assert not robot.is_running


def test_missing_e_json_fields_are_named_with_the_file(tmp_path: Path) -> None:
    folder = element(tmp_path / "broken", title="only a title")
    with pytest.raises(ConfigError) as caught:
        load_element(folder)
    message = str(caught.value)
    assert str(folder / "e.json") in message
    for field in ("type", "backendBundleEntry"):
        assert field in message.split("; ")[0], f"{field} should be named as missing"
    assert "description" not in message.split("; ")[0], "description is optional"


@pytest.mark.parametrize("text", ["{", "[]"], ids=["broken", "not-an-object"])
def test_an_e_json_that_is_not_an_object_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "e.json").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="e.json"):
        load_element(tmp_path)


def test_a_folder_without_e_json_is_not_an_element(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not an element"):
        lineage(tmp_path)


def test_an_instance_outside_the_package_finds_the_bundled_type(tmp_path: Path) -> None:
    mine = element(tmp_path / "myRobot", **manifest())
    assert [e.name for e in lineage(mine)] == ["myRobot", TYPE, META]


def test_a_type_beside_the_instance_wins_over_the_bundled_one(tmp_path: Path) -> None:
    element(tmp_path / "myType", **manifest(type_=META, title="local type"))
    mine = element(tmp_path / "myRobot", **manifest(type_="myType"))
    chain = lineage(mine)
    assert [e.name for e in chain] == ["myRobot", "myType", META]
    assert chain[1].path == tmp_path / "myType"


def test_an_unknown_type_is_named(tmp_path: Path) -> None:
    mine = element(tmp_path / "myRobot", **manifest(type_="imRobots.feishuType"))
    with pytest.raises(ConfigError) as caught:
        lineage(mine)
    assert "imRobots.feishuType" in str(caught.value)
    assert str(mine / "e.json") in str(caught.value)


def test_types_that_loop_are_refused(tmp_path: Path) -> None:
    element(tmp_path / "a", **manifest(type_="b"))
    element(tmp_path / "b", **manifest(type_="a"))
    with pytest.raises(ConfigError, match="loop"):
        lineage(tmp_path / "a")


def test_an_instance_pointing_straight_at_the_meta_is_refused(tmp_path: Path) -> None:
    mine = element(tmp_path / "myRobot", **manifest(type_=META))
    with pytest.raises(ConfigError, match="Type"):
        lineage(mine)


@pytest.mark.parametrize("entry", ["bot.no_such_module:Robot", "bot.im_robots.meta:NoSuchClass"])
def test_an_entry_that_cannot_be_loaded_is_named(tmp_path: Path, entry: str) -> None:
    mine = element(tmp_path / "myRobot", **manifest(backendBundleEntry=entry))
    with pytest.raises(ConfigError) as caught:
        load_element(mine).entry()
    assert entry in str(caught.value) and str(mine / "e.json") in str(caught.value)


# -- instances as the tutorial writes them ----------------------------------------------------
def tutorial_instance(folder: Path) -> Path:
    """``imRobots.dingTalkDemo`` the JitAi way: title, Type, backendBundleEntry "."."""
    element(folder, title="钉钉客服机器人", type=TYPE, backendBundleEntry=".")
    (folder / "config.json").write_text(
        json.dumps(
            {
                "clientId": "{{DINGTALK_CLIENT_ID}}",
                "clientSecret": "{{DINGTALK_CLIENT_SECRET}}",
                "agent": {"name": "faq", "faq": str(DEMO / "faq.md")},
            }
        ),
        encoding="utf-8",
    )
    return folder


def test_a_tutorial_instance_takes_its_types_backend(tmp_path: Path) -> None:
    mine = tutorial_instance(tmp_path / "imRobots.dingTalkDemo")
    chain = lineage(mine)
    assert [e.name for e in chain] == ["imRobots.dingTalkDemo", TYPE, META]
    assert backend(chain) is DingTalkStreamRobot
    with pytest.raises(ConfigError, match=r"backendBundleEntry '\.' names no class itself"):
        chain[0].entry()


def test_a_dot_all_the_way_up_is_one_line_naming_the_instance(tmp_path: Path) -> None:
    element(tmp_path / "myType", **manifest(type_=META, backendBundleEntry="."))
    mine = element(tmp_path / "myRobot", **manifest(type_="myType", backendBundleEntry="."))
    with pytest.raises(ConfigError) as caught:
        backend(lineage(mine))
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{mine / 'e.json'}: backendBundleEntry")
    assert "no Type up the chain" in message


def test_a_backend_that_is_not_an_im_robot_is_refused(tmp_path: Path) -> None:
    mine = element(tmp_path / "myRobot", **manifest(backendBundleEntry="bot.clock:SystemClock"))
    with pytest.raises(ConfigError, match=r"must name a subclass of bot.im_robots.meta.ImRobot"):
        backend(lineage(mine))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("backendBundleEntry", "./inner.py", "'module.path:ClassName', or '.'"),
        ("backendBundleEntry", "bot.im_robots.meta", "'module.path:ClassName', or '.'"),
        ("backendBundleEntry", 3, "'module.path:ClassName', or '.'"),
        ("type", ["imRobots"], "the name of a Type element"),
        ("type", "imRobots/dingTalk", "the name of a Type element"),
        ("title", "", "a non-empty string"),
        ("title", None, "a non-empty string"),
        ("description", 42, "a string"),
    ],
)
def test_every_field_the_loader_cannot_use_is_one_line_naming_file_and_field(
    tmp_path: Path, field: str, value: Any, expected: str
) -> None:
    mine = element(tmp_path / "myRobot", **{**manifest(), field: value})
    with pytest.raises(ConfigError) as caught:
        lineage(mine)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{mine / 'e.json'}: field {field} must be {expected}"), message


def test_an_e_json_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "e.json").write_bytes(b'{"title": "\xff"}')
    with pytest.raises(ConfigError, match=r"e.json: not UTF-8 text") as caught:
        load_element(tmp_path)
    assert "\n" not in str(caught.value)
