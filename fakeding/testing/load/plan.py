"""A load plan: the scenario's ``robot:`` (and ``platform:``), a ``load:`` workload and the
``thresholds:`` that decide pass or fail. Pure: YAML in, a checked plan or a ``ConfigError``
naming the field out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fakeding.core.exceptions import ConfigError
from fakeding.core.tiers import with_tier

# threshold -> (what it measures, whether it is an upper bound)
THRESHOLDS: dict[str, tuple[str, bool]] = {
    "lost": ("questions delivered to the robot that got no answer", True),
    "doubled": ("questions answered more often than the robot answers one", True),
    "unfinished": (
        "cards left unfinished (thinking, streaming or never final; a card complete when sent, "
        "never updated: give the plan a final_when)",
        True,
    ),
    "cross_talk": ("answers in the wrong chat or to the wrong person", True),
    "out_of_order": ("users whose answers came back in another order than they asked", True),
    "p95_first_answer": ("seconds from a question to its first answer, 95th percentile", True),
    "p95_first_answer_short": ("the same for short questions while long ones run", True),
    "p95_final_answer": (
        "seconds from a question to its complete answer (a card's last version, or the reply), "
        "95th percentile",
        True,
    ),
    "rate_403": ("share of OpenAPI calls refused with 403", True),
    "webhook_too_fast": ("webhook replies refused as too fast (errcode 130101, 20 a minute)", True),
    "calls_per_answer": ("metered OpenAPI calls per answer", True),
    "monthly_calls": ("metered calls a month at the observed rate", True),
    "clicks_unacked": ("button clicks whose callback the robot did not acknowledge", True),
    "clicks_unanswered": ("button clicks the robot acknowledged but never answered on the card", True),
    "violations": ("protocol violations the fake recorded (bad acks, leaked connections ...)", True),
}
DEFAULT_THRESHOLDS: dict[str, float] = {
    "lost": 0,
    "doubled": 0,
    "unfinished": 0,
    "cross_talk": 0,
    "clicks_unacked": 0,
    "clicks_unanswered": 0,
}


@dataclass(frozen=True)
class Workload:
    users: int
    duration: float  # seconds of (virtual or real) time the arrivals span
    rate: float | None = None  # questions per second, Poisson (None: with burst)
    burst: tuple[int, float] | None = None  # (count, within seconds), at the start
    groups: float = 0.5  # share of users asking in a shared group rather than 1:1
    group_count: int = 3
    turns: tuple[int, int] = (1, 1)  # questions per session, inclusive range
    think: tuple[float, float] = (5.0, 30.0)  # seconds between a user's turns
    words: tuple[int, int] = (3, 12)  # words per question
    long_words: int = 40  # a question this long counts as long (fairness)
    long_share: float = 0.0  # share of questions that are long
    seed: int = 0
    month_hours: float = 176.0  # business hours in a month, for the projection
    clicks: float = 0.0  # share of questions whose answer card the asker then clicks
    click_after: tuple[float, float] = (10.0, 30.0)  # seconds after the question


@dataclass(frozen=True)
class LoadPlan:
    path: Path
    name: str
    robot: Any
    platform: dict[str, Any]
    workload: Workload
    thresholds: dict[str, float] = field(default_factory=dict)
    answer: dict[str, Any] | None = None  # our robot's scripted answer per question, if any
    faults: tuple[FaultSpec, ...] = ()
    # a regular expression a finished card's text matches, as a scenario's ``final_when``: for a
    # robot whose answer card is complete when sent (a vote card), never updated
    final_when: str | None = None


@dataclass(frozen=True)
class FaultSpec:
    """A fault of the fake's (``POST /_fakeding/faults``'s body) armed at ``at`` seconds, or
    just before a share of the questions (seeded)."""

    fault: dict[str, Any]
    at: float | None = None
    share: float | None = None


def load_plan(path: Path) -> LoadPlan:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the load plan ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with robot, load and thresholds")
    unknown = sorted(
        set(data)
        - {"name", "description", "robot", "platform", "load", "thresholds", "answer", "faults", "final_when"}
    )
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}; expected name, robot, platform, load, thresholds, "
            "answer, faults, final_when"
        )
    load = data.get("load")
    if not isinstance(load, dict):
        raise ConfigError(
            f"{path}: load: expected a mapping with at least users and duration, found {type(load).__name__}"
        )
    workload = _workload(path, load)
    thresholds = dict(DEFAULT_THRESHOLDS)
    given = data.get("thresholds") or {}
    if not isinstance(given, dict):
        raise ConfigError(f"{path}: thresholds: expected a mapping of name: number")
    for name, value in given.items():
        if name not in THRESHOLDS:
            raise ConfigError(f"{path}: thresholds.{name}: unknown; expected one of {', '.join(THRESHOLDS)}")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{path}: thresholds.{name}: expected a number >= 0, found {value!r}")
        thresholds[name] = float(value)
    platform = data.get("platform") or {}
    if not isinstance(platform, dict):
        raise ConfigError(f"{path}: platform: expected a mapping of settings")
    try:
        with_tier(platform)  # an unknown tier is named now, not after the run
    except ConfigError as exc:
        raise ConfigError(f"{path}: platform.{exc}") from None
    answer = data.get("answer")
    final_when = data.get("final_when")
    if final_when is not None:
        if not isinstance(final_when, str) or not final_when:
            raise ConfigError(f"{path}: final_when: expected a regular expression, found {final_when!r}")
        try:
            re.compile(final_when)
        except re.error as exc:
            raise ConfigError(f"{path}: final_when: not a regular expression ({exc})") from None
    return LoadPlan(
        path,
        str(data.get("name") or path.stem),
        data.get("robot"),
        platform,
        workload,
        thresholds,
        answer if isinstance(answer, dict) else None,
        _faults(path, data.get("faults")),
        final_when,
    )


def _faults(path: Path, listed: Any) -> tuple[FaultSpec, ...]:
    if listed is None:
        return ()
    if not isinstance(listed, list):
        raise ConfigError(f"{path}: faults: expected a list of {{fault: {{kind: ...}}, at: s | share: 0..1}}")
    out = []
    for i, item in enumerate(listed):
        where = f"{path}: faults[{i}]"
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("fault"), dict)
            or "kind" not in item["fault"]
        ):
            raise ConfigError(
                f"{where}: expected {{fault: {{kind: ...}}, at: seconds}} or {{fault, share}}, found {item!r}"
            )
        extra = sorted(set(item) - {"fault", "at", "share"})
        if extra or ("at" in item) == ("share" in item):
            raise ConfigError(f"{where}: expected fault and one of at (seconds) or share (of the questions)")
        value = item.get("at", item.get("share"))
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{where}: expected a number >= 0 for at or share, found {value!r}")
        if "share" in item and value > 1:
            raise ConfigError(
                f"{where}.share: expected a share of the questions from 0 to 1, found {value!r}"
            )
        out.append(FaultSpec(dict(item["fault"]), at=item.get("at"), share=item.get("share")))
    return tuple(out)


def _workload(path: Path, load: dict[str, Any]) -> Workload:
    known = {
        "users",
        "duration",
        "rate",
        "burst",
        "groups",
        "group_count",
        "turns",
        "think",
        "words",
        "long_words",
        "long_share",
        "seed",
        "month_hours",
        "clicks",
        "click_after",
    }
    unknown = sorted(set(load) - known)
    if unknown:
        raise ConfigError(f"{path}: load.{unknown[0]}: unknown; expected some of {', '.join(sorted(known))}")

    def number(key: str, default: float | None, *, minimum: float = 0.0) -> float | None:
        value = load.get(key, default)
        if value is None:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum:
            raise ConfigError(f"{path}: load.{key}: expected a number >= {minimum:g}, found {value!r}")
        return float(value)

    def pair(key: str, default: tuple[float, float]) -> tuple[float, float]:
        value = load.get(key, list(default))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value, value]
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, (int, float)) and v >= 0 for v in value)
            or value[0] > value[1]
        ):
            raise ConfigError(f"{path}: load.{key}: expected [low, high] numbers, found {value!r}")
        return float(value[0]), float(value[1])

    users = number("users", None, minimum=1)
    duration = number("duration", None, minimum=1)
    if users is None or duration is None:
        raise ConfigError(f"{path}: load: expected users and duration (seconds)")
    burst = load.get("burst")
    burst_pair = None
    if burst is not None:
        if (
            not isinstance(burst, dict)
            or not isinstance(burst.get("count"), int)
            or not isinstance(burst.get("within"), (int, float))
            or burst["count"] < 1
        ):
            raise ConfigError(f"{path}: load.burst: expected {{count: N, within: seconds}}, found {burst!r}")
        burst_pair = (int(burst["count"]), float(burst["within"]))
    rate = number("rate", None)
    if rate is None and burst_pair is None:
        raise ConfigError(f"{path}: load: expected rate (questions a second) or burst ({{count, within}})")
    clicks = number("clicks", 0.0)
    if clicks is not None and clicks > 1:
        raise ConfigError(f"{path}: load.clicks: expected a share of questions from 0 to 1, found {clicks!r}")
    turns = pair("turns", (1, 1))
    words = pair("words", (3, 12))
    return Workload(
        users=int(users),
        duration=duration,
        rate=rate,
        burst=burst_pair,
        groups=float(number("groups", 0.5) or 0.0),
        group_count=int(number("group_count", 3, minimum=1) or 1),
        turns=(int(turns[0]), int(turns[1])),
        think=pair("think", (5.0, 30.0)),
        words=(int(words[0]), int(words[1])),
        long_words=int(number("long_words", 40) or 40),
        long_share=float(number("long_share", 0.0) or 0.0),
        seed=int(number("seed", 0) or 0),
        month_hours=float(number("month_hours", 176.0, minimum=1) or 176.0),
        clicks=float(clicks or 0.0),
        click_after=pair("click_after", (10.0, 30.0)),
    )
