"""Errors raised by fakeding.

Hierarchy::

    FakedingError                     base of everything fakeding raises
    ├── ConfigError                   bad settings, app registration or CLI arguments
    ├── ControlError                  bad input to the Python or HTTP control API (names the field)
    ├── OpenApiError                  an OpenAPI call the platform would reject (status, code, message)
    ├── ProtocolViolation             a client broke the Stream protocol (bad ack, unknown messageId ...)
    └── UnmetExpectation              a test asked for a condition that never came true, or violations
        │                             were recorded during the test (raised by ``check()``)
        └── WaitTimeout               ``wait_until`` gave up: what it awaited, the last value, the
                                      timeout (also a ``TimeoutError``)

Messages say what was expected and what was found, and where it helps, what to do next.
"""

from __future__ import annotations

from typing import Any


class FakedingError(Exception):
    """Base class of every error fakeding raises."""


class ConfigError(FakedingError):
    """Settings, app registrations or command-line arguments that cannot work."""


class ControlError(FakedingError):
    """Bad input to the control API; ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class OpenApiError(FakedingError):
    """An OpenAPI request the real platform would reject, with its real status and code.

    ``body()`` gives the DingTalk error body ``{"code", "message", "requestid"}``; the request id
    is filled in by the HTTP layer.
    """

    def __init__(self, status: int, code: str, message: str, *, violation: bool = False) -> None:
        self.status = status
        self.code = code
        self.message = message
        # a refusal that is also the robot's bug (another app's card or robot, a group the
        # robot is not in): recorded as a violation too, so ``check()`` fails on it
        self.violation = violation
        super().__init__(f"HTTP {status} {code}: {message}")

    def body(self, request_id: str) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "requestid": request_id}


class ProtocolViolation(FakedingError):
    """A Stream client sent something the platform does not accept."""


class UnmetExpectation(FakedingError, AssertionError):
    """A waited-for condition did not come true in time, or violations were recorded."""


class WaitTimeout(UnmetExpectation, TimeoutError):
    """``wait_until`` gave up: says what it waited for, what the predicate last returned and
    for how long (a ``TimeoutError`` too, for code that catches those)."""

    def __init__(self, what: str, last: Any, timeout: float) -> None:
        self.what = what
        self.last = last
        self.timeout = timeout
        shown = repr(last)
        if len(shown) > 200:
            shown = shown[:199] + "…"
        super().__init__(
            f"waited {timeout:g} s for {what}; it never came true (the last value "
            f"was {shown}); raise timeout= if it is only slow, or check that what "
            f"makes it true happened"
        )
