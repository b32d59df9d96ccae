from __future__ import annotations

import logging
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tiers import tier_of

# The SDK logs every frame at INFO; keep test output readable.
logging.getLogger("dingtalk_stream").setLevel(logging.WARNING)

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its file's tier (``tests/tiers.py``); unlisted files count as
    ``realtime`` until listed, so ``--fast`` never picks up a test it cannot vouch for."""
    for item in items:
        try:
            rel = item.path.resolve().relative_to(ROOT).as_posix()
        except ValueError:
            continue
        tier = tier_of(rel) or "realtime"
        item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(autouse=True)
def _pure_tests_stay_pure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A ``pure`` test that opens a network socket or starts a program fails, naming the fix,
    so the quick tier stays quick and hermetic as files change."""
    if request.node.get_closest_marker("pure") is None:
        yield
        return
    where = request.node.nodeid.split("::")[0]

    def refuse(what: str) -> Any:
        def refused(*_: Any, **__: Any) -> Any:
            raise AssertionError(
                f"{where} is in the 'pure' tier but {what}; move it to a dearer tier in tests/tiers.py"
            )

        return refused

    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", refuse("connected a socket"))
    mp.setattr(socket.socket, "bind", refuse("bound a socket"))
    mp.setattr(subprocess.Popen, "__init__", refuse("started a program"))
    try:
        yield
    finally:
        mp.undo()
