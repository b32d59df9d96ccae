"""The Stream connection recovers from a SYSTEM disconnect, a dropped socket and a zombie."""

from __future__ import annotations

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import open_harness
from fakeding.core.settings import Settings
from tests.bot.robot_kit import cards, events, is_final, only_card, records, violations


def answer_agent(n: int = 2) -> ScriptedAgent:
    return ScriptedAgent([{"chunks": [f"Answer {i}."]} for i in range(n)])


@pytest.mark.fakeding_virtual
async def test_a_system_disconnect_makes_the_robot_reconnect_at_once() -> None:
    async with open_harness(agent=answer_agent()) as h:
        await h.sleep_until(5.0)
        h.fake.fault({"kind": "disconnect"})
        await h.sleep_until(6.0)
        first, second = records(h, "connect")
        assert first.t == 0.0
        assert second.t == 5.0, "a new connection at the same virtual time"
        assert first.fields["connection"] != second.fields["connection"]
        assert events(h, "stream.backoff") == []
        assert [r.fields["topic"] for r in records(h, "ack") if r.t == 5.0] == ["disconnect"]
        h.fake.send_message("Still there?", staff_id="alice")
        await h.settle()
        assert is_final(only_card(h).current)
        await h.sleep_until(20.0)  # the old connection's 10 s drain passes quietly
        assert len(h.fake.stream.live_connections()) == 1
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_dropped_connection_comes_back_after_a_jittered_backoff_and_gets_the_queue() -> None:
    async with open_harness(agent=answer_agent()) as h:
        await h.sleep_until(5.0)
        h.fake.fault({"kind": "drop_connection"})
        sent = h.fake.send_message("Anyone?", staff_id="alice")
        assert sent.delivered and sent.message_id is None, "queued while disconnected"
        await h.settle()
        [backoff] = events(h, "stream.backoff")
        assert backoff.fields["failures"] == 1
        assert 0.8 <= backoff.fields["delay"] <= 1.2
        assert backoff.t == 5.0
        first, second = records(h, "connect")
        assert second.t == pytest.approx(5.0 + backoff.fields["delay"], abs=0.001)
        [queued] = records(h, "queued")
        assert queued.fields["key"] == sent.msg_id
        [push] = records(h, "push")
        assert push.t == second.t and push.fields["connection"] == second.fields["connection"]
        card = only_card(h)
        assert is_final(card.current)
        assert card.created_at == second.t
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_backoff_grows_while_the_gateway_keeps_failing() -> None:
    gateway = "/v1.0/gateway/connections/open"

    async with open_harness(agent=answer_agent()) as h:
        await h.sleep_until(5.0)
        # The fake only fails authenticated OpenAPI calls, so break the credentials instead.
        secret = h.fake.platform.apps["fakeding-client"].client_secret
        h.fake.platform.apps["fakeding-client"].client_secret = "rotated"
        h.fake.fault({"kind": "drop_connection"})
        await h.sleep_until(40.0)
        h.fake.platform.apps["fakeding-client"].client_secret = secret
        await h.sleep_until(80.0)
        delays = [r.fields["delay"] for r in events(h, "stream.backoff")]
        failures = [r.fields["failures"] for r in events(h, "stream.backoff")]
        assert failures[:5] == [1, 2, 3, 4, 5]
        for n, delay in enumerate(delays[:5], start=1):
            assert 0.8 * 2 ** (n - 1) <= delay <= 1.2 * 2 ** (n - 1)
        assert len(records(h, "connect")) == 2, "connected again once the secret works"
        assert [
            r
            for r in records(h, "api")
            if r.fields["route"] == f"POST {gateway}" and r.fields["status"] == 401
        ]


@pytest.mark.fakeding_virtual
async def test_a_zombie_connection_is_replaced_by_the_idle_watchdog() -> None:
    settings = Settings(system_ping_interval=10.0)

    async with open_harness(
        settings=settings, agent=answer_agent(), robot={"stream_idle_timeout": 25.0}
    ) as h:
        await h.sleep_until(12.0)
        h.fake.fault({"kind": "zombie"})
        sent = h.fake.send_message("Hello?", staff_id="alice")  # swallowed by the zombie
        await h.sleep_until(60.0)
        [idle] = events(h, "stream.idle")
        assert idle.t == 35.0, "25 s after the last ping (t=10) reached the robot"
        first, second = records(h, "connect")
        assert second.t == idle.t
        assert events(h, "stream.backoff") == []
        await h.settle()
        # The platform redelivers the swallowed message (60 s) on the new connection.
        [redelivery] = records(h, "redeliver")
        assert redelivery.fields["connection"] == second.fields["connection"]
        assert redelivery.fields["key"] == sent.msg_id
        assert len(cards(h)) == 1 and is_final(only_card(h).current)
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_healthy_connection_with_platform_pings_is_not_replaced() -> None:
    settings = Settings(system_ping_interval=10.0)

    async with open_harness(
        settings=settings, agent=answer_agent(), robot={"stream_idle_timeout": 25.0}
    ) as h:
        await h.sleep_until(125.0)
        assert len(records(h, "connect")) == 1
        assert events(h, "stream.idle") == []
        pings = [r for r in records(h, "ack") if r.fields["topic"] == "ping"]
        assert len(pings) == 12, "every ping answered"
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_an_answer_streaming_through_a_system_disconnect_still_ends_final() -> None:
    chunks = ["one ", "two ", "three ", "four ", "five "]

    async with open_harness(agent=ScriptedAgent([{"chunks": chunks, "delay": 1.0}])) as h:
        h.fake.send_message("Count to five", staff_id="alice")
        await h.sleep_until(2.5)
        h.fake.fault({"kind": "disconnect"})
        await h.settle()
        assert len(records(h, "connect")) == 2
        card = only_card(h)
        assert is_final(card.current)
        assert card.current["contents"][0]["text"] == "".join(chunks)
        assert events(h, "card.final.failed") == [] and violations(h) == []
