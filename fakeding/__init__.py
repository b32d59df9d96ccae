"""fakeding: a local fake DingTalk that unmodified Stream-mode SDK clients connect to.

Start one with ``fakeding serve``, in tests with the ``fakeding`` pytest fixture, or in code::

    from fakeding import ThreadedFakeDing
    with ThreadedFakeDing() as fake:
        print(fake.http_url)   # DINGTALK_OPENAPI_ENDPOINT for the robot
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fakeding._version import __version__
from fakeding.core.api import SentMessage
from fakeding.core.exceptions import (
    ConfigError,
    ControlError,
    FakedingError,
    OpenApiError,
    ProtocolViolation,
    UnmetExpectation,
)
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings

if TYPE_CHECKING:
    from fakeding.server import FakeDing
    from fakeding.threaded import ThreadedFakeDing

# The servers load aiohttp: imported on first use (PEP 562), so `import fakeding` for its
# settings or exceptions (a scenario's schema, a robot's conftest) stays light.
_LAZY = {"FakeDing": "fakeding.server", "ThreadedFakeDing": "fakeding.threaded"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fakeding' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "ConfigError",
    "ControlError",
    "FakeDing",
    "FakedingError",
    "OpenApiError",
    "ProtocolViolation",
    "SentMessage",
    "Settings",
    "ThreadedFakeDing",
    "UnmetExpectation",
    "__version__",
]
