"""A scenario's ``answer:`` blocks as the robot's agent: each question gets the next block
written for that exact question, played by ``ScriptedAgent`` (so on the virtual clock)."""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from typing import Any

from bot.agents.base import OnChunk
from bot.agents.scripted import ScriptedAgent

_NUM = {"type": "number", "minimum": 0}
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "chunks": {"type": "array", "items": {"type": "string"}},
        "text": {"type": "string"},
        "words_per_chunk": {"type": "integer", "minimum": 1},
        "repeat": {"type": "integer", "minimum": 1},
        "delay": _NUM,
        "delays": {"type": "array", "items": _NUM},
        "error": {"type": "string"},
        "hang": {"type": "boolean"},
    },
}


class ScenarioAgent:
    """Answers each question with the next ``answer`` block written for that exact question."""

    name = "scenario"

    def __init__(self, answers: dict[str, deque[dict[str, Any]]]) -> None:
        self.answers = answers

    async def answer(self, question: str, *, chat_id: str, history: Sequence[Any], on_chunk: OnChunk) -> str:
        queue = self.answers.get(question)
        turn = queue.popleft() if queue else {"chunks": [f"(no scripted answer for: {question[:60]})"]}
        result: str = await ScriptedAgent([turn]).answer(
            question, chat_id=chat_id, history=history, on_chunk=on_chunk
        )
        return result


def turn_of(answer: Mapping[str, Any]) -> dict[str, Any]:
    """An ``answer:`` block as a ``ScriptedAgent`` turn (``text`` cut into word chunks)."""
    turn = {k: v for k, v in answer.items() if k in ("chunks", "delay", "delays", "error", "hang")}
    if "text" in answer:
        words = re.findall(r"\S+\s*", answer["text"] * int(answer.get("repeat", 1)))
        n = int(answer.get("words_per_chunk", 3))
        turn["chunks"] = ["".join(words[i : i + n]) for i in range(0, len(words), n)]
    elif "repeat" in answer:
        turn["chunks"] = list(answer.get("chunks", [])) * int(answer["repeat"])
    turn.setdefault("chunks", [])
    return turn


def scenario_agent(steps: Sequence[tuple[int, Mapping[str, Any]]]) -> ScenarioAgent:
    """The agent for a scenario's expanded steps, keyed by the question as the robot sees it."""
    answers: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
    for _, step in steps:
        if "say" in step and "answer" in step:
            text = step["say"].get("text", "") * int(step["say"].get("text_repeat", 1))
            answers[text.strip()].append(turn_of(step["answer"]))
    return ScenarioAgent(answers)
