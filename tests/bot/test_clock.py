"""The robot's loop clock: the running loop's time, never backwards across loops."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import LoopClock


def test_a_clock_read_before_any_loop_says_what_it_needs() -> None:
    with pytest.raises(RuntimeError, match="expected a running asyncio loop"):
        LoopClock().monotonic()


def test_readings_follow_the_loop_and_never_go_backwards_across_loops() -> None:
    clock = LoopClock(epoch=1_700_000_000.0)

    async def read(pause: float) -> tuple[float, float]:
        first = clock.monotonic()
        await asyncio.sleep(pause)
        return first, clock.monotonic()

    a0, a1 = asyncio.run(read(0.02))
    assert a1 - a0 >= 0.015, "time passes with the loop"
    outside = clock.monotonic()  # no loop running: the last loop's reading, still
    b0, b1 = asyncio.run(read(0.0))  # a new loop starts its own time from 0
    assert a0 <= a1 <= outside <= b0 <= b1
    assert clock.time() == pytest.approx(1_700_000_000.0 + clock.monotonic())
