"""Small custom agents that show the accepted plug-in forms (used by the tests and bot/README.md).

Use one with ``agent: bot.agents.examples:echo``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from bot.agents.base import Turn


async def echo(question: str, *, chat_id: str, history: Sequence[Turn]) -> AsyncIterator[str]:
    """Repeats the question word by word, and says how many earlier turns it remembers."""
    yield "You said:"
    for word in question.split():
        yield f" {word}"
    if history:
        yield f" (I remember {len(history)} earlier message(s).)"
