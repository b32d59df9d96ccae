"""The Node robot's packages come from its committed lockfile (``npm ci`` in ``robots/``), done
once before a ``node_*`` scenario runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.node_install import npm_ci

ROBOTS = Path(__file__).parent / "robots"


@pytest.fixture(autouse=True)
def node_modules(request: pytest.FixtureRequest) -> None:
    if request.node.name.startswith("node_"):
        npm_ci(ROBOTS)
