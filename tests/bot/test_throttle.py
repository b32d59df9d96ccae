"""The card-update throttle: 2-second rule, 5-chunk rule, the cap, and their boundaries."""

from __future__ import annotations

import pytest

from bot.core.throttle import Decision, Throttle


def test_fifth_chunk_triggers_a_batch_update() -> None:
    throttle = Throttle(start=0.0)
    decisions = [throttle.on_chunk(0.1 * i) for i in range(1, 6)]
    assert [d.update for d in decisions] == [False, False, False, False, True]
    assert decisions[-1] == Decision(update=True, reason="batch")
    assert throttle.pending == 0
    assert throttle.streaming_updates == 1


def test_four_chunks_are_not_enough() -> None:
    throttle = Throttle(start=0.0)
    assert [throttle.on_chunk(0.5).reason for _ in range(4)] == ["wait"] * 4
    assert throttle.pending == 4
    assert throttle.streaming_updates == 0


def test_interval_rule_updates_after_two_seconds() -> None:
    throttle = Throttle(start=10.0)
    assert throttle.on_chunk(11.0) == Decision(update=False, reason="wait")
    assert throttle.on_chunk(12.5) == Decision(update=True, reason="interval")
    # The interval restarts from the last update, not from the start.
    assert throttle.on_chunk(14.0).update is False
    assert throttle.on_chunk(14.5) == Decision(update=True, reason="interval")


def test_exactly_two_seconds_is_enough_and_just_under_is_not() -> None:
    early = Throttle(start=0.0)
    assert early.on_chunk(1.999).update is False
    exact = Throttle(start=0.0)
    assert exact.on_chunk(2.0) == Decision(update=True, reason="interval")


def test_interval_is_counted_from_the_thinking_card() -> None:
    throttle = Throttle(start=100.0)
    # The first chunk arrives 3 s after the thinking card: update at once.
    assert throttle.on_chunk(103.0) == Decision(update=True, reason="interval")


def test_pending_resets_after_each_update() -> None:
    throttle = Throttle(start=0.0)
    reasons = [throttle.on_chunk(0.0).reason for _ in range(10)]
    assert reasons == ["wait"] * 4 + ["batch"] + ["wait"] * 4 + ["batch"]


def test_two_hundred_chunks_give_exactly_nineteen_streaming_updates() -> None:
    throttle = Throttle(start=0.0)
    decisions = [throttle.on_chunk(0.01 * i) for i in range(200)]
    assert sum(d.update for d in decisions) == 19
    assert throttle.streaming_updates == 19
    assert decisions[-1] == Decision(update=False, reason="cap")
    # Once capped, every chunk is still counted as pending for the final update.
    assert throttle.pending == 200 - 19 * 5


def test_cap_applies_to_the_interval_rule_too() -> None:
    throttle = Throttle(start=0.0, max_updates=3)
    decisions = [throttle.on_chunk(float(t)) for t in range(2, 20, 2)]
    assert [d.update for d in decisions] == [True, True] + [False] * 7
    assert {d.reason for d in decisions[2:]} == {"cap"}


def test_single_update_budget_leaves_only_the_final_update() -> None:
    throttle = Throttle(start=0.0, max_updates=1)
    assert throttle.on_chunk(5.0) == Decision(update=False, reason="cap")
    assert throttle.on_chunk(5.0).reason == "cap"
    assert throttle.streaming_updates == 0


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"max_updates": 0}, "max_updates"),
        ({"interval": -1.0}, "interval"),
        ({"batch": 0}, "batch"),
    ],
)
def test_bad_arguments_are_named_with_the_value_found(kwargs: dict[str, float], named: str) -> None:
    with pytest.raises(ValueError, match=named) as info:
        Throttle(start=0.0, **kwargs)  # type: ignore[arg-type]
    assert str(next(iter(kwargs.values()))) in str(info.value)
