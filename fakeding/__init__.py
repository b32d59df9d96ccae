"""fakeding: a local fake DingTalk that unmodified Stream-mode SDK clients connect to.

Start one with ``fakeding serve``, in tests with the ``fakeding`` pytest fixture, or in code::

    from fakeding import ThreadedFakeDing
    with ThreadedFakeDing() as fake:
        print(fake.http_url)   # DINGTALK_OPENAPI_ENDPOINT for the robot
"""

from __future__ import annotations

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
from fakeding.server import FakeDing
from fakeding.threaded import ThreadedFakeDing

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
