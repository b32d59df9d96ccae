"""Record kinds are one vocabulary (``fakeding.core.record_kinds``): the strings on the wire do not
change, every kind the kit writes is a ``RecordKind`` with a documented payload, and a failure
of the fake itself is its own kind that fails ``check()`` as fakeding's fault."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.asyncio.client import connect

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing, UnmetExpectation
from fakeding.core.record_kinds import PAYLOADS, SUMMARIES, RecordKind, payload_fields
from fakeding.core.recorder import Recorder
from fakeding.testing.scenarios.runner import run_scenario

ROOT = Path(__file__).resolve().parents[2]

# The strings records carried before the enum: JSON lines, snapshots and the control API use them.
WIRE = {
    "connect", "disconnect", "refused", "push", "redeliver", "queued", "gave_up", "ack", "api",
    "callback", "webhook", "custom_robot", "card.send", "card.update", "message", "graph",
    "click", "fault", "violation", "warning", "robot.exception", "robot.exit", "robot.outside",
    "robot.thread_stopped", "robot.unfinished",
}  # fmt: skip


def test_the_kinds_keep_their_strings_and_add_only_the_fakes_own_failure() -> None:
    assert {k.value for k in RecordKind} == WIRE | {"fake_error"}
    assert set(PAYLOADS) == set(RecordKind) == set(SUMMARIES)


def test_a_record_stores_its_kind_as_a_plain_string() -> None:
    rec = Recorder().add(1.0, RecordKind.CARD_SEND, card="c1")
    assert type(rec.kind) is str and rec.kind == "card.send" == RecordKind.CARD_SEND
    assert json.loads(Recorder().to_json_lines([rec]))["kind"] == "card.send"
    assert str(rec).startswith("= +1.000s card.send ")


def test_every_record_of_every_scenario_fits_its_kinds_payload() -> None:
    seen: set[str] = set()
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        for rec in run_scenario(path).records:
            seen.add(rec.kind)
            if rec.kind.startswith("bot."):  # the reference robot's own records
                continue
            extra = set(rec.fields) - payload_fields(RecordKind(rec.kind))
            assert not extra, f"{path.name}: {rec} has fields {sorted(extra)} its payload lacks"
    assert {"push", "ack", "api", "card.send", "card.update", "webhook", "fault"} <= seen


def test_a_failure_of_the_fake_on_a_stream_frame_is_a_fake_error_not_a_violation(
    fakeding: ThreadedFakeDing, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("injected frame failure")

    r = requests.post(
        f"{fakeding.http_url}/v1.0/gateway/connections/open",
        timeout=10,
        json={
            "clientId": DEFAULT_CLIENT_ID,
            "clientSecret": DEFAULT_CLIENT_SECRET,
            "subscriptions": [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}],
        },
    )
    endpoint, ticket = r.json()["endpoint"], r.json()["ticket"]

    async def run() -> None:
        async with connect(f"{endpoint}?ticket={ticket}", open_timeout=5, close_timeout=5) as ws:
            fakeding.wait_for("connect")
            monkeypatch.setattr(fakeding.fake.stream.engine, "receive", boom)
            await ws.send(json.dumps({"code": 200, "headers": {"messageId": "m1"}}))
            fakeding.wait_for("fake_error")
            assert ws.close_code is None  # the connection stays up

    with caplog.at_level(logging.ERROR, logger="fakeding"):
        asyncio.run(run())
    assert "injected frame failure" in caplog.text
    assert fakeding.violations == []
    [error] = fakeding.fake_errors
    assert error.fields["where"] == "a Stream frame"
    assert error.fields["problem"] == "RuntimeError: injected frame failure"
    with pytest.raises(UnmetExpectation, match="fakeding itself failed") as failed:
        fakeding.check()
    assert "not in your robot" in str(failed.value)
    monkeypatch.undo()
    fakeding.reset()  # the failure was the point of this test


def test_a_fake_error_cannot_be_expected_away_as_a_violation(fakeding: ThreadedFakeDing) -> None:
    fakeding.call(lambda: fakeding.fake.record(RecordKind.FAKE_ERROR, where="x", reason="boom"))
    fakeding.expect_violation("boom")
    with pytest.raises(UnmetExpectation, match="fakeding itself failed"):
        fakeding.check()
    fakeding.reset()
