"""pytest plugin (entry point ``pytest11``): a fake DingTalk for the tests that ask for one.

Nothing happens in a session that does not use it: no port is bound, no environment variable
changes and no file is collected until a test asks for a fixture or the project's configuration
asks for it.

- ``fakeding``: the session's fake, reset before each test (connections and tokens survive, so
  one robot process can serve many tests); at teardown the test fails if any protocol
  violation was recorded. ``@pytest.mark.fakeding(qps_limit=None, ...)`` changes settings for
  one test; ``make_fakeding(**settings)`` does the same from inside it.
- ``fakeding_robot_command``: start a robot process (any language) against the fake for the test.
- ``fakeding_server``: the session-scoped ``ThreadedFakeDing`` itself, started on first use.
  Starting it points the official Python SDK at it (``sdk_endpoint.point_sdk_at``).

ini options: ``fakeding_scenarios`` (folders or files whose ``*.yaml`` are scenario tests;
none by default), ``fakeding_snapshots`` (false: scenario tests check expectations only, for
files that do not say ``snapshot:``) and ``fakeding_early`` (start the fake and export
``DINGTALK_OPENAPI_ENDPOINT`` before test modules are imported, for code that copies the
endpoint at import time).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fakeding.core._extras import MissingExtra
from fakeding.core.profiles import with_profile
from fakeding.core.settings import Settings
from fakeding.testing.sdk_endpoint import EndpointPatch, point_sdk_at
from fakeding.threaded import ThreadedFakeDing

_state: dict[str, Any] = {}  # "server" and "patch" while the session's fake runs


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "fakeding_scenarios",
        type="paths",
        default=[],
        help="folders or files whose *.yaml/*.yml are fakeding scenario tests",
    )
    parser.addini(
        "fakeding_robot",
        "robot adapter for scenarios that name none (entry point "
        "name of group fakeding.robots, or module:attr)",
        default="",
    )
    parser.addini(
        "fakeding_snapshots",
        type="bool",
        default=True,
        help="compare each scenario's report with its snapshot (a file's "
        "'snapshot: false' overrides); false: check expectations only",
    )
    parser.addini(
        "fakeding_early",
        type="bool",
        default=False,
        help="start the fake and set DINGTALK_OPENAPI_ENDPOINT before collection",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fakeding(**settings): settings of the fake for this test "
        "(profile=NAME|FILE picks a platform profile first)",
    )
    _quiet_looptime(config)
    _configure_robot(str(config.getini("fakeding_robot")) or None)
    if config.getini("fakeding_early"):
        _start()


def _quiet_looptime(config: pytest.Config) -> None:
    """looptime (our scenario extra) ships a plugin that only patches pytest-asyncio's loops and
    crashes every fixture when pytest-asyncio is absent; without it, the plugin has nothing to
    do, so it is switched off."""
    pm = config.pluginmanager
    if not pm.has_plugin("asyncio") and pm.has_plugin("looptime_plugin"):
        pm.unregister(name="looptime_plugin")


def _configure_robot(name: str | None) -> None:
    """The scenario engine's default robot (ini ``fakeding_robot``), if the engine is installed."""
    try:
        from fakeding.testing.scenarios.robots import set_configured_default
    except MissingExtra:
        return  # no scenario extra, no scenarios to run
    set_configured_default(name)


def _start() -> ThreadedFakeDing:
    server = _state.get("server")
    if server is None:
        server = ThreadedFakeDing().start()
        _state["server"] = server
        _state["patch"] = point_sdk_at(server.http_url)
    return server  # type: ignore[no-any-return]


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _configure_robot(None)
    harness = sys.modules.get("fakeding.testing.scenarios.harness")
    if harness is not None:
        harness.release_wall_clock()
    server: ThreadedFakeDing | None = _state.pop("server", None)
    patch: EndpointPatch | None = _state.pop("patch", None)
    if patch is not None:
        patch.undo(sdk=False)  # the variable comes back; a stray SDK thread stays on loopback
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def fakeding_server() -> ThreadedFakeDing:
    return _start()


@pytest.fixture
def fakeding(fakeding_server: ThreadedFakeDing, request: pytest.FixtureRequest) -> Iterator[ThreadedFakeDing]:
    marker = request.node.get_closest_marker("fakeding")
    before: Settings = fakeding_server.settings
    if marker and marker.kwargs:  # profile="observed" or a .toml file: its settings first
        fakeding_server.update_settings(with_profile(marker.kwargs))
    fakeding_server.reset()
    yield fakeding_server
    try:
        fakeding_server.check()
    finally:
        if fakeding_server.settings != before:
            fakeding_server.update_settings({k: v for k, v in vars(before).items() if k != "host"})
        fakeding_server.reset()


@pytest.fixture
def make_fakeding(fakeding: ThreadedFakeDing) -> Callable[..., ThreadedFakeDing]:
    def make(**settings: Any) -> ThreadedFakeDing:
        fakeding.update_settings(settings)
        fakeding.reset()
        return fakeding

    return make


@pytest.fixture
def fakeding_robot_command(fakeding: ThreadedFakeDing) -> Iterator[Callable[..., Any]]:
    """``fakeding_robot_command(["node", "bot.mjs"], cwd=..., env=...)`` starts a robot process
    pointed at the fake, waits until it connects and stops it after the test."""
    from fakeding.testing.process import RobotProcess

    started: list[RobotProcess] = []

    def start(argv: list[str], **kwargs: Any) -> RobotProcess:
        robot = RobotProcess(fakeding, argv, **kwargs)
        started.append(robot)
        return robot.start()

    yield start
    for robot in started:
        robot.stop()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Scenario items in a row share one patched wall clock (see ``hold_wall_clock``)."""
    collect = sys.modules.get("fakeding.testing.scenarios.collect")
    if collect is not None and collect.is_virtual(item):
        from fakeding.testing.scenarios.harness import hold_wall_clock

        hold_wall_clock()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    collect = sys.modules.get("fakeding.testing.scenarios.collect")
    if collect is not None and collect.is_virtual(item) and not collect.is_virtual(nextitem):
        from fakeding.testing.scenarios.harness import release_wall_clock

        release_wall_clock()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``*.yaml`` under the ``fakeding_scenarios`` paths as scenario tests."""
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    roots: list[Path] = parent.config.getini("fakeding_scenarios")
    if not any(file_path == root or root in file_path.parents for root in roots):
        return None
    from fakeding.testing.scenarios.collect import ScenarioFileCollector

    collector: pytest.Collector = ScenarioFileCollector.from_parent(parent, path=file_path)
    return collector
