"""pytest collection of ``scenarios/*.yaml``: each file becomes one test that runs the
scenario, compares the report with its snapshot and checks expectations.

``snapshot: false`` in a file (or the ini option ``fakeding_snapshots = false`` for files that
say nothing) checks expectations only: for robots whose reports vary from run to run (async
work, processes in real time). A failure then prints the report, there being no snapshot diff.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fakeding.testing.scenarios.schema import ScenarioFile

VIRTUAL = pytest.StashKey[bool]()  # set on a scenario item whose robot runs in virtual time


def is_scenario_file(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml") and path.parent.name == "scenarios"


def wants_snapshot(data: dict[str, Any], default: bool) -> bool:
    """The file's ``snapshot:``, else the ini's ``fakeding_snapshots``."""
    return bool(data.get("snapshot", default))


def make_test(scenario: Path | ScenarioFile, compare: bool = True) -> Callable[..., None]:
    """The test of one scenario: a path is loaded when the test runs; a loaded file (the
    collector's, which read and validated it) runs as it is, not read a second time."""
    path = scenario if isinstance(scenario, Path) else scenario.path

    def test_scenario(snapshot: Any) -> None:
        from fakeding.testing.scenarios.render import render
        from fakeding.testing.scenarios.runner import run_scenario
        from fakeding.testing.scenarios.snapshot import ScenarioSnapshotExtension

        result = run_scenario(scenario)
        report = render(result)
        if compare:
            assert report == snapshot(extension_class=ScenarioSnapshotExtension)
        failed = result.failed
        if failed:
            details = "; ".join(f"{e.name}: expected {e.expected}, found {e.found}" for e in failed)
            shown = "" if compare else f"\n\n{report}"
            pytest.fail(f"{path.name}: expectations not met: {details}{shown}", pytrace=False)

    test_scenario.__module__ = "scenarios"
    return test_scenario


class ScenarioFileCollector(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from fakeding.testing.scenarios.runner import is_real_time
        from fakeding.testing.scenarios.schema import load_scenario

        # A bad file fails collection with file:line: field: problem.
        scenario = load_scenario(self.path)
        compare = wants_snapshot(scenario.data, bool(self.config.getini("fakeding_snapshots")))
        item = pytest.Function.from_parent(self, name=self.path.stem, callobj=make_test(scenario, compare))
        item.stash[VIRTUAL] = not is_real_time(scenario.robot)
        yield item


def is_virtual(item: pytest.Item | None) -> bool:
    return item is not None and item.stash.get(VIRTUAL, False)
