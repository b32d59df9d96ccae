"""The contract between the robot and whatever answers questions (FAQ, LLM, plug-in).

An agent streams its answer through ``on_chunk``: each chunk carries only the NEW text,
``{"data": {"content": piece}}``, and ``answer`` returns the whole answer, which must equal
the concatenation of the pieces.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Role = Literal["user", "assistant"]
ROLES: tuple[Role, ...] = ("user", "assistant")

Chunk = dict[str, Any]
OnChunk = Callable[[Chunk], Awaitable[None]]


@dataclass(frozen=True)
class Turn:
    """One remembered message of a conversation."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Turn.role must be 'user' or 'assistant', found {self.role!r}")


def chunk(content: str) -> Chunk:
    """A streaming chunk holding one new piece of answer text."""
    return {"data": {"content": content}}


class Agent(Protocol):
    """Answers one question, streaming pieces through ``on_chunk``."""

    name: str

    async def answer(
        self,
        question: str,
        *,
        chat_id: str,
        history: Sequence[Turn],
        on_chunk: OnChunk,
    ) -> str:
        """Stream the answer through ``on_chunk`` and return it whole."""
        ...
