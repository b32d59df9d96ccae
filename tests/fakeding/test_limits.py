"""The sliding-window counter behind the QPS and webhook limits (``fakeding.core.limits``)."""

from __future__ import annotations

from fakeding.core.limits import WindowLimiter

KEY = ("app1", "PUT", "/v1.0/card/streaming")


def _run(limiter: WindowLimiter, times: list[float], key: tuple[str, ...] = KEY) -> list[bool]:
    return [limiter.allow(key, t) for t in times]


def test_allows_up_to_the_limit_within_one_window() -> None:
    limiter = WindowLimiter(3, 1.0)
    assert _run(limiter, [0.0, 0.25, 0.5, 0.75]) == [True, True, True, False]


def test_limit_none_allows_everything() -> None:
    limiter = WindowLimiter(None, 1.0)
    assert _run(limiter, [0.0] * 1000) == [True] * 1000


def test_limit_zero_allows_nothing() -> None:
    assert _run(WindowLimiter(0, 1.0), [0.0, 5.0]) == [False, False]


def test_a_hit_expires_exactly_one_window_later() -> None:
    limiter = WindowLimiter(2, 1.0)
    assert _run(limiter, [0.0, 0.5]) == [True, True]
    assert limiter.allow(KEY, 0.9375) is False  # both hits still inside (now - 1, now]
    assert limiter.allow(KEY, 1.0) is True  # the hit at 0.0 left the window at 1.0
    assert limiter.allow(KEY, 1.25) is False  # hits at 0.5 and 1.0 are inside
    assert limiter.allow(KEY, 1.5) is True  # the hit at 0.5 left


def test_just_before_the_window_ends_is_still_limited() -> None:
    limiter = WindowLimiter(1, 1.0)
    assert _run(limiter, [10.0, 10.999, 11.0]) == [True, False, True]


def test_the_window_slides_rather_than_resetting_on_fixed_boundaries() -> None:
    limiter = WindowLimiter(2, 1.0)
    # two hits late in second 0 still block early in second 1
    assert _run(limiter, [0.75, 0.875, 1.25, 1.75, 1.875]) == [True, True, False, True, True]


def test_refused_calls_are_not_counted() -> None:
    limiter = WindowLimiter(1, 1.0)
    assert _run(limiter, [0.0, 0.5, 0.75, 0.875]) == [True, False, False, False]
    assert limiter.allow(KEY, 1.0) is True  # refusals at 0.5-0.875 did not extend the block


def test_keys_are_counted_independently() -> None:
    limiter = WindowLimiter(1, 1.0)
    assert limiter.allow(("app1", "PUT", "/a"), 0.0) is True
    assert limiter.allow(("app1", "PUT", "/b"), 0.0) is True
    assert limiter.allow(("app2", "PUT", "/a"), 0.0) is True
    assert limiter.allow(("app1", "POST", "/a"), 0.0) is True
    assert limiter.allow(("app1", "PUT", "/a"), 0.0) is False


def test_minute_window_for_webhooks() -> None:
    limiter = WindowLimiter(20, 60.0)
    assert _run(limiter, [float(i) for i in range(20)], key=("app1",)) == [True] * 20
    assert limiter.allow(("app1",), 59.5) is False
    assert limiter.allow(("app1",), 60.0) is True  # the hit at 0 s left the window


def test_reset_forgets_every_hit() -> None:
    limiter = WindowLimiter(1, 1.0)
    assert limiter.allow(KEY, 0.0) is True
    limiter.reset()
    assert limiter.allow(KEY, 0.0) is True
    assert limiter.allow(KEY, 0.0) is False
