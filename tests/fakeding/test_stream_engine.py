"""The Stream delivery rules (``fakeding.core.stream.engine``) driven directly: no socket, no event loop.

Each test feeds inputs with explicit times and reads what the engine asks for: texts to send,
timers to arm or cancel, connections to close or abort, and the records it wrote.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fakeding.core.exceptions import OpenApiError
from fakeding.core.faults import parse_fault
from fakeding.core.platform import App, Platform
from fakeding.core.settings import Settings
from fakeding.core.stream.engine import Connection, ConnState, Delivery, StreamEngine, Timer
from fakeding.core.stream.protocol import TOPIC_BOT_MESSAGE, TOPIC_CARD_CALLBACK

BOT_SUBS = [{"type": "CALLBACK", "topic": TOPIC_BOT_MESSAGE}]
EPOCH_MS = 1_767_225_600_000


def ms(t: float) -> int:
    return EPOCH_MS + int(round(t * 1000))


class World:
    """A platform with one app and an engine over it, plus readers of the engine's outputs."""

    def __init__(self, **settings: Any) -> None:
        # Liveness (websocket pings) is off unless a test asks: its timers are its own tests'.
        self.platform = Platform(Settings(**{"ws_ping_interval": None, **settings}), incarnation="test")
        self.app: App = self.platform.add_app("app", "secret")
        self.engine = StreamEngine(self.platform)

    def connect(
        self, t: float = 0.0, subs: list[dict[str, str]] | None = None, app: App | None = None
    ) -> Connection:
        return self.engine.connect(t, ms(t), app or self.app, BOT_SUBS if subs is None else subs)

    def push(self, t: float, key: str = "k1", topic: str = TOPIC_BOT_MESSAGE, **kw: Any) -> Delivery:
        return self.engine.push(t, ms(t), self.app.client_id, topic, {"text": key}, key=key, **kw)

    def sent(self) -> list[tuple[str, dict[str, Any]]]:
        return [(conn_id, json.loads(text)) for conn_id, text in self.engine.data_to_send()]

    def armed(self) -> list[Timer]:
        return self.engine.timers_to_arm()

    def fire(self, timer: Timer) -> None:
        self.engine.fire(timer.at, ms(timer.at), timer)

    def ack(self, t: float, conn: Connection, message_id: str, code: int = 200, data: Any = None) -> None:
        text = json.dumps(
            {
                "code": code,
                "headers": {"messageId": message_id},
                "message": "OK",
                "data": json.dumps(data if data is not None else {"response": None}),
            }
        )
        self.engine.receive(t, conn.id, text)

    def records(self, *kinds: str) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.platform.recorder if not kinds or r.kind in kinds]

    def reasons(self) -> list[str]:
        return [r.fields["reason"] for r in self.platform.recorder.violations]


# -- connections and routing ----------------------------------------------------------------------


def test_connect_records_the_subscriptions_and_a_push_reaches_the_subscribed_connection() -> None:
    w = World()
    conn = w.connect(1.0)
    assert conn.state is ConnState.LIVE and w.engine.live_connections() == [conn]
    (rec,) = w.records("connect")
    assert rec == {
        "seq": rec["seq"],
        "t": 1.0,
        "kind": "connect",
        "client": "app",
        "connection": conn.id,
        "subscriptions": [f"CALLBACK {TOPIC_BOT_MESSAGE}"],
    }

    d = w.push(2.5)
    [(to, frame)] = w.sent()
    assert to == conn.id
    assert frame["type"] == "CALLBACK" and json.loads(frame["data"]) == {"text": "k1"}
    assert frame["headers"]["messageId"] == d.message_ids[0]
    assert frame["headers"]["topic"] == TOPIC_BOT_MESSAGE
    assert frame["headers"]["appId"] == w.app.app_id
    assert frame["headers"]["connectionId"] == conn.id
    assert frame["headers"]["time"] == str(ms(2.5))
    (push,) = w.records("push")
    assert (push["t"], push["messageId"], push["attempt"], push["key"]) == (2.5, d.message_ids[0], 1, "k1")
    [timer] = w.armed()
    assert (timer.what, timer.at, timer.delay) == ("redeliver", 62.5, 60.0)
    assert d.timer is timer and w.engine.in_flight()


def test_a_push_without_a_subscribed_live_connection_waits_and_is_flushed_on_connect() -> None:
    w = World()
    w.connect(0.0, subs=[{"type": "CALLBACK", "topic": TOPIC_CARD_CALLBACK}])
    d = w.push(1.0)
    assert w.sent() == [] and w.armed() == [] and d.message_ids == []
    (queued,) = w.records("queued")
    assert queued["reason"] == "no live connection subscribed to this topic"
    assert w.engine.waiting == [d] and w.engine.in_flight()

    conn = w.connect(3.0)
    [(to, frame)] = w.sent()
    assert to == conn.id and frame["headers"]["messageId"] == d.message_ids[0]
    assert [r["kind"] for r in w.records()] == ["connect", "queued", "connect", "push"]
    assert w.engine.waiting == []
    assert w.records("push")[0]["t"] == 3.0


def test_a_push_for_another_app_is_not_flushed_to_this_one() -> None:
    w = World()
    other = w.platform.add_app("other", "secret")
    d = w.push(0.0)
    w.connect(1.0, app=other)
    assert w.sent() == [] and w.engine.waiting == [d]


def test_pushes_spread_over_the_live_connections_by_seeded_choice() -> None:
    def targets() -> list[int]:
        w = World(seed=7)
        conns = [w.connect(0.0), w.connect(0.5)]
        for i in range(20):
            w.push(1.0, key=f"k{i}")
        return [[c.id for c in conns].index(to) for to, _ in w.sent()]

    first = targets()
    assert sorted(set(first)) == [0, 1], "both live connections get pushes"
    assert targets() == first, "the same seed routes the same way"


# -- acks -------------------------------------------------------------------------------------------


def test_an_ack_is_correlated_by_message_id_on_any_connection_of_the_app() -> None:
    w = World(seed=1)
    a, b = w.connect(0.0), w.connect(0.0)
    calls: list[tuple[int, float]] = []
    d = w.push(1.0, on_ack=lambda ack, late: calls.append((ack.code, late)))
    [(to, frame)] = w.sent()
    [timer] = w.armed()
    other = b if to == a.id else a
    w.ack(1.25, other, frame["headers"]["messageId"])
    (ack,) = w.records("ack")
    assert ack["connection"] == other.id and ack["messageId"] == d.message_ids[0]
    assert ack["after"] == 0.25 and ack["code"] == 200
    assert calls == [(200, 0.25)]
    assert d.acked and d.timer is None
    assert w.engine.timers_to_cancel() == [timer]
    assert not w.engine.in_flight()
    w.fire(timer)  # a timer the pump could not cancel in time does nothing
    assert w.records("redeliver") == [] and w.reasons() == []


def test_an_ack_for_an_unknown_message_id_is_a_violation() -> None:
    w = World()
    conn = w.connect()
    w.ack(1.0, conn, "nope_1")
    (v,) = w.platform.recorder.violations
    assert v.fields == {
        "client": "app",
        "connection": conn.id,
        "reason": "ack for unknown messageId 'nope_1'",
        "code": 200,
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("this is not json", "expected a JSON object, found unparsable text"),
        (
            json.dumps({"code": "200", "headers": {"messageId": "m"}}),
            "ack 'code' must be an integer, found '200'",
        ),
        (b'{"code": 200}', "expected a text frame holding one JSON object, found a binary frame"),
    ],
)
def test_a_bad_ack_is_a_violation_quoting_the_frame(text: str | bytes, reason: str) -> None:
    w = World()
    conn = w.connect()
    w.engine.receive(1.0, conn.id, text)
    (v,) = w.platform.recorder.violations
    assert v.fields["reason"].startswith(reason)
    assert v.fields["connection"] == conn.id
    assert v.fields["frame"] == (text if isinstance(text, str) else repr(text))


def test_a_non_200_ack_is_a_violation_and_the_message_stays_unacked() -> None:
    w = World()
    conn = w.connect()
    calls: list[Any] = []
    d = w.push(0.0, on_ack=lambda ack, late: calls.append(ack))
    w.sent()
    w.ack(1.0, conn, d.message_ids[0], code=500)
    assert w.reasons() == [f"ack code 500 for {TOPIC_BOT_MESSAGE}, expected 200"]
    assert not d.acked and calls == [] and w.engine.in_flight()
    assert w.engine.timers_to_cancel() == []


def test_history_limit_forgets_the_oldest_acked_deliveries() -> None:
    w = World(history_limit=1)
    conn = w.connect()
    first, second = w.push(0.0, key="a"), w.push(0.0, key="b")
    w.ack(1.0, conn, first.message_ids[0])
    w.ack(1.0, conn, second.message_ids[0])
    assert set(w.engine.deliveries) == {("app", second.message_ids[0])}
    w.ack(2.0, conn, first.message_ids[0])  # a late duplicate ack of a forgotten message
    assert w.reasons() == [f"ack for unknown messageId {first.message_ids[0]!r}"]


# -- redelivery -----------------------------------------------------------------------------------


def test_an_unacked_message_is_redelivered_once_with_the_same_message_id_then_a_violation() -> None:
    w = World()
    conn = w.connect()
    d = w.push(0.0)
    [(_, first)] = w.sent()
    [timer] = w.armed()
    w.fire(timer)
    [(_, again)] = w.sent()
    assert again["headers"]["messageId"] == first["headers"]["messageId"]
    assert again["headers"]["time"] == str(ms(60.0)) and again["data"] == first["data"]
    (redeliver,) = w.records("redeliver")
    assert (redeliver["t"], redeliver["attempt"], redeliver["messageId"]) == (60.0, 2, d.message_ids[0])
    assert d.message_ids == [first["headers"]["messageId"]]
    [timer] = w.armed()
    assert timer.at == 120.0
    w.fire(timer)
    assert w.sent() == [] and w.armed() == []
    assert w.reasons() == ["message never acked after 2 deliveries"]
    assert not w.engine.in_flight()
    w.ack(121.0, conn, d.message_ids[0])  # still known: a late ack is recorded, not a violation
    assert w.records("ack")[0]["after"] == 61.0


def test_redelivery_new_message_id_gives_each_attempt_its_own_id() -> None:
    w = World(redelivery_new_message_id=True)
    conn = w.connect()
    d = w.push(0.0)
    w.sent()
    w.fire(w.armed()[0])
    [(_, frame)] = w.sent()
    assert len(d.message_ids) == 2 and d.message_ids[0] != d.message_ids[1]
    assert frame["headers"]["messageId"] == d.message_ids[1]
    w.ack(61.0, conn, d.message_ids[0])  # the first id still acks the message
    assert d.acked and w.reasons() == []


def test_redelivery_can_be_switched_off() -> None:
    w = World(redelivery_delay=None)
    w.connect()
    w.push(0.0)
    assert w.armed() == [] and not w.engine.in_flight()


# -- SYSTEM frames ----------------------------------------------------------------------------------


def test_a_system_ping_must_be_acked_echoing_its_opaque() -> None:
    w = World()
    conn = w.connect()
    w.engine.ping(1.0, ms(1.0), conn)
    [(_, frame)] = w.sent()
    assert frame["type"] == "SYSTEM" and frame["headers"]["topic"] == "ping"
    assert "appId" not in frame["headers"] and "connectionId" not in frame["headers"]
    opaque = json.loads(frame["data"])["opaque"]
    assert w.armed() == [] and not w.engine.in_flight(), "SYSTEM frames are never redelivered"
    w.ack(1.5, conn, frame["headers"]["messageId"], data={"opaque": opaque})
    assert w.reasons() == []

    w.engine.ping(2.0, ms(2.0), conn)
    [(_, frame)] = w.sent()
    w.ack(2.5, conn, frame["headers"]["messageId"], data={"opaque": "wrong"})
    expected = json.loads(frame["data"])["opaque"]
    assert w.reasons() == [f"ping ack must echo opaque {expected!r}, found 'wrong'"]


def test_disconnect_drains_the_connection_and_asks_to_close_it_later() -> None:
    w = World(disconnect_close_after=4.0)
    conn = w.connect()
    w.engine.disconnect(1.0, ms(1.0), conn, "persistent connection is timeout")
    [(_, frame)] = w.sent()
    assert frame["headers"]["topic"] == "disconnect"
    assert json.loads(frame["data"]) == {"reason": "persistent connection is timeout"}
    assert conn.state is ConnState.DRAINING and w.engine.live_connections() == []
    [timer] = w.armed()
    assert (timer.what, timer.at) == ("close", 5.0)

    d = w.push(2.0)  # a draining connection gets nothing new
    assert w.sent() == [] and w.engine.waiting == [d]

    w.fire(timer)
    assert w.engine.closes_to_do() == [(conn.id, 1000, "disconnect")]
    w.engine.closed(5.1, conn.id, 1000)
    (rec,) = w.records("disconnect")
    assert (rec["was"], rec["code"], rec["t"]) == ("draining", 1000, 5.1)


def test_a_close_timer_of_a_connection_already_gone_does_nothing() -> None:
    w = World()
    conn = w.connect()
    w.engine.disconnect(1.0, ms(1.0), conn)
    w.engine.closed(2.0, conn.id, 1000)
    w.fire(w.armed()[0])
    assert w.engine.closes_to_do() == []


# -- connection faults ------------------------------------------------------------------------------


def test_a_zombie_swallows_pushes_and_acks_but_still_gets_routed_to() -> None:
    w = World()
    conn = w.connect()
    w.engine.zombie(conn)
    assert w.engine.live_connections() == [conn]
    d = w.push(1.0)
    assert w.sent() == []
    (push,) = w.records("push")
    assert push["swallowed"] == "zombie connection"
    assert len(w.armed()) == 1, "the platform still waits for an ack and redelivers"
    w.ack(1.5, conn, d.message_ids[0])
    w.engine.receive(1.6, conn.id, "garbage")
    assert w.records("ack") == [] and w.reasons() == [] and not d.acked


def test_drop_forgets_the_connection_and_asks_for_an_abort() -> None:
    w = World()
    conn = w.connect()
    w.engine.drop(1.0, conn)
    assert w.engine.aborts_to_do() == [conn.id] and w.engine.live_connections() == []
    (rec,) = w.records("disconnect")
    assert (rec["code"], rec["fault"], rec["was"]) == (1006, "dropped", "live")
    w.engine.closed(1.1, conn.id, 1006)  # the socket's end, seen later, is not recorded twice
    assert len(w.records("disconnect")) == 1


@pytest.mark.parametrize(("action", "copies"), [("drop", 0), ("duplicate", 2)])
def test_frame_faults_drop_or_duplicate_the_frame(action: str, copies: int) -> None:
    w = World()
    w.connect()
    w.platform.faults.arm(parse_fault({"kind": "frame", "action": action}))
    w.push(1.0)
    assert len(w.sent()) == copies
    assert w.records("push")[0]["fault"] == f"{action} (nth=1)"


def test_a_delayed_frame_is_sent_when_its_timer_fires() -> None:
    w = World()
    w.connect()
    w.platform.faults.arm(parse_fault({"kind": "frame", "action": "delay", "delay": 3}))
    w.push(1.0)
    assert w.sent() == []
    redeliver, send = w.armed()
    assert (redeliver.what, send.what, send.at) == ("redeliver", "send", 4.0)
    w.fire(send)
    [(_, frame)] = w.sent()
    assert frame["headers"]["time"] == str(ms(1.0)), "stamped when pushed, not when sent"


# -- handshake, reset -------------------------------------------------------------------------------


def test_a_rejected_ticket_is_recorded_and_raised() -> None:
    w = World()
    with pytest.raises(OpenApiError) as exc:
        w.engine.accept_ticket(1.0, "not-a-ticket")
    assert exc.value.status == 401 and exc.value.code == "ticketInvalid"
    (v,) = w.platform.recorder.violations
    assert v.fields == {"reason": "websocket handshake rejected: unknown ticket", "ticket": "not-…***"}


def test_reset_forgets_deliveries_and_timers_but_keeps_connections() -> None:
    w = World()
    conn = w.connect()
    w.push(1.0)
    w.sent()
    [timer] = w.armed()
    w.engine.reset()
    assert w.engine.timers_to_cancel() == [timer]
    assert w.engine.deliveries == {} and w.engine.waiting == [] and not w.engine.in_flight()
    assert w.engine.closes_to_do() == []
    assert w.engine.live_connections() == [conn] and conn.state is ConnState.LIVE
    d = w.push(2.0, key="after")
    [(to, _)] = w.sent()
    assert to == conn.id and d.attempts == 1


def test_reset_forgets_a_delayed_frame_too() -> None:
    w = World()
    w.connect()
    w.platform.faults.arm(parse_fault({"kind": "frame", "action": "delay", "delay": 3}))
    w.push(1.0)
    timers = w.armed()
    w.engine.reset()
    assert w.engine.timers_to_cancel() == timers
    w.fire(timers[1])
    assert w.sent() == []


def test_reset_with_sessions_closes_every_connection_unrecorded() -> None:
    w = World()
    a, b = w.connect(), w.connect()
    w.engine.reset(sessions=True)
    assert w.engine.closes_to_do() == [(a.id, 1001, "fakeding reset"), (b.id, 1001, "fakeding reset")]
    assert w.engine.live_connections() == [] and a.state is ConnState.CLOSED
    w.engine.closed(1.0, a.id, 1001)
    assert w.records("disconnect") == []
    d = w.push(2.0)
    assert w.engine.waiting == [d]


def test_a_late_ack_of_a_delivery_from_before_a_reset_is_no_violation() -> None:
    w = World()
    conn = w.connect()
    d = w.push(0.0)
    w.engine.reset()  # the connection stays; the delivery is forgotten
    w.ack(1.0, conn, d.message_ids[0])
    assert w.reasons() == [] and w.records("ack") == []
    w.ack(1.0, conn, "never-pushed")  # an id the fake never handed out is still a violation
    assert w.reasons() == ["ack for unknown messageId 'never-pushed'"]
