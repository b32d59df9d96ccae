"""A full disk under the robot's SQLite store (issue 23, item 6): the robot says so loudly,
leaves what it cannot claim unacked (the platform delivers it again), and answers it once
space returns; nothing is lost and no task dies unseen.

The disk is a real 4 MiB tmpfs mounted for the test when the machine allows it (root);
elsewhere the store's connection is wrapped to fail its writes with SQLite's own "database or
disk is full" error. ``SmallDisk.how`` says which one ran."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.clock import SystemClock
from bot.errors import StoreUnwritable
from bot.scenario_adapter import open_harness
from bot.storage.store import Store
from tests.bot.robot_kit import is_final, markdown, records, violations

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE")


class SmallDisk:
    """A folder on a small disk that ``fill`` fills up and ``free`` frees."""

    def __init__(self, path: Path, how: str) -> None:
        self.path, self.how = path, how
        self.full = False
        self._ballast = path / "ballast"

    def fill(self) -> None:
        self.full = True
        if self.how == "tmpfs":
            fd = os.open(self._ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            try:
                for _ in range(100_000):  # bounded: 400 MiB, far more than the disk holds
                    os.write(fd, b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == 28, exc  # ENOSPC: full
            finally:
                os.close(fd)

    def free(self) -> None:
        self.full = False
        with contextlib.suppress(FileNotFoundError):
            self._ballast.unlink()


class _FullWhenAsked:
    """An sqlite3 connection whose writes fail as on a full disk while ``disk.full``."""

    def __init__(self, conn: sqlite3.Connection, disk: SmallDisk) -> None:
        self._conn, self._disk = conn, disk

    def _check(self, sql: str) -> None:
        if self._disk.full and sql.lstrip().upper().startswith(WRITES):
            raise sqlite3.OperationalError("database or disk is full")

    def execute(self, sql: str, *args: Any) -> Any:
        self._check(sql)
        return self._conn.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        self._check(sql)
        return self._conn.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmallDisk]:
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True, check=False
        ).returncode
        == 0
    )
    disk = SmallDisk(folder, "tmpfs" if mounted else "injected")
    if not mounted:
        real = Store._connection

        def connection(store: Store) -> Any:
            return _FullWhenAsked(real(store), disk)

        monkeypatch.setattr(Store, "_connection", connection)
    try:
        yield disk
    finally:
        disk.free()
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def test_the_disk_fills_and_frees_as_the_store_sees_it(small_disk: SmallDisk) -> None:
    store = Store(small_disk.path / "robot.sqlite3", SystemClock())
    try:
        store.claim_message("k1", msg_id="m1", owner="o", payload="{}")
        small_disk.fill()
        with pytest.raises(StoreUnwritable) as refused:
            store.claim_message("k2", msg_id="m2", owner="o", payload="{}" * 2000)
        assert str(small_disk.path / "robot.sqlite3") in str(refused.value)
        assert "SQLITE_FULL" in str(refused.value) and "ENOSPC" in str(refused.value)
        small_disk.free()
        assert store.claim_message("k2", msg_id="m2", owner="o", payload="{}").outcome == "new"
    finally:
        store.close()


@pytest.mark.fakeding_virtual
async def test_a_message_that_arrives_on_a_full_disk_is_held_unacked_and_answered_once_it_frees(
    small_disk: SmallDisk, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        async with open_harness(
            agent=ScriptedAgent([{"chunks": ["First answer."]}, {"chunks": ["Second answer."]}]),
            store_dir=small_disk.path,
        ) as h:
            h.fake.send_message("First question", conversation_id="cidFirst", staff_id="u1")
            await h.settle()
            small_disk.fill()
            second = h.fake.send_message("Second question", conversation_id="cidSecond", staff_id="u2")
            await asyncio.sleep(90.0)  # the platform's redelivery (60 s) comes and is held too
            pushed = [
                r for r in records(h, "push", "redeliver") if r.fields.get("messageId") == second.message_id
            ]
            assert len(pushed) == 2, pushed
            acked = [r for r in records(h, "ack") if r.fields["messageId"] == second.message_id]
            assert acked == [], "nothing it could not claim is acked"
            assert [c.conversation_id for c in h.fake.platform.cards.all()] == ["cidFirst"]
            small_disk.free()
            await asyncio.sleep(60.0)
            await h.settle()
            cards = [c for c in h.fake.platform.cards.all() if c.conversation_id == "cidSecond"]
            assert len(cards) == 1 and is_final(cards[0].current)
            assert markdown(cards[0].current, "answer") == "Second answer."
            acked = [r for r in records(h, "ack") if r.fields["messageId"] == second.message_id]
            assert acked and all(r.fields["code"] == 200 for r in acked)
            assert [r.fields["msg"] for r in records(h, "bot.store.unwritable")] == [
                second.msg_id,
                second.msg_id,
            ]
            assert violations(h) == []

    loud = [
        r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and "not acked" in r.getMessage()
    ]
    assert loud, [r.getMessage() for r in caplog.records]
    assert str(small_disk.path / "robot.sqlite3") in loud[0]
    assert "ENOSPC" in loud[0] and "delivers it again" in loud[0]
    assert not any("never retrieved" in r.getMessage() for r in caplog.records)
    assert any("claimed after the store could write again" in r.getMessage() for r in caplog.records)


def test_the_unwritable_store_is_counted_in_the_metrics() -> None:
    from bot.metrics import Metrics

    metrics = Metrics()
    metrics.observe(1.0, "store.unwritable", {"msg": "m1"})
    assert metrics.registry.get_sample_value("dingbot_store_unwritable_total") == 1.0


@pytest.mark.fakeding_virtual
async def test_in_http_mode_a_message_the_full_store_cannot_take_is_a_503_and_its_retry_passes(
    small_disk: SmallDisk,
) -> None:
    from tests.bot.test_robot_http_hardening import encoded, message, raw_post, robot_url, signed

    async with open_harness(
        agent=ScriptedAgent([{"chunks": ["Under Billing."]}]),
        robot={"mode": "http"},
        store_dir=small_disk.path,
    ) as h:
        small_disk.fill()
        headers, data = signed(h), encoded(message(h, "msgFull", "Where are invoices?"))
        refused = await raw_post(robot_url(h), headers, data)
        assert refused.status == 503 and refused.content_type == "application/json", refused
        error = refused.json()["error"]
        assert "msgFull not taken" in error and str(small_disk.path) in error, error
        assert "ENOSPC" in error
        small_disk.free()
        retried = await raw_post(robot_url(h), headers, data)  # the very same request again
        assert retried.status == 200, retried
        await h.settle()
        (card,) = h.fake.platform.cards.all()
        assert is_final(card.current) and markdown(card.current, "answer") == "Under Billing."
