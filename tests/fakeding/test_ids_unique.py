"""Ids never repeat: not across resets, not across restarts, not even with the same seed."""

from __future__ import annotations

import random
import uuid

from fakeding import Settings, ThreadedFakeDing
from fakeding.core.ids import IdFactory


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


def test_uuids_are_the_standard_version_4_text_of_the_seeded_bits() -> None:
    """``IdFactory.uuid`` formats the bits itself: the text must be what ``uuid.UUID`` makes."""
    ids = IdFactory(5, incarnation="check")
    twin = random.Random("fakeding:5:check:0")  # the same seed mix as ``IdFactory.renew``
    for _ in range(2000):
        assert ids.uuid() == str(uuid.UUID(int=twin.getrandbits(128), version=4))
    edges = IdFactory(0)
    for bits in (0, (1 << 128) - 1):
        edges._rng = _Fixed(bits)  # noqa: SLF001
        assert edges.uuid() == str(uuid.UUID(int=bits, version=4))


class _Fixed(random.Random):
    def __init__(self, bits: int) -> None:
        super().__init__(0)
        self.bits = bits

    def getrandbits(self, k: int) -> int:
        return self.bits & ((1 << k) - 1)
