"""``fakeding serve --scenarios DIR``: the folder's scenario files, each with its text, for the
emulator's Replay pane (the page itself is tried in ``test_emulator_replay.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from fakeding.aio import scenario_folder
from fakeding.core.exceptions import ConfigError
from tests.fakeding.test_cli import serve, serve_refused

HELLO = "name: hello\nsteps:\n  - at: 0\n    say: {user: u1, in: team, text: hi}\n"


def test_without_a_folder_the_listing_is_empty_and_says_how() -> None:
    answer = scenario_folder.listing(None)
    assert answer["folder"] is None and answer["scenarios"] == []
    assert "fakeding serve --scenarios DIR" in answer["note"]


def test_the_folder_is_listed_sorted_with_subfolders_and_only_scenario_files(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "b.yml").write_text(HELLO, encoding="utf-8")
    (tmp_path / "a.yaml").write_text(HELLO, encoding="utf-8")
    (tmp_path / "notes.md").write_text("not a scenario", encoding="utf-8")
    (tmp_path / "big.yaml").write_text("#" * (scenario_folder.MAX_BYTES + 1), encoding="utf-8")
    answer = scenario_folder.listing(tmp_path)
    assert [s["file"] for s in answer["scenarios"]] == ["a.yaml", "big.yaml", "team/b.yml"]
    assert answer["scenarios"][0]["yaml"] == HELLO and answer["scenarios"][2]["yaml"] == HELLO
    big = answer["scenarios"][1]
    assert "yaml" not in big and big["error"].startswith(
        f"expected a scenario file of at most {scenario_folder.MAX_BYTES}"
    )


def test_a_link_out_of_the_folder_is_not_served(tmp_path: Path) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text("token: s3cr3t\n", encoding="utf-8")
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "a.yaml").write_text(HELLO, encoding="utf-8")
    (folder / "leak.yaml").symlink_to(outside)
    answer = scenario_folder.listing(folder.resolve())
    assert [s["file"] for s in answer["scenarios"]] == ["a.yaml"]


def test_a_folder_that_is_not_there_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"--scenarios: expected a folder of scenario .yaml files, found nothing"
    ):
        scenario_folder.check_folder(tmp_path / "none")
    (tmp_path / "file.yaml").write_text(HELLO, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"found a file at"):
        scenario_folder.check_folder(tmp_path / "file.yaml")


def test_serve_lists_the_folder_on_the_control_api(tmp_path: Path) -> None:
    (tmp_path / "hello.yaml").write_text(HELLO, encoding="utf-8")
    with serve("--scenarios", str(tmp_path)) as fake:
        assert f"  scenarios: {tmp_path.resolve()} (the emulator's Replay pane lists them)" in fake.lines
        answer = requests.get(fake.url + "/_fakeding/scenarios", timeout=10).json()
        assert answer == {
            "folder": str(tmp_path.resolve()),
            "scenarios": [{"file": "hello.yaml", "yaml": HELLO}],
        }
        (tmp_path / "later.yaml").write_text(HELLO, encoding="utf-8")  # read again on each request
        again = requests.get(fake.url + "/_fakeding/scenarios", timeout=10).json()
        assert [s["file"] for s in again["scenarios"]] == ["hello.yaml", "later.yaml"]


def test_serve_with_a_missing_scenarios_folder_exits_2_naming_it(tmp_path: Path) -> None:
    result = serve_refused("--scenarios", str(tmp_path / "none"))
    assert result.returncode == 2
    assert "--scenarios: expected a folder of scenario .yaml files, found nothing" in result.stderr
    assert "Traceback" not in result.stderr
