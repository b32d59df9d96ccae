"""A scenario's steps as typed values, parsed once when the file is loaded.

The schema has already said the file is well-formed; here each step is unrolled (``repeat`` /
``every``, ``{n}`` filled in) and turned into one action (``Say``, ``Click``, ``FaultStep``,
``PushEvent``, ``GraphRequest``, ``ChangeSettings`` or ``Wait``), so the runner matches on types
instead of probing dict keys, and a typo in a key is a type error, not a silent ``None``.
``Step.raw`` keeps the expanded mapping for robot adapters (``RobotContext.steps``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Say:
    """A user writes in a conversation (``text`` already repeated ``text_repeat`` times)."""

    user: str
    conversation: str
    text: str | None
    msgtype: str = "text"
    at_bot: bool = True


@dataclass(frozen=True)
class Click:
    """A user presses a button on the ``card``-th card the robot made (1-based); ``card`` None
    is "latest": the newest card the user sees in ``conversation`` (a load workload's click),
    and ``button`` "*" the card's first request button."""

    user: str
    card: int | None
    button: str
    params: Mapping[str, Any] | None = None
    conversation: str | None = None


@dataclass(frozen=True)
class FaultStep:
    """The network misbehaves: a fault spec as ``fakeding.core.faults.parse_fault`` takes it."""

    spec: Mapping[str, Any]


@dataclass(frozen=True)
class PushEvent:
    """The platform pushes an event (``type``, ``data``, optionally for another ``corp``)."""

    type: str
    data: Mapping[str, Any]
    corp: str | None = None


@dataclass(frozen=True)
class GraphRequest:
    """A user's question reaches the robot as a graph (AI assistant) request."""

    user: str
    conversation: str
    text: str


@dataclass(frozen=True)
class ChangeSettings:
    """The platform's settings change from this moment on."""

    changes: Mapping[str, Any]


@dataclass(frozen=True)
class Wait:
    """Nothing happens: time only advances to ``at``."""


Action = Say | Click | FaultStep | PushEvent | GraphRequest | ChangeSettings | Wait


@dataclass(frozen=True)
class Step:
    index: int  # the step's position in the file's ``steps`` (errors point there)
    at: float  # virtual seconds from the start
    action: Action
    answer: Mapping[str, Any] | None  # the robot's scripted answer to a ``say`` (the adapter's)
    raw: Mapping[str, Any]  # the expanded step as written: what robot adapters read


def parse_steps(steps: Sequence[Mapping[str, Any]]) -> list[Step]:
    """Unroll ``repeat``/``every`` steps (``{n}``, 1-based, filled in strings) in time order;
    steps at the same time keep the file's order."""
    out: list[Step] = []
    for index, step in enumerate(steps):
        for n in range(1, int(step.get("repeat", 1)) + 1):
            copy = fill(dict(step), n)
            copy["at"] = float(step["at"]) + (n - 1) * float(step.get("every", 0))
            answer = copy.get("answer")
            out.append(Step(index, copy["at"], _action(copy), answer, MappingProxyType(copy)))
    out.sort(key=lambda s: s.at)  # stable
    return out


def fill(value: Any, n: int) -> Any:
    if isinstance(value, str):
        return value.replace("{n}", str(n))
    if isinstance(value, dict):
        return {k: fill(v, n) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, n) for v in value]
    return value


def card_number(ref: int | str) -> int:
    """``3`` or ``"card#3"``: the third card."""
    return ref if isinstance(ref, int) else int(str(ref).removeprefix("card#"))


def _action(step: Mapping[str, Any]) -> Action:
    if "say" in step:
        say = step["say"]
        text = say.get("text")
        return Say(
            user=say["user"],
            conversation=say["in"],
            text=None if text is None else text * int(say.get("text_repeat", 1)),
            msgtype=say.get("msgtype", "text"),
            at_bot=say.get("atBot", True),
        )
    if "click" in step:
        click = step["click"]
        card = None if click["card"] == "latest" else card_number(click["card"])
        return Click(click["user"], card, click["button"], click.get("params"), click.get("in"))
    if "fault" in step:
        return FaultStep(dict(step["fault"]))
    if "event" in step:
        event = step["event"]
        return PushEvent(event["type"], dict(event.get("data") or {}), event.get("corp"))
    if "graph" in step:
        graph = step["graph"]
        return GraphRequest(graph["user"], graph["in"], graph["text"])
    if "settings" in step:
        return ChangeSettings(dict(step["settings"]))
    return Wait()
