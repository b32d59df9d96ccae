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
- ``fakeding_settings`` and ``fakeding_apps``: session fixtures the server is built from (the
  platform's defaults; the default app). Override either in a ``conftest.py`` to change the
  whole session's baseline; ``@pytest.mark.fakeding(...)`` still changes one test on top.
- ``@pytest.mark.fakeding_virtual``: run an ``async def`` test on a fresh loop whose clock is
  the scenarios' virtual clock (looptime: time jumps whenever nothing is ready, the wall
  clock pinned at the scenario epoch by freezegun), as ``run_virtual`` does. Options:
  ``end`` (virtual seconds before giving up, 7200), ``epoch``, ``threads`` (the coordinated
  multi-thread clock of ``fakeding.testing.vtime``), ``latency``. Needs the ``scenarios`` extra.

ini options: ``fakeding_scenarios`` (folders or files whose ``*.yaml`` are scenario tests;
none by default), ``fakeding_snapshots`` (false: scenario tests check expectations only, for
files that do not say ``snapshot:``) and ``fakeding_early`` (start the fake and export
``DINGTALK_OPENAPI_ENDPOINT`` before test modules are imported, for code that copies the
endpoint at import time).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fakeding.core._extras import MissingExtra
from fakeding.core.profiles import with_profile
from fakeding.core.settings import Settings, knobs
from fakeding.testing.sdk_endpoint import EndpointPatch, point_sdk_at
from fakeding.threaded import ThreadedFakeDing

_state: dict[str, Any] = {}  # "server" and "patch" while the session's fake runs
VIRTUAL_MARKER = "fakeding_virtual"
# what ``@pytest.mark.fakeding_virtual(...)`` accepts: ``run_virtual``'s options
VIRTUAL_OPTIONS = ("end", "epoch", "threads", "latency")


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
    config.addinivalue_line(
        "markers",
        f"{VIRTUAL_MARKER}(end=7200, epoch=..., threads=False, latency=None): run this "
        "async def test on a fresh virtual-time loop (the scenarios' clock)",
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


def _start(
    settings: Settings | None = None, apps: Iterable[tuple[str, str]] | None = None
) -> ThreadedFakeDing:
    server = _state.get("server")
    if server is None:
        server = ThreadedFakeDing(settings, apps=apps).start()
        _state["server"] = server
        _state["patch"] = point_sdk_at(server.http_url)
    return server  # type: ignore[no-any-return]


def _adopt(server: ThreadedFakeDing, settings: Settings, apps: Iterable[tuple[str, str]] | None) -> None:
    """A fake started early (``fakeding_early``, before fixtures exist) takes the session's
    fixtures now: their settings, and any app it does not have yet."""
    if server.settings != settings:  # where it binds (``host``) is fixed once it serves
        fixed = {name for name, knob in knobs().items() if knob.fixed}
        server.update_settings({k: v for k, v in vars(settings).items() if k not in fixed})
    have = {app["clientId"] for app in server.apps()}
    for client_id, secret in apps or ():
        if client_id not in have:
            server.add_app(client_id, secret)


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
def fakeding_settings() -> Settings:
    """The session fake's settings (override in ``conftest.py``; session-scoped)."""
    return Settings()


@pytest.fixture(scope="session")
def fakeding_apps() -> list[tuple[str, str]] | None:
    """``(client_id, client_secret)`` of the session fake's apps; None: the default app
    (override in ``conftest.py``; session-scoped)."""
    return None


@pytest.fixture(scope="session")
def fakeding_server(
    fakeding_settings: Settings, fakeding_apps: list[tuple[str, str]] | None
) -> ThreadedFakeDing:
    if not isinstance(fakeding_settings, Settings):
        pytest.fail(
            "the fakeding_settings fixture must return a fakeding.core.settings.Settings, found "
            f"{type(fakeding_settings).__name__}: return Settings(...) or Settings().replace(...)",
            pytrace=False,
        )
    started = "server" in _state
    server = _start(fakeding_settings, fakeding_apps)
    if started:
        _adopt(server, fakeding_settings, fakeding_apps)
    return server


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


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """``@pytest.mark.fakeding_virtual``: the test's coroutine runs on a fresh virtual-time loop
    (what the robot's ``play(body)`` helper did by hand); fixtures are set up before, as usual."""
    marker = pyfuncitem.get_closest_marker(VIRTUAL_MARKER)
    if marker is None:
        return None
    test = pyfuncitem.obj
    if not inspect.iscoroutinefunction(test):
        pytest.fail(
            f"{pyfuncitem.nodeid}: @pytest.mark.{VIRTUAL_MARKER} runs async def tests; "
            "this one is a plain function (make it async def, or drop the marker)",
            pytrace=False,
        )
    unknown = sorted(set(marker.kwargs) - set(VIRTUAL_OPTIONS))
    if marker.args or unknown:
        found = ", ".join([*map(repr, marker.args), *unknown])
        pytest.fail(
            f"{pyfuncitem.nodeid}: @pytest.mark.{VIRTUAL_MARKER} takes keyword options "
            f"{', '.join(VIRTUAL_OPTIONS)}; found {found}",
            pytrace=False,
        )
    try:
        from fakeding.testing.scenarios.harness import run_virtual
    except MissingExtra as exc:
        pytest.fail(f"@pytest.mark.{VIRTUAL_MARKER}: {exc}", pytrace=False)
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    run_virtual(lambda: test(**kwargs), **marker.kwargs)
    return True


def _in_virtual_time(item: pytest.Item | None) -> bool:
    """A scenario item or a ``fakeding_virtual`` test (items in a row share one patched
    wall clock instead of each scanning every module for freezegun)."""
    if item is None:
        return False
    if item.get_closest_marker(VIRTUAL_MARKER) is not None:
        return True
    collect = sys.modules.get("fakeding.testing.scenarios.collect")
    return collect is not None and collect.is_virtual(item)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Scenario items in a row share one patched wall clock (see ``hold_wall_clock``)."""
    if _in_virtual_time(item):
        try:
            from fakeding.testing.scenarios.harness import hold_wall_clock
        except MissingExtra:
            return  # reported by pytest_pyfunc_call, with what to install
        hold_wall_clock()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if _in_virtual_time(item) and not _in_virtual_time(nextitem):
        harness = sys.modules.get("fakeding.testing.scenarios.harness")
        if harness is not None:
            harness.release_wall_clock()


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
