"""pytest plugin (entry point ``pytest11``): a running fake DingTalk for every test.

- ``fakeding``: the session's fake, reset before each test; at teardown the test fails if any
  protocol violation was recorded. ``@pytest.mark.fakeding(qps_limit=None, ...)`` changes
  settings for one test.
- ``make_fakeding(**settings)``: the same fake with custom settings for this test.
- ``fakeding_server``: the session-scoped ``ThreadedFakeDing`` itself.

The fake's HTTP port is reserved at configure time and exported as
``DINGTALK_OPENAPI_ENDPOINT`` *before* test modules are imported, because the official SDK
reads that variable once, at import.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .settings import Settings
from .threaded import ThreadedFakeDing

_SOCK: socket.socket | None = None
_PREVIOUS: str | None = None
ENV = "DINGTALK_OPENAPI_ENDPOINT"


def pytest_configure(config: pytest.Config) -> None:
    global _SOCK, _PREVIOUS
    config.addinivalue_line("markers", "fakeding(**settings): settings of the fake for this test")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    _SOCK = sock
    endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    _PREVIOUS = os.environ.get(ENV)  # restored at the end of the session
    os.environ[ENV] = endpoint
    sdk = __import__("sys").modules.get("dingtalk_stream.utils")
    if sdk is not None and getattr(sdk, ENV, None) != endpoint:
        warnings.warn(f"dingtalk_stream was imported before the fakeding plugin set {ENV}; "
                      "SDK calls will not reach the fake", stacklevel=1)


@pytest.fixture(scope="session")
def fakeding_server() -> Iterator[ThreadedFakeDing]:
    assert _SOCK is not None, "the fakeding plugin was not configured"
    server = ThreadedFakeDing(sock=_SOCK).start()
    yield server
    server.stop()


def _apply(server: ThreadedFakeDing, changes: dict[str, Any]) -> Settings:
    before = server.settings
    if changes:
        server.configure(**changes)
    return before


@pytest.fixture
def fakeding(fakeding_server: ThreadedFakeDing, request: pytest.FixtureRequest
             ) -> Iterator[ThreadedFakeDing]:
    marker = request.node.get_closest_marker("fakeding")
    before = _apply(fakeding_server, dict(marker.kwargs) if marker else {})
    fakeding_server.reset()
    yield fakeding_server
    try:
        fakeding_server.check()
    finally:
        fakeding_server.configure(**vars(before))
        fakeding_server.reset()


@pytest.fixture
def make_fakeding(fakeding: ThreadedFakeDing) -> Callable[..., ThreadedFakeDing]:
    def make(**settings: Any) -> ThreadedFakeDing:
        fakeding.configure(**settings)
        return fakeding
    return make


def pytest_unconfigure(config: pytest.Config) -> None:
    global _SOCK
    if _SOCK is not None:
        _SOCK.close()
        _SOCK = None
        if _PREVIOUS is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = _PREVIOUS


def pytest_collect_file(file_path: Any, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``scenarios/*.yaml`` files as tests (see ``fakeding.scenarios.collect``)."""
    if file_path.suffix not in (".yaml", ".yml") or file_path.parent.name != "scenarios":
        return None  # the scenario engine is an extra: imported only for the files it collects
    from .scenarios.collect import ScenarioFileCollector, is_scenario_file

    if is_scenario_file(file_path):
        collector: pytest.Collector = ScenarioFileCollector.from_parent(parent, path=file_path)
        return collector
    return None
