"""Seeded generation of every id the fake hands out, unique across resets and restarts.

Tickets, tokens, message ids, msgIds, request ids, card ids and session keys come from one
``random.Random`` whose seed mixes three things:

- ``seed``: the run's seed (``Settings.seed``, ``--seed``, ``reset(seed=...)``);
- ``incarnation``: a name for this process's fake, chosen by whoever builds it. ``FakeDing``
  draws a random one unless told otherwise, so a restarted ``fakeding serve`` never hands out
  the ids of the previous one; the scenario harness passes a fixed one, so its runs repeat;
- ``generation``: how many times the fake was reset, so a reset never repeats an id either.

A robot that deduplicates on ``msgId`` in a store that outlives the fake therefore never sees
an old id again. Choices that shape behaviour (which connection gets a push) come from a
second generator seeded by ``seed`` alone, so a seeded run behaves the same after any reset.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
# What ``uuid.UUID(int=..., version=4)`` does to the bits: the RFC 4122 variant (10) and
# version (0100) fields are cleared, then set.
_UUID_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_V4 = (0x8000 << 48) | (4 << 76)


class IdFactory:
    def __init__(self, seed: int = 0, *, incarnation: str = "") -> None:
        self.incarnation = incarnation
        self.generation = -1
        self._counter = 0  # frame messageIds count on across resets
        self.renew(seed)

    def renew(self, seed: int) -> None:
        """Start a new generation: fresh ids, and choices replayed from ``seed``."""
        self.seed = seed
        self.generation += 1
        self._rng = random.Random(f"fakeding:{seed}:{self.incarnation}:{self.generation}")
        self._choices = random.Random(seed)

    def choice(self, items: Sequence[T]) -> T:
        """A seeded choice among ``items`` (same seed, same choices, whatever the generation)."""
        return items[self._choices.randrange(len(items))] if len(items) > 1 else items[0]

    def _hex(self, n: int) -> str:
        return format(self._rng.getrandbits(4 * n), f"0{n}x")

    def uuid(self) -> str:
        """``str(uuid.UUID(int=bits, version=4))`` for 128 seeded bits, formatted directly:
        every request id is one, and the ``UUID`` object is built and thrown away otherwise."""
        n = (self._rng.getrandbits(128) & _UUID_KEEP) | _UUID_V4
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def ticket(self) -> str:
        return self.uuid()

    def connection_id(self) -> str:
        return self.uuid()

    def request_id(self) -> str:
        return self.uuid().upper()

    def token(self) -> str:
        return self._hex(32)

    def session_key(self) -> str:
        return self._hex(32)

    def message_id(self) -> str:
        """Frame ``headers.messageId``, shaped like the platform's ``212ca9d7_974_1898c159aa6_1783b``."""
        self._counter += 1
        return f"{self._hex(8)}_{self._counter}_{self._hex(11)}_{self._hex(5)}"

    def msg_id(self) -> str:
        """The business ``data.msgId``: ``msg`` + base64, like the platform's encrypted ids."""
        raw = self._rng.getrandbits(128).to_bytes(16, "big")
        return "msg" + base64.b64encode(raw).decode()

    def process_query_key(self) -> str:
        return base64.b64encode(self._rng.getrandbits(192).to_bytes(24, "big")).decode()

    def code(self, prefix: str) -> str:
        return f"{prefix}{self._hex(24)}"


def stable_ids(name: str) -> IdFactory:
    """Ids derived from ``name`` alone (an app's appId and robot user id survive everything)."""
    return IdFactory(sum(name.encode()) * 7919 + len(name), incarnation="app")
