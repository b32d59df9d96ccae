"""The short soak: random faults in virtual time lose, double and strand nothing."""

from __future__ import annotations

from bench.soak import run


def test_short_soak_loses_nothing_doubles_nothing_strands_nothing() -> None:
    result = run(messages=150, users=30, duration=40.0, seed=7, virtual=True)
    faults = result["faults"]
    assert faults["drops"] > 0 and faults["api_faults"] > 0 and faults["zombies"] == 1
    assert result["reconnects"] >= faults["drops"]  # every drop was followed by a reconnect
    assert result["messages_sent"] == 150
    assert result["answers_delivered"] == 150
    assert result["lost"] == 0
    assert result["duplicates"] == 0
    assert result["unfinished_cards"] == 0
    assert result["platform_errors_to_users"] == 0
    assert result["violations"] == 0
