"""The Stream endpoint's delivery rules as a sans-I/O state machine.

Inputs are method calls that carry the time: ``t`` (the clock's monotonic seconds, for records
and timers) and, where a frame may be written, ``ms`` (the wall-clock stamp of its ``time``
header). Outputs wait in lists that the websocket pump (``fakeding.aio.stream_ws``) drains after every
input: texts to send, connections to close or abort, timers to arm or cancel. The engine never
reads a clock, owns no socket and needs no event loop, so every rule is testable on its own.

It owns the connections of every app, the deliveries keyed by ``(clientId, messageId)``, the queue
of pushes waiting for a subscribed connection, ack correlation and its violations, redelivery,
SYSTEM ping/disconnect frames, liveness (websocket pings that must be answered: a connection
that goes silent is given up and its un-acked messages go to another connection of the app) and
``history_limit`` forgetting. Everything observable goes to the platform's recorder.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from fakeding.core import jsonsafe
from fakeding.core.exceptions import OpenApiError, ProtocolViolation
from fakeding.core.platform import App, Platform
from fakeding.core.record_kinds import RecordKind
from fakeding.core.stream import protocol

OnAck = Callable[[protocol.Ack, float], None]
_WORDS = re.compile(r"[A-Za-z0-9_.\-]{8,}")  # what a secret, token or ticket looks like in text
_ENCODE = jsonsafe.encoder()  # json.dumps(ensure_ascii=False), set up once


BEFORE_RESET_KEPT = 10_000  # un-acked deliveries a reset remembers, so their late acks are benign


class ConnState(Enum):
    LIVE = "live"  # gets pushes
    DRAINING = "draining"  # told to disconnect; gets nothing new, closed after a grace period
    ZOMBIE = "zombie"  # still routed to, but swallows everything in both directions
    CLOSED = "closed"


@dataclass(eq=False)
class Connection:
    id: str
    app: App
    topics: set[tuple[str, str]]
    opened_t: float
    state: ConnState = ConnState.LIVE
    heard: int = 0  # frames of any kind (pongs too) received so far: liveness compares counts
    stale_until: float | None = None  # a closed connection the platform still routes to
    keepalive: Timer | None = field(default=None, repr=False)  # the next websocket ping
    liveness: Timer | None = field(default=None, repr=False)  # the pending answer check

    def subscribed(self, type_: str, topic: str) -> bool:
        return (type_, topic) in self.topics or type_ == "SYSTEM"


@dataclass(eq=False)
class Timer:
    """A request to call back the engine ``delay`` seconds after ``t`` (due at ``at``).

    ``what`` says why ("redeliver", "send", "close"); the pump arms it on its clock and hands it
    back to ``StreamEngine.fire`` when it is due, unless the engine cancelled it first.
    """

    what: str
    at: float
    delay: float
    action: Callable[[float, int], None] = field(repr=False)
    pending: bool = True  # False once fired or cancelled


@dataclass(eq=False)
class Delivery:
    """One platform message and its delivery attempts, acked or not."""

    key: str
    client_id: str
    type: str
    topic: str
    data: dict[str, Any]
    message_ids: list[str] = field(default_factory=list)
    attempts: int = 0
    acked: bool = False
    last_push_t: float = 0.0
    timer: Timer | None = None  # the pending redelivery
    on_ack: OnAck | None = None
    redeliver: bool = True
    connection: str | None = None  # where the last attempt went
    headers: dict[str, str] = field(default_factory=dict)  # an EVENT's event* headers
    later: int = 0  # acks that asked for a redelivery (an EVENT answered LATER or code != 200)
    pushes: list[tuple[str, int, str]] = field(default_factory=list)  # (messageId, ms, connection)


class StreamEngine:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.connections: dict[str, Connection] = {}
        self.deliveries: dict[tuple[str, str], Delivery] = {}  # (clientId, messageId) -> delivery
        self.waiting: list[Delivery] = []
        self._acked: deque[tuple[str, str]] = deque()  # for history_limit
        self._before_reset: deque[tuple[str, str]] = deque()  # un-acked when the last reset came
        self._delivery_timers: dict[Timer, None] = {}  # forgotten by reset, unlike close timers
        self._send: list[tuple[str, str]] = []
        self._close: list[tuple[str, int, str]] = []
        self._abort: list[str] = []
        self._ws_pings: list[str] = []
        self._arm: list[Timer] = []
        self._cancel: list[Timer] = []
        # client id -> seconds the next closed connection stays routed to (the stale_channel fault)
        self.stale_next: dict[str | None, float] = {}
        self.stale: dict[str, Connection] = {}  # connection id -> closed but still routed to

    # -- outputs --------------------------------------------------------------------------
    def data_to_send(self) -> list[tuple[str, str]]:
        """``(connection id, text)`` frames to write, in order."""
        out, self._send = self._send, []
        return out

    def closes_to_do(self) -> list[tuple[str, int, str]]:
        """``(connection id, close code, reason)``: close these with a close frame."""
        out, self._close = self._close, []
        return out

    def aborts_to_do(self) -> list[str]:
        """Connection ids whose transport must be cut with no close frame (the client sees 1006)."""
        out, self._abort = self._abort, []
        return out

    def pings_to_send(self) -> list[str]:
        """Connection ids to send a websocket ping to (their answer must come back in time)."""
        out, self._ws_pings = self._ws_pings, []
        return out

    def timers_to_arm(self) -> list[Timer]:
        """Timers to arm, in the order asked (equal-time timers must run in this order)."""
        out, self._arm = self._arm, []
        return [timer for timer in out if timer.pending]

    def timers_to_cancel(self) -> list[Timer]:
        out, self._cancel = self._cancel, []
        return out

    # -- inputs: connections ----------------------------------------------------------------
    def accept_ticket(self, t: float, ticket: str | None) -> tuple[App, list[dict[str, str]]]:
        """Check a handshake's ticket; a refusal is recorded and raised as ``OpenApiError``.

        A ``refuse_ticket`` fault refuses a valid one as the platform refuses a bad one (a
        gateway failure the robot must retry with a new ticket): recorded as the fault, not as
        the robot's violation."""
        try:
            app, subscriptions = self.platform.consume_ticket(t, ticket)
        except OpenApiError as exc:
            self._record(
                t, RecordKind.VIOLATION, reason=f"websocket handshake rejected: {exc.message}", ticket=ticket
            )
            raise
        if self.platform.settings.second_connection == "refuse" and self.live_connections(app.client_id):
            self._record(
                t,
                RecordKind.REFUSED,
                client=app.client_id,
                reason="a second connection (second_connection=refuse)",
            )
            raise OpenApiError(
                403,
                "Forbidden.ConnectionExists",
                "this app already has a Stream connection (second_connection=refuse)",
            )
        fault = self.platform.faults.on_handshake(app.client_id)
        if fault is not None:
            self._record(t, RecordKind.FAULT, fault="refuse_ticket", fired=True, client=app.client_id)
            raise OpenApiError(401, "ticketInvalid", "unknown ticket (refuse_ticket fault)")
        return app, subscriptions

    def connect(self, t: float, ms: int, app: App, subscriptions: list[dict[str, str]]) -> Connection:
        """A websocket is open: route to it from now on and flush what waited for it."""
        conn = Connection(
            id=self.platform.ids.connection_id(),
            app=app,
            topics={(s["type"], s["topic"]) for s in subscriptions},
            opened_t=t,
        )
        self.connections[conn.id] = conn
        self._record(
            t,
            RecordKind.CONNECT,
            client=app.client_id,
            connection=conn.id,
            subscriptions=sorted(f"{a} {b}" for a, b in conn.topics),
        )
        if self.platform.settings.second_connection == "kick":
            for older in self.live_connections(app.client_id):
                if older is not conn and older.state is ConnState.LIVE:
                    self.disconnect(t, ms, older, reason="a newer connection replaced this one")
        self._check_connection_count(t, app)
        self._arm_keepalive(t, conn)
        self._flush_waiting(t, ms, app.client_id)
        return conn

    def closed(self, t: float, connection_id: str, code: int | None) -> None:
        """The websocket ended (either side closed it, or the network did)."""
        conn = self.connections.pop(connection_id, None)
        if conn is None:
            return  # already forgotten: dropped or reset
        was = conn.state
        self._forget_connection(conn)
        self._record(
            t, RecordKind.DISCONNECT, client=conn.app.client_id, connection=conn.id, was=was.value, code=code
        )
        self._maybe_stale(t, conn)

    def heard(self, connection_id: str) -> None:
        """Something (a frame, a websocket ping or pong) came from the client: it is alive."""
        conn = self.connections.get(connection_id)
        if conn is not None:
            conn.heard += 1

    def lost(self, t: float, ms: int, conn: Connection, reason: str) -> None:
        """Give up on a connection the platform cannot reach any more.

        The transport is cut (no close frame could get through), the loss is recorded with its
        reason, and every message still waiting for an ack on it goes to another live connection
        of the app at once (or waits for the next one), as a redelivery.
        """
        if self.connections.pop(conn.id, None) is None:
            return
        was = conn.state
        self._forget_connection(conn)
        self._record(
            t,
            RecordKind.DISCONNECT,
            client=conn.app.client_id,
            connection=conn.id,
            was=was.value,
            code=1006,
            reason=reason,
        )
        self._abort.append(conn.id)
        self._maybe_stale(t, conn)
        stranded = {
            id(d): d
            for d in self.deliveries.values()
            if d.connection == conn.id and not d.acked and d.type != "SYSTEM"
        }
        for d in stranded.values():
            if d.timer is not None:
                self._cancel_timer(d.timer)
                d.timer = None
            self._attempt(t, ms, d, redelivery=True)

    def overflow(self, t: float, ms: int, connection_id: str, waiting: int, limit: int) -> None:
        """The client has not read ``waiting`` bytes (more than ``limit``): cut it off."""
        conn = self.connections.get(connection_id)
        if conn is None:
            return
        reason = (
            f"the client does not read: {waiting} bytes wait to be sent on {conn.id}, "
            f"expected at most {limit} (stream_send_buffer_bytes)"
        )
        self._record(t, RecordKind.VIOLATION, client=conn.app.client_id, connection=conn.id, reason=reason)
        self.lost(t, ms, conn, "send buffer full: the client does not read")

    def receive(self, t: float, connection_id: str, text: str | bytes) -> None:
        """One frame from the client: an ack, or a recorded violation."""
        conn = self.connections.get(connection_id)
        if conn is None or conn.state is ConnState.ZOMBIE:
            return  # a zombie swallows everything in both directions but websocket pings
        try:
            self._on_ack(t, conn, text)
        except ProtocolViolation as exc:
            self._record(
                t, RecordKind.VIOLATION, client=conn.app.client_id, connection=conn.id, reason=str(exc)
            )

    def live_connections(self, client_id: str | None = None) -> list[Connection]:
        return [
            c
            for c in self.connections.values()
            if c.state in (ConnState.LIVE, ConnState.ZOMBIE)
            and (client_id is None or c.app.client_id == client_id)
        ]

    # -- inputs: pushing --------------------------------------------------------------------
    def push(
        self,
        t: float,
        ms: int,
        client_id: str,
        topic: str,
        data: dict[str, Any],
        *,
        key: str,
        type_: str = "CALLBACK",
        on_ack: OnAck | None = None,
        redeliver: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """Deliver ``data`` to one live connection of the app (or queue it until one connects)."""
        d = Delivery(
            key=key,
            client_id=client_id,
            type=type_,
            topic=topic,
            data=data,
            on_ack=on_ack,
            redeliver=redeliver,
            headers=dict(headers or {}),
        )
        self._attempt(t, ms, d, redelivery=False)
        return d

    def fire(self, t: float, ms: int, timer: Timer) -> None:
        """A timer from ``timers_to_arm`` is due."""
        if not timer.pending:
            return  # cancelled after the pump armed it
        timer.pending = False
        self._delivery_timers.pop(timer, None)
        timer.action(t, ms)

    # -- inputs: SYSTEM frames and connection faults -------------------------------------------
    def ping(self, t: float, ms: int, conn: Connection) -> None:
        opaque = self.platform.ids.uuid()
        d = Delivery(
            key=f"ping:{opaque}",
            client_id=conn.app.client_id,
            type="SYSTEM",
            topic="ping",
            data={"opaque": opaque},
            redeliver=False,
        )
        self._push_to(t, ms, conn, d)

    def disconnect(
        self, t: float, ms: int, conn: Connection, reason: str = "persistent connection is timeout"
    ) -> None:
        """Ask the client to reconnect; close the connection ``disconnect_close_after`` later."""
        d = Delivery(
            key=f"disconnect:{conn.id}",
            client_id=conn.app.client_id,
            type="SYSTEM",
            topic="disconnect",
            data={"reason": reason},
            redeliver=False,
        )
        self._push_to(t, ms, conn, d)
        conn.state = ConnState.DRAINING

        def close(_t: float, _ms: int) -> None:
            if conn.state is not ConnState.CLOSED:
                self._close.append((conn.id, 1000, "disconnect"))

        self._timer(t, self.platform.settings.disconnect_close_after, "close", close)

    def drop(self, t: float, conn: Connection) -> None:
        """Cut the TCP connection with no close frame, like a network failure."""
        self._forget_connection(conn)
        self.connections.pop(conn.id, None)
        self._record(
            t,
            RecordKind.DISCONNECT,
            client=conn.app.client_id,
            connection=conn.id,
            was="live",
            code=1006,
            fault="dropped",
        )
        self._abort.append(conn.id)
        self._maybe_stale(t, conn)

    def zombie(self, conn: Connection) -> None:
        conn.state = ConnState.ZOMBIE

    # -- inputs: lifecycle --------------------------------------------------------------------
    def reset(self, *, sessions: bool = False) -> None:
        """Forget deliveries, the queue and their timers; ``sessions`` closes every connection too.

        Without ``sessions`` a connection stays open with its subscriptions, so a robot connected
        before a reset keeps working after it.
        """
        for timer in list(self._delivery_timers):
            self._cancel_timer(timer)
        for d in [*self.deliveries.values(), *self.waiting]:
            d.timer = None
        # A SYSTEM frame to a connection that stays (a ping in flight) may still be acked.
        kept = (
            {}
            if sessions
            else {
                k: d
                for k, d in self.deliveries.items()
                if d.type == "SYSTEM" and d.connection in self.connections
            }
        )
        # A robot that stays connected may still ack what it got before the reset: those acks
        # belong to the previous run, not to a protocol mistake (ids never repeat, so no mix-up).
        self._before_reset.extend(key for key, d in self.deliveries.items() if not d.acked)
        while len(self._before_reset) > BEFORE_RESET_KEPT:
            self._before_reset.popleft()
        self.deliveries.clear()
        self.deliveries.update(kept)
        self.waiting.clear()
        self._acked.clear()
        self.stale.clear()
        self.stale_next.clear()
        if sessions:
            for conn in list(self.connections.values()):
                self._forget_connection(conn)
                self._close.append((conn.id, 1001, "fakeding reset"))
            self.connections.clear()

    def in_flight(self) -> bool:
        """True while a push waits for a connection or a delivery awaits its ack to be redelivered."""
        if self.waiting:
            return True
        return any(
            not d.acked and d.type != "SYSTEM" and d.timer is not None for d in self.deliveries.values()
        )

    # -- acks -----------------------------------------------------------------------------------
    def _on_ack(self, t: float, conn: Connection, text: str | bytes) -> None:
        client = conn.app.client_id
        try:
            ack = protocol.parse_ack(text)
        except ProtocolViolation as exc:
            self._record(
                t, RecordKind.VIOLATION, client=client, connection=conn.id, reason=str(exc), frame=_clip(text)
            )
            return
        delivery = self.deliveries.get((client, ack.message_id))
        if delivery is None and (client, ack.message_id) in self._before_reset:
            return  # a late ack of a delivery the last reset forgot: not this run's business
        if delivery is None:
            self._record(
                t,
                RecordKind.VIOLATION,
                client=client,
                connection=conn.id,
                reason=f"ack for unknown messageId {jsonsafe.echo(ack.message_id)}",
                code=ack.code,
            )
            return
        late = t - delivery.last_push_t
        later = {"later": True} if delivery.type == "EVENT" and wants_later(ack) else {}
        self._record(
            t,
            RecordKind.ACK,
            client=client,
            connection=conn.id,
            topic=delivery.topic,
            messageId=ack.message_id,
            key=delivery.key,
            code=ack.code,
            after=round(late, 6),
            **later,
        )
        if delivery.type == "SYSTEM":
            self._check_system_ack(t, conn, delivery, ack)
            delivery.acked = True
            if delivery.topic == "ping":  # one ack per ping: nothing left to correlate
                self.deliveries.pop((client, ack.message_id), None)
            else:
                self._forget_old((client, ack.message_id))
            return
        if delivery.type == "EVENT" and wants_later(ack):
            delivery.later += 1  # "try again later": the armed redelivery stays, no violation
            return
        if ack.code != 200:
            self._record(
                t,
                RecordKind.VIOLATION,
                client=client,
                topic=delivery.topic,
                reason=f"ack code {ack.code} for {delivery.topic}, expected 200",
                message=ack.message,
            )
            return
        if not delivery.acked:
            delivery.acked = True
            self._forget_old((client, ack.message_id))
            if delivery.timer:
                self._cancel_timer(delivery.timer)
                delivery.timer = None
            if delivery.on_ack:
                delivery.on_ack(ack, late)

    def _check_system_ack(self, t: float, conn: Connection, delivery: Delivery, ack: protocol.Ack) -> None:
        if delivery.topic != "ping":
            return
        opaque = delivery.data.get("opaque")
        echoed = ack.data.get("opaque") if isinstance(ack.data, dict) else None
        if echoed != opaque:
            self._record(
                t,
                RecordKind.VIOLATION,
                client=conn.app.client_id,
                reason=f"ping ack must echo opaque {opaque!r}, found {jsonsafe.echo(echoed)}",
            )

    def _forget_old(self, key: tuple[str, str]) -> None:
        limit = self.platform.settings.history_limit
        if limit is None:
            return
        self._acked.append(key)
        while len(self._acked) > limit:
            self.deliveries.pop(self._acked.popleft(), None)

    # -- delivery -------------------------------------------------------------------------------
    def _route(self, client_id: str, type_: str, topic: str, t: float | None = None) -> Connection | None:
        if self.stale and t is not None:
            stale = self._stale_route(client_id, type_, topic, t)
            if stale is not None:
                return stale
        live = [
            c
            for c in self.connections.values()
            if c.app.client_id == client_id
            and c.state in (ConnState.LIVE, ConnState.ZOMBIE)
            and c.subscribed(type_, topic)
        ]
        if not live:
            return None
        if len(live) == 1:  # the usual robot: one connection, no order to put it in
            return live[0]
        live.sort(key=lambda c: c.opened_t)
        return self.platform.ids.choice(live)

    def _attempt(self, t: float, ms: int, d: Delivery, *, redelivery: bool) -> None:
        conn = self._route(d.client_id, d.type, d.topic, t)
        if conn is None:
            self.waiting.append(d)
            self._record(
                t,
                RecordKind.QUEUED,
                client=d.client_id,
                topic=d.topic,
                key=d.key,
                reason="no live connection subscribed to this topic",
            )
            return
        p = self.platform
        if not d.message_ids or p.settings.redelivery_new_message_id or not redelivery:
            d.message_ids.append(p.ids.message_id())
        message_id = d.message_ids[-1]
        d.attempts += 1
        d.last_push_t = t
        d.connection = conn.id
        d.pushes.append((message_id, ms, conn.id))  # the emulator's inspector shows each frame
        self.deliveries[(d.client_id, message_id)] = d
        f = protocol.frame(
            type=d.type,
            topic=d.topic,
            message_id=message_id,
            time_ms=ms,
            data=d.data,
            app_id=conn.app.app_id if d.type != "SYSTEM" else None,
            connection_id=conn.id if d.type != "SYSTEM" else None,
            extra_headers=d.headers,
        )
        fault = p.faults.on_frame(d.client_id, d.topic) if d.type != "SYSTEM" else None
        fields: dict[str, Any] = {
            "client": d.client_id,
            "connection": conn.id,
            "type": d.type,
            "topic": d.topic,
            "messageId": message_id,
            "key": d.key,
            "attempt": d.attempts,
        }
        if conn.state is ConnState.ZOMBIE:
            fields["swallowed"] = "zombie connection"
        elif conn.stale_until is not None:
            fields["swallowed"] = "stale channel: the connection is closed"
        if fault is not None:
            fields["fault"] = f"{fault.action} (nth={fault.nth})"
        self._record(t, RecordKind.REDELIVER if redelivery else RecordKind.PUSH, **fields)
        if d.type != "SYSTEM" and d.redeliver:
            self._arm_redelivery(t, d)
        if conn.state is ConnState.ZOMBIE or conn.stale_until is not None:
            return
        text = _ENCODE(f)
        if fault is None:
            self._send_to(conn, text)
        elif fault.action == "drop":
            pass
        elif fault.action == "delay":
            self._timer(t, fault.delay, "send", lambda _t, _ms: self._send_to(conn, text), delivery=True)
        elif fault.action == "duplicate":
            self._send_to(conn, text)
            self._send_to(conn, text)

    def _send_to(self, conn: Connection, text: str) -> None:
        if conn.state is not ConnState.CLOSED:
            self._send.append((conn.id, text))

    def _arm_redelivery(self, t: float, d: Delivery) -> None:
        delay = self.platform.settings.redelivery_delay
        if delay is None:
            return
        if d.timer:
            self._cancel_timer(d.timer)

        def redeliver(t: float, ms: int) -> None:
            d.timer = None
            if d.acked:
                return
            if d.attempts > self.platform.settings.max_redeliveries:
                if d.later:
                    self._record(
                        t,
                        RecordKind.GAVE_UP,
                        client=d.client_id,
                        topic=d.topic,
                        key=d.key,
                        reason=f"event still answered LATER after {d.attempts} deliveries",
                    )
                    return
                self._record(
                    t,
                    RecordKind.VIOLATION,
                    client=d.client_id,
                    topic=d.topic,
                    key=d.key,
                    reason=f"message never acked after {d.attempts} deliveries",
                )
                return
            self._attempt(t, ms, d, redelivery=True)

        d.timer = self._timer(t, delay, "redeliver", redeliver, delivery=True)

    def _flush_waiting(self, t: float, ms: int, client_id: str) -> None:
        waiting, self.waiting = self.waiting, []
        for d in waiting:
            if d.client_id == client_id and self._route(d.client_id, d.type, d.topic) is not None:
                self._attempt(t, ms, d, redelivery=False)
            else:
                self.waiting.append(d)

    def _push_to(self, t: float, ms: int, conn: Connection, d: Delivery) -> None:
        """A SYSTEM frame to one given connection: never queued, never redelivered."""
        message_id = self.platform.ids.message_id()
        d.message_ids.append(message_id)
        d.attempts = 1
        d.last_push_t = t
        d.connection = conn.id
        self.deliveries[(d.client_id, message_id)] = d
        f = protocol.frame(type="SYSTEM", topic=d.topic, message_id=message_id, time_ms=ms, data=d.data)
        self._record(
            t,
            RecordKind.PUSH,
            client=d.client_id,
            connection=conn.id,
            type="SYSTEM",
            topic=d.topic,
            messageId=message_id,
            key=d.key,
            attempt=1,
        )
        if conn.state is not ConnState.ZOMBIE:
            self._send_to(conn, _ENCODE(f))

    # -- connection hygiene ---------------------------------------------------------------------
    def _check_connection_count(self, t: float, app: App) -> None:
        """More live connections than ``max_connections_per_app``: the robot leaks sockets."""
        limit = self.platform.settings.max_connections_per_app
        live = self.live_connections(app.client_id)
        if limit is None or len(live) <= limit:
            return
        held = ", ".join(f"{c.id} (open {t - c.opened_t:.0f} s)" for c in live)
        self._record(
            t,
            RecordKind.VIOLATION,
            client=app.client_id,
            connections=[c.id for c in live],
            reason=f"app {app.client_id} holds {len(live)} live Stream connections, "
            f"expected at most {limit} (max_connections_per_app): {held}. A "
            f"robot that reconnects must close its previous socket first",
        )

    def _maybe_stale(self, t: float, conn: Connection) -> None:
        """Armed by a ``stale_channel`` fault: the platform keeps routing to this closed
        connection for a while, so what it pushes there is lost until redelivered."""
        seconds = self.stale_next.pop(conn.app.client_id, None)
        if seconds is None:
            seconds = self.stale_next.pop(None, None)
        if seconds is None:
            return
        conn.stale_until = t + seconds
        self.stale[conn.id] = conn
        self._record(
            t,
            RecordKind.FAULT,
            fault="stale_channel",
            fired=True,
            client=conn.app.client_id,
            connection=conn.id,
            seconds=seconds,
        )

    def _stale_route(self, client_id: str, type_: str, topic: str, t: float) -> Connection | None:
        for conn_id, conn in list(self.stale.items()):
            if conn.stale_until is None or t >= conn.stale_until:
                del self.stale[conn_id]
            elif conn.app.client_id == client_id and (type_, topic) in conn.topics:
                return conn
        return None

    # -- liveness -------------------------------------------------------------------------------
    def _arm_keepalive(self, t: float, conn: Connection) -> None:
        """Every ``ws_ping_interval`` a websocket ping; silence for ``ws_ping_timeout`` is death.

        A zombie (a fault of the platform's side) is left alone: it is still routed to.
        """
        settings = self.platform.settings
        interval, timeout = settings.ws_ping_interval, settings.ws_ping_timeout
        if not interval:
            return

        def ping(t: float, ms: int) -> None:
            conn.keepalive = None
            if conn.state is ConnState.CLOSED:
                return
            if conn.state is not ConnState.ZOMBIE and conn.liveness is None:
                self._ws_pings.append(conn.id)
                heard = conn.heard

                def check(t: float, ms: int) -> None:
                    conn.liveness = None
                    if conn.state is not ConnState.CLOSED and conn.heard == heard:
                        self.lost(t, ms, conn, f"no answer to a websocket ping within {timeout:g} s")

                conn.liveness = self._timer(t, timeout, "liveness", check)
            conn.keepalive = self._timer(t, interval, "keepalive", ping)

        conn.keepalive = self._timer(t, interval, "keepalive", ping)

    def _forget_connection(self, conn: Connection) -> None:
        """The connection is gone: stop its timers and drop SYSTEM frames no one will ack."""
        conn.state = ConnState.CLOSED
        for timer in (conn.keepalive, conn.liveness):
            if timer is not None:
                self._cancel_timer(timer)
        conn.keepalive = conn.liveness = None
        for key in [k for k, d in self.deliveries.items() if d.type == "SYSTEM" and d.connection == conn.id]:
            del self.deliveries[key]

    # -- helpers --------------------------------------------------------------------------------
    def _timer(
        self,
        t: float,
        delay: float,
        what: str,
        action: Callable[[float, int], None],
        *,
        delivery: bool = False,
    ) -> Timer:
        timer = Timer(what=what, at=t + delay, delay=delay, action=action)
        self._arm.append(timer)
        if delivery:
            self._delivery_timers[timer] = None
        return timer

    def _cancel_timer(self, timer: Timer) -> None:
        if timer.pending:
            timer.pending = False
            self._cancel.append(timer)
        self._delivery_timers.pop(timer, None)

    def _record(self, t: float, kind: RecordKind, **fields: Any) -> None:
        if kind == RecordKind.VIOLATION:  # its texts quote what the client sent, which may hold secrets
            fields = {k: self._scrub(v) if isinstance(v, str) else v for k, v in fields.items()}
        self.platform.recorder.add(t, kind, **fields)

    def _scrub(self, text: str) -> str:
        """``text`` with every app secret, token or ticket inside it masked."""
        is_secret = self.platform.is_secret
        return _WORDS.sub(lambda m: jsonsafe.mask(m[0]) if is_secret(m[0]) else m[0], text)


def wants_later(ack: protocol.Ack) -> bool:
    """An EVENT ack asking for redelivery: code != 200 or ``data.status == "LATER"``."""
    status = ack.data.get("status") if isinstance(ack.data, dict) else None
    return ack.code != 200 or status == "LATER"


def _clip(text: str | bytes, n: int = 200) -> str:
    s = text if isinstance(text, str) else repr(text)
    return s if len(s) <= n else s[:n] + "…"
