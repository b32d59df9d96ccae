"""The robot's pacer: must-happen calls go first, best-effort calls never hold a future slot."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.core.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_must_happen_calls_take_consecutive_slots() -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock)
    assert [limiter.reserve("PUT /a") for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])
    assert limiter.reserve("PUT /b") == 0.0  # each API has its own budget


def test_a_best_effort_call_takes_only_a_free_slot_and_never_one_in_the_future() -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock)
    assert limiter.take_free("k") is None  # free: taken
    assert limiter.take_free("k") == pytest.approx(0.1)  # next free at 0.1: not taken
    assert limiter.reserve("k") == pytest.approx(0.1)  # so a final still gets that slot
    clock.t = 0.1
    assert limiter.take_free("k") == pytest.approx(0.2)


def test_qps_must_be_positive() -> None:
    with pytest.raises(ValueError, match="qps must be > 0, found 0"):
        RateLimiter(0, time.monotonic)


def test_a_final_arriving_while_a_streaming_update_waits_goes_first() -> None:
    async def main() -> list[str]:
        limiter = RateLimiter(20, time.monotonic)
        order: list[str] = []
        await limiter.acquire("k")  # the slot now is used: the next frees in 50 ms

        async def stream() -> None:
            if await limiter.acquire_best_effort("k", max_wait=5.0) is not None:
                order.append("stream")

        async def final() -> None:
            await limiter.acquire("k")
            order.append("final")

        waiting = asyncio.ensure_future(stream())
        await asyncio.sleep(0)  # the streaming update is waiting for the next slot
        await asyncio.gather(final(), waiting)
        return order

    assert asyncio.run(main()) == ["final", "stream"]


def test_a_best_effort_call_gives_up_when_finals_hold_every_slot_within_its_wait() -> None:
    async def main() -> float | None:
        limiter = RateLimiter(20, time.monotonic)
        for _ in range(40):  # two seconds of finals reserved
            limiter.reserve("k")
        return await limiter.acquire_best_effort("k", max_wait=0.2)

    assert asyncio.run(main()) is None


def test_a_burst_takes_that_many_slots_at_once_then_waits_a_window() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock, burst=3)  # at most 3 calls in any 1.0 s, like the platform
    assert [limiter.reserve("k") for _ in range(7)] == pytest.approx([0, 0, 0, 1.0, 1.0, 1.0, 2.0])
    assert limiter.reserve("other") == 0.0  # each API has its own window


def test_in_a_burst_best_effort_calls_take_half_a_window_and_leave_the_rest_to_finals() -> None:
    clock = Clock()
    limiter = RateLimiter(4, clock, burst=4)  # at most 4 calls in any 1.0 s
    assert limiter.take_free("k") is None
    assert limiter.take_free("k") is None
    assert limiter.take_free("k") == pytest.approx(1.0)  # its half is used: not taken
    assert [limiter.reserve("k") for _ in range(3)] == pytest.approx([0.0, 0.0, 1.0])  # finals: the rest
    clock.t = 1.0
    assert limiter.take_free("k") is None  # a slot of the new window, after the reserved one
    assert limiter.take_free("k") == pytest.approx(2.0)  # never a future slot


def test_no_window_ever_holds_more_than_the_burst() -> None:
    import random

    rng = random.Random(7)
    clock = Clock()
    limiter = RateLimiter(19, clock, burst=20)
    taken: list[float] = []
    for _ in range(2000):
        clock.t += rng.choice([0.0, 0.0, 0.001, 0.01, 0.05, 0.3])
        if rng.random() < 0.5:
            taken.append(clock.t + limiter.reserve("k"))
        elif limiter.take_free("k") is None:
            taken.append(clock.t)
    taken.sort()
    window = 20 / 19
    assert all(b - a >= window - 1e-9 for a, b in zip(taken, taken[20:], strict=False))


@pytest.mark.parametrize("burst", [0, -1, 1.5, True])
def test_burst_must_be_a_whole_number_of_calls(burst: object) -> None:
    with pytest.raises(ValueError, match=f"burst must be an integer >= 1, found {burst!r}"):
        RateLimiter(20, time.monotonic, burst=burst)  # type: ignore[arg-type]
