"""Play a scenario file in virtual time and collect what happened.

Each step waits until its ``at`` (virtual seconds), then acts as a user (``say``, ``click``) or
as the network (``fault``). The robot under test comes from the scenario's adapter (see
``robots``), which also reads the steps' ``answer`` blocks. After the last step the run waits
until nothing is in flight, then checks the platform's expectations and the adapter's. A robot
process runs in real time: steps are still sent at their times, whatever the robot is doing
(concurrency stays visible), and the report lists what happened by cause, then by channel
(``causal``), so it depends neither on the robot's pace nor on which of its channels (its
Stream websocket, its HTTP calls) reached the fake first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakeding.aio.scenario_document import conversation_id
from fakeding.aio.scenario_document import pattern_get as _pattern_get
from fakeding.core.cards import Card
from fakeding.core.exceptions import ConfigError, ControlError
from fakeding.core.oracles import cross_talk
from fakeding.core.platform import TranscriptEntry
from fakeding.core.profiles import with_profile
from fakeding.core.record_kinds import FAILING_KINDS, RecordKind
from fakeding.core.recorder import Record
from fakeding.core.templates import Template
from fakeding.core.tiers import with_tier
from fakeding.testing.scenarios import causal, generic
from fakeding.testing.scenarios.harness import EPOCH, Harness, open_harness, run_virtual, scenario_settings
from fakeding.testing.scenarios.robots import RobotAdapter
from fakeding.testing.scenarios.schema import ScenarioFile, load_scenario
from fakeding.testing.scenarios.steps import (
    ChangeSettings,
    Click,
    FaultStep,
    GraphRequest,
    PushEvent,
    Say,
    Step,
    parse_steps,
)


@dataclass
class Expectation:
    name: str
    expected: Any
    found: Any
    ok: bool


@dataclass
class ScenarioResult:
    scenario: ScenarioFile
    records: list[Record]
    cards: list[Card]
    transcript: list[TranscriptEntry]
    expectations: list[Expectation]
    end: float
    conversations: dict[str, str] = field(default_factory=dict)  # cid -> scenario name
    direct: dict[str, str] = field(default_factory=dict)  # staffId -> their 1:1 cid
    templates: dict[str, Template] = field(default_factory=dict)  # registered card templates

    @property
    def duration(self) -> float:
        """Virtual seconds from the start to the last recorded event."""
        return max((r.t for r in self.records), default=0.0)

    @property
    def robot(self) -> RobotAdapter:
        return self.scenario.robot

    @property
    def failed(self) -> list[Expectation]:
        return [e for e in self.expectations if not e.ok]


def expand_steps(steps: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Unroll ``repeat``/``every`` steps, filling ``{n}`` (1-based) in strings: ``(index in
    the file, step)`` pairs (the runner itself reads ``ScenarioFile.steps``, typed)."""
    return [(step.index, dict(step.raw)) for step in parse_steps(steps)]


async def _play(s: ScenarioFile, epoch: float | None = EPOCH) -> ScenarioResult:
    data = s.data
    steps = s.steps
    try:  # platform: {profile: NAME|FILE, ...settings}: the profile's settings, then the rest
        platform = with_profile(dict(data.get("platform") or {}), base=s.path.parent)
    except ConfigError as exc:
        raise s.error(("platform", "profile"), str(exc)) from None
    try:  # platform: {tier: NAME}: the edition's QPS limits and monthly quota (fakeding.core.tiers)
        platform = with_tier(platform)
    except ConfigError as exc:
        raise s.error(("platform", "tier"), str(exc)) from None
    settings = scenario_settings(**platform)
    users = data.get("users") or {}
    convs = data.get("conversations") or {}
    async with open_harness(
        s.robot,
        settings=settings,
        options=s.options,
        steps=[(step.index, step.raw) for step in steps],
        folder=s.path.parent,
        seed=int(data.get("seed", 0)),
        epoch=epoch,
    ) as h:
        for template in s.templates:
            h.fake.use_template(template)
        real_time = is_real_time(s.robot)
        for step in steps:  # at their times, whatever the robot is doing
            await h.sleep_until(step.at)
            if real_time and isinstance(step.action, Click) and step.action.card is not None:
                # a click needs its card: the one wait kept
                await _card_made(h, step.action.card, CARD_WAIT)
            _act(h, s, step, users, convs)
        await _settle(h, float(data.get("settle", 900)))
        fake = h.fake
        cid_names = {conversation_id(name): name for name in _names(steps, convs)}
        result = ScenarioResult(
            scenario=s,
            records=fake.recorder.records,
            cards=fake.card_objects(),
            transcript=list(fake.transcript_entries()),
            expectations=[],
            end=h.now,
            conversations=cid_names,
            direct=fake.direct_conversations(),
            templates={t.id: t for t in fake.template_objects()},
        )
        result.expectations = check_expectations(data.get("expect") or {}, result)
        if is_real_time(s.robot):  # counted as it happened, reported in a stable order
            result.transcript = causal.order_transcript(result.transcript, result.records)
            result.records = causal.order_records(result.records)
            result.cards = causal.order_cards(result.cards, result.records)
        return result


async def _settle(h: Harness, limit: float) -> None:
    """Wait until nothing is in flight; for a robot process, or until it ended (what it left
    in flight would wait for good: its exit is in the report)."""
    ended = getattr(h.session, "ended", None)
    if ended is None:
        await h.settle(limit=limit)
        return
    deadline = h.now + limit
    while h.busy() and not ended() and h.now < deadline:
        await asyncio.sleep(0.05)


CARD_WAIT = 30.0  # real seconds a click step waits for its card from a robot process


async def _card_made(h: Harness, n: int, limit: float) -> None:
    """Wait (real time, bounded) until the robot made its ``n``-th card; a click step then
    finds it, or names what is missing."""
    deadline = h.now + limit
    while len(h.fake.card_objects()) < n and h.now < deadline:
        await asyncio.sleep(0.02)


def _names(steps: list[Step], convs: dict[str, Any]) -> list[str]:
    names = [k for k in convs if "{n}" not in k]
    for step in steps:
        if isinstance(step.action, Say) and step.action.conversation not in names:
            names.append(step.action.conversation)
    return names


def _act(h: Harness, s: ScenarioFile, step: Step, users: dict[str, Any], convs: dict[str, Any]) -> None:
    fake = h.fake
    action, index = step.action, step.index
    if isinstance(action, Say):
        conv = _pattern_get(convs, action.conversation)
        user = _pattern_get(users, action.user) or {}
        if conv is None:
            raise s.error(("steps", index, "say", "in"), f"unknown conversation {action.conversation!r}")
        fake.send_message(
            action.text,
            conversation_id=conversation_id(action.conversation),
            conversation_type=conv["type"],
            title=conv.get("title", action.conversation) if conv["type"] == "group" else None,
            staff_id=action.user,
            nick=user.get("nick", action.user),
            msgtype=action.msgtype,
            at_bot=action.at_bot,
        )
    elif isinstance(action, Click):
        cards = fake.card_objects()
        if action.card is None:  # "latest"
            where = conversation_id(action.conversation) if action.conversation is not None else None
            shown = [c for c in cards if _shows(c, where, action.user)]
            card = shown[-1] if shown else None
            if card is None or (action.button == "*" and not card.buttons()):
                return  # nothing to click (yet): a workload's click on an answer with no button
        else:
            if action.card > len(cards):
                raise s.error(
                    ("steps", index, "click", "card"),
                    f"card #{action.card} does not exist at t={step.at:g}s; {len(cards)} card(s) so far",
                )
            card = cards[action.card - 1]
        if action.button == "*" and not card.buttons():
            raise s.error(("steps", index, "click", "button"), f"card {card.id} has no request button")
        fake.click(
            card.id,
            staff_id=action.user,
            button_id=_button(s, index, card, action.button),
            params=dict(action.params) if action.params is not None else None,
        )
    elif isinstance(action, FaultStep):
        try:
            fake.fault(dict(action.spec))
        except ControlError as exc:  # e.g. a route that matches nothing: named, not a traceback
            raise s.error(("steps", index, "fault", exc.field), exc.problem) from None
    elif isinstance(action, PushEvent):
        fake.push_event(
            action.type,
            dict(action.data),
            **({"corp_id": action.corp} if action.corp is not None else {}),
        )
    elif isinstance(action, GraphRequest):
        conv = _pattern_get(convs, action.conversation) or {"type": "group"}
        fake.graph_request(
            action.text,
            conversation_id=conversation_id(action.conversation),
            conversation_type=conv["type"],
            staff_id=action.user,
            nick=(_pattern_get(users, action.user) or {}).get("nick"),
        )
    elif isinstance(action, ChangeSettings):
        try:  # changed mid-scenario: new rules from now on, nothing forgotten
            fake.update_settings(dict(action.changes))
        except ConfigError as exc:
            raise s.error(("steps", index, "settings"), str(exc)) from None


def _shows(card: Card, conversation: str | None, user: str) -> bool:
    """Whether ``user`` sees ``card`` in ``conversation`` (a 1:1 card names its user)."""
    if card.conversation_id is not None:
        return conversation is None or card.conversation_id == conversation
    return card.single_user == user


def _button(s: ScenarioFile, index: int, card: Card, button: str) -> str:
    """A request button named by id, label or value (instance cards take any id); ``*`` is
    the first."""
    if card.kind != "interactive":
        return button
    buttons = card.buttons()
    if button == "*" and buttons:
        return buttons[0].id
    for b in buttons:
        if button in (b.id, b.label) or (isinstance(b.value, str) and button == b.value):
            return b.id
    raise s.error(
        ("steps", index, "click", "button"),
        f"the card has no button {button!r}; its buttons (id / label): "
        f"{', '.join(f'{b.id} / {b.label}' for b in buttons) or 'none'}",
    )


UPPER_BOUNDS = (
    "max_updates_per_card",
    "max_answers_per_message",
    "max_ack_latency",
    "metered_calls",
    "api_calls_per_answer",
)


def check_expectations(expect: dict[str, Any], r: ScenarioResult) -> list[Expectation]:
    """The platform's facts (robot-agnostic) and the adapter's; ``max_*`` are upper bounds."""
    per_card = [sum(1 for v in c.versions if v.source in ("update", "stream")) for c in r.cards]
    final_when = r.scenario.data.get("final_when")
    # the fake's own failures count too: a scenario never passes over a fakeding bug
    violations = [str(rec.fields.get("reason", "")) for rec in r.records if rec.kind in FAILING_KINDS]
    found: dict[str, Any] = {
        "cards": len(r.cards),
        "max_updates_per_card": max(per_card, default=0),
        "violations": len(violations),
        "warnings": sum(1 for rec in r.records if rec.kind == RecordKind.WARNING),
        "webhook_replies": sum(
            1 for rec in r.records if rec.kind == RecordKind.WEBHOOK and rec.fields.get("errcode") == 0
        ),
        "unfinished_cards": sum(1 for c in r.cards if generic.unfinished_reason(c, final_when) is not None),
        "failed_cards": sum(1 for c in r.cards if c.failed),
        "answers": sum(generic.answers(r.records).values()),
        "max_answers_per_message": max(generic.answers(r.records).values(), default=0),
        "api_errors": sum(generic.api_errors(r.records).values()),
        "max_ack_latency": generic.max_ack_latency(r.records),
        "metered_calls": generic.metered_calls(r.records),
        "cross_talk": len(cross_talk(r.records, r.transcript, r.cards)),
    }
    answers = found["answers"]
    found["api_calls_per_answer"] = (
        round(found["metered_calls"] / answers, 2) if answers else float(found["metered_calls"])
    )
    if set(expect) - set(found):
        found = {**r.robot.expectations(r), **found}
    out = []
    for name, expected in expect.items():
        if name == "violations" and isinstance(expected, list):
            out += _expected_violations(expected, violations)
        elif name == "api_errors" and isinstance(expected, dict):
            errors = generic.api_errors(r.records)
            for code, count in expected.items():
                value = sum(n for key, n in errors.items() if code in key)
                out.append(Expectation(f"api_errors[{code}]", count, value, value == count))
            unexpected = sum(n for key, n in errors.items() if not any(code in key for code in expected))
            out.append(Expectation("api_errors[other]", 0, unexpected, unexpected == 0))
        else:
            value = found[name]
            ok = value <= expected if name in UPPER_BOUNDS else value == expected
            out.append(Expectation(name, expected, value, ok))
    return out


def _expected_violations(expected: list[dict[str, Any]], found: list[str]) -> list[Expectation]:
    """Each listed ``reason`` (a substring) matches ``count`` (default: at least one) recorded
    violations, and no recorded violation is left unlisted."""
    out = []
    for item in expected:
        n = sum(1 for reason in found if item["reason"] in reason)
        want = item.get("count")
        ok = n == want if want is not None else n >= 1
        out.append(Expectation(f"violations[{item['reason']}]", want or "1 or more", n, ok))
    other = [reason for reason in found if not any(i["reason"] in reason for i in expected)]
    out.append(Expectation("violations[other]", 0, len(other), not other))
    return out


def run_scenario(
    path: Path | ScenarioFile, *, freeze: bool = True, robot: str | RobotAdapter | None = None
) -> ScenarioResult:
    """Run one scenario; ``freeze=False`` when the caller already froze the wall clock;
    ``robot`` is the adapter for a file that names none (see ``robots.choose``)."""
    scenario = path if isinstance(path, ScenarioFile) else load_scenario(Path(path), robot=robot)
    if is_real_time(scenario.robot):  # a robot process: real time, the real wall clock
        return asyncio.run(_play(scenario, epoch=None))
    return run_virtual(
        lambda: _play(scenario),
        freeze=freeze,
        end=virtual_end(scenario),
        threads=bool(getattr(scenario.robot, "threads", False)),
        latency=scenario.data.get("latency"),
    )


def virtual_end(scenario: ScenarioFile) -> float:
    """Where a virtual run gives up: two hours, or past the last step and its settling (a
    load plan's business day runs eight hours)."""
    last = max((step.at for step in scenario.steps), default=0.0)
    return max(7200.0, last + float(scenario.data.get("settle", 900)) + 600.0)


def is_real_time(robot: RobotAdapter) -> bool:
    return bool(getattr(robot, "real_time", False))


def run_scenarios(paths: Sequence[Path], *, robot: str | RobotAdapter | None = None) -> list[ScenarioResult]:
    """Several scenarios under one frozen wall clock (entering freezegun once is the cost)."""
    from fakeding.testing.scenarios.harness import frozen_wall_clock

    with frozen_wall_clock():
        return [run_scenario(p, freeze=False, robot=robot) for p in paths]
