"""Seeded generation of every id the fake hands out.

Tickets, tokens, message ids, msgIds, conversation ids, request ids and session keys all come
from one ``random.Random`` so that a seed reproduces a whole run byte for byte.
"""

from __future__ import annotations

import base64
import random
import uuid


class IdFactory:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._counter = 0

    def _hex(self, n: int) -> str:
        return format(self._rng.getrandbits(4 * n), f"0{n}x")

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

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
