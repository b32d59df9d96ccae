"""Fault injection plans (pure): which frame or OpenAPI call to break, and how.

A fault is armed now or at a later time (``at`` seconds from now). Counting starts when it is
armed: ``nth: 1`` is the next matching frame or call. Kinds:

- ``drop_connection``: abort the client's websocket without a close frame.
- ``disconnect``: send SYSTEM disconnect, stop routing, close about 10 s later.
- ``zombie``: keep the connection open and answering pings, deliver nothing on it.
- ``frame``: ``action`` drop | delay | duplicate the ``nth`` pushed business frame (``delay`` s).
- ``api``: fail (``status``, ``code``, ``message``) or delay (``delay`` s) the ``nth`` call of
  ``route`` ("PUT /v1.0/card/streaming" or just the path), ``count`` calls in a row; the token,
  gateway and session-webhook routes too. A route that matches none is refused by name.
- ``expire_token``: every token of the app stops working at once.
- ``stale_channel``: the next connection of the app that closes stays routed to for ``seconds``
  (what the platform pushes there is lost until redelivered): "messages go to the old
  connection after a reconnect".
- ``refuse_ticket``: the next ``count`` websocket handshakes are refused as an invalid ticket
  (the robot must open a new connection through the gateway).
- ``clock_jump``: sleep/wake: no socket events, then the platform's clock is ``seconds`` later:
  every live connection of the app is gone without a close frame, tokens, tickets and session
  webhooks that expired meanwhile are expired, and timers due meanwhile fire at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fakeding.core.exceptions import ControlError

KINDS = (
    "drop_connection",
    "disconnect",
    "zombie",
    "frame",
    "api",
    "expire_token",
    "stale_channel",
    "refuse_ticket",
    "clock_jump",
)
SECONDS_MAX = 7 * 86_400.0  # a stale channel or a sleep longer than a week tests nothing more
FRAME_ACTIONS = ("drop", "delay", "duplicate")
# Bounds: far beyond any test's need, so a typo (or 1e308) is refused instead of arming a
# timer that never fires or a counter that never ends.
MAX_SECONDS = {"delay": 3600.0, "at": 86_400.0}  # an hour's delay; armed up to a day ahead
MAX_TIMES = 1_000_000  # nth and count


@dataclass
class Fault:
    kind: str
    client_id: str | None = None
    nth: int = 1
    count: int = 1
    action: str | None = None
    delay: float = 0.0
    route: str | None = None
    topic: str | None = None
    status: int = 500
    code: str = "system.busy"
    message: str = "fault injected by fakeding"
    at: float | None = None
    seconds: float = 0.0  # stale_channel, clock_jump
    seen: int = 0
    fired: int = 0
    spec: dict[str, Any] = field(default_factory=dict)
    ident: int = 0  # numbered by the plan, so the emulator can list and disarm it
    disarmed: bool = False

    @property
    def exhausted(self) -> bool:
        return self.fired >= self.count

    def describe(self) -> dict[str, Any]:
        return dict(self.spec)


def parse_fault(spec: dict[str, Any]) -> Fault:
    """Validate a fault spec from Python, YAML or JSON; errors name the field."""
    if not isinstance(spec, dict):
        raise ControlError("fault", f"expected an object, found {type(spec).__name__}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ControlError("kind", f"expected one of {', '.join(KINDS)}, found {kind!r}")
    known = {
        "kind",
        "client_id",
        "clientId",
        "nth",
        "count",
        "action",
        "delay",
        "route",
        "topic",
        "status",
        "code",
        "message",
        "at",
        "seconds",
    }
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ControlError(unknown[0], f"unknown field; expected some of {', '.join(sorted(known))}")
    f = Fault(kind=kind, spec=dict(spec))
    f.client_id = spec.get("client_id", spec.get("clientId"))
    for name in ("nth", "count"):
        if name in spec:
            value = spec[name]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_TIMES:
                raise ControlError(name, f"expected an integer from 1 to {MAX_TIMES}, found {_short(value)}")
            setattr(f, name, value)
    for name in ("delay", "at"):
        if name in spec:
            value = spec[name]
            limit = MAX_SECONDS[name]
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not math.isfinite(value)
                or not 0 <= value <= limit
            ):
                raise ControlError(
                    name, f"expected a number of seconds from 0 to {limit:g}, found {_short(value)}"
                )
            setattr(f, name, float(value))
    if kind in ("stale_channel", "clock_jump"):
        value = spec.get("seconds")
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
            or not 0 < value <= SECONDS_MAX
        ):
            raise ControlError(
                "seconds",
                f"expected seconds > 0 and at most {SECONDS_MAX:g} for {kind}, found {_short(value)}",
            )
        f.seconds = float(value)
    if kind == "frame":
        action = spec.get("action")
        if action not in FRAME_ACTIONS:
            raise ControlError("action", f"expected one of {', '.join(FRAME_ACTIONS)}, found {action!r}")
        f.action = action
        f.topic = spec.get("topic")
    if kind == "api":
        route = spec.get("route")
        if not isinstance(route, str) or "/" not in route:
            raise ControlError("route", f"expected 'METHOD /path' or '/path', found {route!r}")
        f.route = route
        if "status" in spec:
            status = spec["status"]
            if not isinstance(status, int) or not 100 <= status <= 599:
                raise ControlError("status", f"expected an HTTP status 100-599, found {status!r}")
            f.status = status
        if "code" in spec:
            f.code = str(spec["code"])
        if "message" in spec:
            f.message = str(spec["message"])
        if "status" not in spec and "delay" in spec:
            f.status = 200  # a pure delay: the call then proceeds normally
    return f


def _short(value: Any) -> str:
    """The offending value as written, cut short: an error never echoes a huge input."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:80]}... ({len(text)} characters)"


def route_matches(fault_route: str, method: str, path: str) -> bool:
    if " " in fault_route:
        m, _, p = fault_route.partition(" ")
        return m.upper() == method.upper() and p == path
    return fault_route == path


def check_route(route: str, routes: list[str]) -> None:
    """Refuse an ``api`` fault whose route matches none of ``routes`` (``METHOD /path``): it
    would never fire, and a test relying on it would pass for the wrong reason."""
    if any(route_matches(route, *known.split(" ", 1)) for known in routes):
        return
    raise ControlError(
        "route", f"no route matches {route!r}; expected one of: {', '.join(routes)} (or just the path)"
    )


class FaultPlan:
    """Armed faults; the pump asks it about each frame and each call."""

    def __init__(self) -> None:
        self.armed: list[Fault] = []
        self.later: list[Fault] = []  # armed with ``at``: applied when their time comes
        self._next = 0

    def number(self, fault: Fault) -> Fault:
        if not fault.ident:
            self._next += 1
            fault.ident = self._next
        return fault

    def arm(self, fault: Fault) -> None:
        self.armed.append(self.number(fault))

    def listing(self) -> list[dict[str, Any]]:
        """Faults still to come: waiting for their time, or armed and not used up."""
        out = [
            {"id": f.ident, "state": "waiting", "spec": f.describe(), "fired": 0}
            for f in self.later
            if not f.disarmed
        ]
        out += [
            {"id": f.ident, "state": "armed", "spec": f.describe(), "fired": f.fired, "seen": f.seen}
            for f in self.armed
            if not f.exhausted and not f.disarmed
        ]
        return out

    def disarm(self, ident: int) -> bool:
        """Take a fault back before it fires (again); False when none has that id."""
        for f in [*self.later, *self.armed]:
            if f.ident == ident and not f.disarmed and not f.exhausted:
                f.disarmed = True
                return True
        return False

    def on_frame(self, client_id: str, topic: str) -> Fault | None:
        if not self.armed:  # the usual run: every frame and call asks, no predicate is built
            return None
        return self._match("frame", client_id, lambda f: f.topic is None or f.topic == topic)

    def on_call(self, client_id: str | None, method: str, path: str) -> Fault | None:
        if not self.armed:
            return None
        return self._match(
            "api", client_id, lambda f: f.route is not None and route_matches(f.route, method, path)
        )

    def on_handshake(self, client_id: str) -> Fault | None:
        return self._match("refuse_ticket", client_id, lambda f: True)

    def _match(self, kind: str, client_id: str | None, pred: Any) -> Fault | None:
        for f in self.armed:
            if f.kind != kind or f.exhausted or f.disarmed:
                continue
            if f.client_id is not None and client_id is not None and f.client_id != client_id:
                continue
            if not pred(f):
                continue
            f.seen += 1
            if f.seen >= f.nth:
                f.fired += 1
                return f
        return None

    def reset(self) -> None:
        self.armed.clear()
        self.later.clear()
