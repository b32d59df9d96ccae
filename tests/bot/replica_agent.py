"""A custom agent for the replica tests, loaded by the robot processes as
``tests.bot.replica_agent:echo_replica``: each answer names the process that wrote it and the
memory it was given, so a test reads who answered and what they remembered from the cards."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence

from bot.agents.base import Turn


async def echo_replica(question: str, *, chat_id: str, history: Sequence[Turn]) -> AsyncIterator[str]:
    yield f"replica {os.getpid()} saw {len(history)} turn(s)."
    for turn in history:
        yield f" [{turn.role}: {turn.content}]"
    for i in range(3):  # slow enough for duplicates and redeliveries to arrive mid-answer
        await asyncio.sleep(0.3)
        yield f" part {i}."
