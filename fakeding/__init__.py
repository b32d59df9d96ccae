"""fakeding: a local fake DingTalk that unmodified Stream-mode SDK clients connect to.

Start one with ``fakeding serve``, in tests with the ``fakeding`` pytest fixture, or in code::

    from fakeding import ThreadedFakeDing
    with ThreadedFakeDing() as fake:
        print(fake.http_url)   # DINGTALK_OPENAPI_ENDPOINT for the robot
"""

from __future__ import annotations

from ._version import __version__
from .api import SentMessage
from .exceptions import (
    ConfigError,
    ControlError,
    FakedingError,
    OpenApiError,
    ProtocolViolation,
    UnmetExpectation,
)
from .server import FakeDing
from .settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings
from .threaded import ThreadedFakeDing

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
