"""Ids never repeat: not across resets, not across restarts, not even with the same seed."""

from __future__ import annotations

from fakeding import Settings, ThreadedFakeDing
from fakeding.ids import IdFactory


def _ids(fake: ThreadedFakeDing, n: int = 5) -> set[str]:
    return {fake.send_message(f"q{i}", staff_id="alice").msg_id for i in range(n)}


def test_a_restarted_fake_with_the_same_seed_hands_out_new_ids() -> None:
    seen: set[str] = set()
    for _ in range(3):  # three "restarts" of a fake seeded alike
        with ThreadedFakeDing(Settings(seed=0)) as fake:
            ids = _ids(fake)
            fake.reset(seed=0)
            ids |= _ids(fake)
        assert len(ids) == 10 and not ids & seen
        seen |= ids


def test_a_named_incarnation_repeats_its_ids_so_scenarios_stay_byte_identical() -> None:
    a, b = IdFactory(7, incarnation="scenario"), IdFactory(7, incarnation="scenario")
    assert [a.msg_id() for _ in range(3)] == [b.msg_id() for _ in range(3)]
    a.renew(7)
    assert a.msg_id() not in {b.msg_id() for _ in range(50)}  # a new generation: new ids


def test_seeded_choices_replay_after_a_reset() -> None:
    ids = IdFactory(3, incarnation="x")
    first = [ids.choice("abcdef") for _ in range(10)]
    ids.renew(3)
    assert [ids.choice("abcdef") for _ in range(10)] == first
