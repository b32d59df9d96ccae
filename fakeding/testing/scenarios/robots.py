"""How a robot plugs into the scenario engine: an adapter, found by name.

The kit plays the platform's side of a scenario (users say and click, the network fails) and
knows nothing about the robot under test. Everything robot-specific comes through a
``RobotAdapter``: which ``robot:`` options and per-step ``answer:`` blocks a scenario may
write, how to start the robot against the fake, when it is busy, which extra ``expect:``
counts it computes, and how its own records and cards read in the report.

Adapters are registered as entry points in the group ``fakeding.robots`` (name → an adapter
object or a zero-arg factory returning one); ``module:attr`` paths work too. A scenario names
one with ``robot: NAME`` or ``robot: {adapter: NAME, ...options}``; otherwise the default is
``FAKEDING_ROBOT``, then the pytest ini option ``fakeding_robot``, then the only installed
adapter.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fakeding.core.exceptions import ConfigError

if TYPE_CHECKING:
    from fakeding.core.cards import Card
    from fakeding.core.recorder import Record
    from fakeding.server import FakeDing

GROUP = "fakeding.robots"
ENV = "FAKEDING_ROBOT"
INI = "fakeding_robot"

Schema = dict[str, Any]
Refs = Callable[[str, Any], str]
"""``refs("card", card_id)`` → ``card#1``: stable references in order of appearance."""


class Foldable(str):
    """A timeline line that merges with identical consecutive foldable lines.

    Three ``Foldable("throttle msg#1 wait")`` in a row (records that ``describe`` hides do not
    break the run) print once, as ``throttle msg#1 wait x3 (until +4.200s)``.
    """

    __slots__ = ()


class RunFacts(Protocol):
    """What a finished run shows an adapter's ``expectations`` (``ScenarioResult`` is one)."""

    records: list[Record]
    cards: list[Card]


@dataclass(frozen=True)
class RobotContext:
    """What an adapter gets to build its robot for one scenario run."""

    options: Mapping[str, Any]  # the scenario's ``robot:`` mapping, without ``adapter``
    seed: int
    steps: Sequence[tuple[int, Mapping[str, Any]]]  # expanded steps: (index in the file, step)
    folder: Path | None  # the scenario file's folder (None when not run from a file)
    tmp: Path  # a fresh directory, removed after the run


class RobotSession(Protocol):
    """One running robot, attached to one fake, for one scenario run."""

    async def start(self) -> None:
        """Start the robot; return once it is connected (no virtual time should pass)."""

    def busy(self) -> bool:
        """True while the robot still works on something (the run waits for it to settle)."""

    def pending(self) -> list[asyncio.Future[Any]]:
        """Work in flight that ``settle()`` may wait on instead of polling."""

    async def aclose(self) -> None:
        """Stop the robot and release what it holds; called once, even after a failed start."""


class RobotAdapter(Protocol):
    """The scenario engine's view of a robot."""

    @property
    def name(self) -> str: ...

    @property
    def options_schema(self) -> Schema:
        """JSON schema of the ``robot:`` mapping (``additionalProperties: false``)."""

    @property
    def answer_schema(self) -> Schema | None:
        """JSON schema of a ``say`` step's ``answer:`` block; None: the robot takes none."""

    @property
    def expectation_schema(self) -> Mapping[str, Schema]:
        """The extra ``expect:`` keys this adapter computes, each with its value's schema."""

    @property
    def record_prefix(self) -> str:
        """Record kinds starting with this (e.g. ``"bot."``) are the robot's own: the report
        asks ``describe`` about them."""

    @property
    def summary_kinds(self) -> Mapping[str, str]:
        """Record kind → label, counted per second in summary timelines."""

    def open(self, fake: FakeDing, ctx: RobotContext) -> RobotSession:
        """Build the robot against ``fake`` (not started yet)."""

    def expectations(self, result: RunFacts) -> dict[str, int]:
        """The value found for each key of ``expectation_schema``."""

    def describe(self, record: Record, refs: Refs) -> str | None:
        """One timeline line for one of the robot's records; None hides it."""

    def card_state(self, card_data: Any) -> str:
        """A card version in a few words (``thinking``, ``final answer=12 chars``)."""

    def is_final(self, card: Card) -> bool:
        """Whether the robot finished this card (the report marks others NOT FINAL)."""


MEMBERS = (
    "name",
    "options_schema",
    "answer_schema",
    "expectation_schema",
    "record_prefix",
    "summary_kinds",
    "open",
    "expectations",
    "describe",
    "card_state",
    "is_final",
)


class RobotAdapterError(ConfigError):
    """A robot adapter that cannot be found or used; ``field`` is where the scenario named it."""

    def __init__(self, message: str, field: tuple[str, ...] = ("robot",)) -> None:
        super().__init__(message)
        self.field = field


# -- registry ----------------------------------------------------------------------------------

_configured: str | None = None  # the pytest ini option, set by the plugin
BUILT_IN = {  # a robot: key that names a built-in adapter (loaded by path: no import circle)
    "handler": "fakeding.testing.scenarios.sdk_robot:HandlerAdapter",
    "command": "fakeding.testing.scenarios.command_robot:CommandAdapter",
}


def set_configured_default(name: str | None) -> None:
    """The adapter named by configuration (the pytest ini option ``fakeding_robot``)."""
    global _configured
    _configured = name or None


_registered_cache: dict[tuple[str, ...], tuple[EntryPoint, ...]] = {}


def registered() -> tuple[EntryPoint, ...]:
    """The entry points of group ``fakeding.robots``, read once per ``sys.path`` (reading every
    installed distribution's metadata costs milliseconds, and each scenario file asks)."""
    key = tuple(sys.path)
    found = _registered_cache.get(key)
    if found is None:
        _registered_cache.clear()
        found = _registered_cache[key] = tuple(entry_points(group=GROUP))
    return found


def installed() -> list[str]:
    """Names of the adapters registered in the entry point group ``fakeding.robots``."""
    return sorted({ep.name for ep in registered()})


HOW = (
    f"name one with `robot: NAME` or `robot: {{adapter: NAME}}`, set {ENV}=NAME, or the "
    f"pytest ini option {INI}; NAME is an entry point of group {GROUP} or a module:attr path"
)


def pick_default(env: str | None, configured: str | None, names: Sequence[str]) -> tuple[str, str]:
    """The adapter used when a scenario names none, and what chose it (pure: every input is
    passed in)."""
    if env:
        return env, f"${ENV}"
    if configured:
        return configured, f"the ini option {INI}"
    if len(names) == 1:
        return names[0], "the only installed adapter"
    if not names:
        raise RobotAdapterError(f"no robot adapter is installed; {HOW}")
    raise RobotAdapterError(
        f"several robot adapters are installed ({', '.join(names)}) and none is chosen; {HOW}"
    )


def default_adapter() -> tuple[str, str]:
    return pick_default(os.environ.get(ENV), _configured, installed())


def load_adapter(name: str) -> RobotAdapter:
    """The adapter registered as ``name``, or at ``module:attr``; a factory is called once."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise RobotAdapterError(
                f"robot adapter {name!r} cannot be loaded ({exc}); expected module:attr naming an adapter"
            ) from None
    else:
        found = [ep for ep in registered() if ep.name == name]
        if not found:
            raise RobotAdapterError(
                f"unknown robot adapter {name!r}; installed: {', '.join(installed()) or 'none'} "
                f"(entry point group {GROUP}); install it or give a module:attr path"
            )
        try:
            obj = found[0].load()
        except (ImportError, AttributeError) as exc:
            raise RobotAdapterError(
                f"robot adapter {name!r} ({found[0].value}) cannot be loaded ({exc})"
            ) from None
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "open")):
        obj = obj()
    missing = [m for m in MEMBERS if not hasattr(obj, m)]
    if missing:
        raise RobotAdapterError(
            f"robot adapter {name!r} is a {type(obj).__name__} without "
            f"{', '.join(missing)}; see fakeding.testing.scenarios.robots.RobotAdapter"
        )
    adapter: RobotAdapter = obj
    return adapter


def choose(spec: object, default: str | RobotAdapter | None = None) -> tuple[RobotAdapter, dict[str, Any]]:
    """The adapter and its options from a scenario's ``robot:`` value (the one place that reads
    which robot runs).

    ``NAME`` or ``{adapter: NAME, ...options}`` name an adapter; a mapping without ``adapter``
    (or no ``robot:`` at all) is for ``default``, else the configured or only installed one.
    Built-in adapters keyed by their own option (``handler:``, ``command:``) dispatch here too.
    """
    if spec is None:
        spec = {}
    if isinstance(spec, str):
        return _named(spec, ("robot",)), {}
    if not isinstance(spec, dict):
        raise RobotAdapterError(f"expected an adapter name or a mapping, found {type(spec).__name__}")
    options = {k: v for k, v in spec.items() if k != "adapter"}
    for key, path in BUILT_IN.items():  # robot: {handler: ...} / {command: ...}
        if key in spec and "adapter" not in spec:
            return load_adapter(path), options
    if "adapter" in spec:
        name = spec["adapter"]
        if not isinstance(name, str) or not name:
            raise RobotAdapterError(f"expected an adapter name, found {name!r}", ("robot", "adapter"))
        return _named(name, ("robot", "adapter")), options
    if default is not None and not isinstance(default, str):
        return default, options
    if default:
        return _named(default, ("robot",)), options
    name, source = default_adapter()
    try:
        return _named(name, ("robot",)), options
    except RobotAdapterError as exc:
        raise RobotAdapterError(f"{exc} (the default, set by {source})") from None


def _named(name: str, field: tuple[str, ...]) -> RobotAdapter:
    try:
        return load_adapter(name)
    except RobotAdapterError as exc:
        raise RobotAdapterError(str(exc), field) from None
