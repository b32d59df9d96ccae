"""A load plan's workload as a scenario: open arrivals (Poisson at a rate, or a burst), each a
session of a few turns with think time between, asked in a shared group or a 1:1 chat, of
seeded lengths. Pure and deterministic: the same plan and seed make the same scenario, so a
failing load run replays exactly."""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import Any

from fakeding.testing.load.plan import LoadPlan, Workload

WORDS = (
    "invoice",
    "refund",
    "password",
    "login",
    "billing",
    "plan",
    "upgrade",
    "export",
    "report",
    "team",
    "admin",
    "limit",
    "api",
    "token",
    "card",
    "order",
    "delivery",
    "account",
    "settings",
    "error",
)


@dataclass(frozen=True)
class Question:
    at: float
    user: str
    conversation: str  # a name in the scenario's conversations
    text: str
    long: bool
    waited: float = 0.0  # the first question of a session that found every user in one: how long


def arrivals(w: Workload, rng: random.Random) -> list[float]:
    """Session start times in [0, duration): a burst, then Poisson arrivals at ``rate``."""
    times: list[float] = []
    if w.burst is not None:
        count, within = w.burst
        times += sorted(rng.uniform(0.0, within) for _ in range(count))
    if w.rate:
        t = rng.expovariate(w.rate)
        while t < w.duration:
            times.append(t)
            t += rng.expovariate(w.rate)
    return sorted(times)


def questions(w: Workload) -> list[Question]:
    """Each arrival is a session of a user who is not in one (a user asks one session at a
    time, thinking between turns and after the last): a random one of those free then, so the
    arrivals keep the plan's rate; when every user is in a session, the one free soonest, and
    the session waits for them (``Question.waited``: the plan has too few users for its rate)."""
    rng = random.Random(w.seed)
    users = [f"u{n:03d}" for n in range(1, w.users + 1)]
    home = {
        u: (f"group{rng.randrange(w.group_count) + 1}" if rng.random() < w.groups else f"dm_{u}")
        for u in users
    }
    free = list(users)  # users in no session now
    busy: list[tuple[float, str]] = []  # (until, user): a heap of users in a session
    out: list[Question] = []
    n = 0
    for start in arrivals(w, rng):
        while busy and busy[0][0] <= start:
            free.append(heapq.heappop(busy)[1])
        if free:
            k = rng.randrange(len(free))
            free[k], free[-1] = free[-1], free[k]
            user, t = free.pop(), start
        else:
            t, user = heapq.heappop(busy)
        waited = round(t - start, 3)
        for _ in range(rng.randint(*w.turns)):
            n += 1
            long = rng.random() < w.long_share
            size = w.long_words if long else rng.randint(*w.words)
            text = f"q{n} " + " ".join(rng.choice(WORDS) for _ in range(max(1, size - 1)))
            out.append(Question(round(t, 3), user, home[user], text, long, waited))
            waited = 0.0
            t += rng.uniform(*w.think)
        heapq.heappush(busy, (t, user))
    return sorted(out, key=lambda q: (q.at, q.user))


@dataclass(frozen=True)
class Click:
    at: float
    user: str
    conversation: str


def clicks(w: Workload, asked: list[Question]) -> list[Click]:
    """A share ``clicks`` of the answers clicked by their asker ``click_after`` the question
    (the newest card the asker sees there, its first button; an answer without a button is
    not clicked). A random stream of its own, so adding clicks leaves the questions as they
    were."""
    rng = random.Random(f"clicks:{w.seed}")
    out = [
        Click(round(q.at + rng.uniform(*w.click_after), 3), q.user, q.conversation)
        for q in asked
        if w.clicks and rng.random() < w.clicks
    ]
    return sorted(out, key=lambda c: (c.at, c.user))


def fault_steps(plan: LoadPlan, asked: list[Question]) -> list[dict[str, Any]]:
    """The plan's faults as scenario steps: those ``at`` a time, and those with a ``share``
    just before that share of the questions (a stream of its own, so the questions stay)."""
    rng = random.Random(f"faults:{plan.workload.seed}")
    steps: list[dict[str, Any]] = [
        {"at": f.at, "fault": dict(f.fault)} for f in plan.faults if f.at is not None
    ]
    shared = [f for f in plan.faults if f.share is not None]
    for q in asked if shared else []:
        steps += [{"at": q.at, "fault": dict(f.fault)} for f in shared if rng.random() < float(f.share or 0)]
    return steps


def scenario(plan: LoadPlan, asked: list[Question]) -> dict[str, Any]:
    """The scenario a load run plays: users, their conversations, one say step a question,
    one click step a click."""
    users = sorted({q.user for q in asked})
    convs = sorted({q.conversation for q in asked})
    steps: list[dict[str, Any]] = []
    for q in asked:
        step: dict[str, Any] = {"at": q.at, "say": {"user": q.user, "in": q.conversation, "text": q.text}}
        if plan.answer is not None:
            step["answer"] = dict(plan.answer)
        steps.append(step)
    steps = fault_steps(plan, asked) + steps  # a fault at a question's time comes first
    for c in clicks(plan.workload, asked):
        steps.append(
            {"at": c.at, "click": {"user": c.user, "in": c.conversation, "card": "latest", "button": "*"}}
        )
    steps.sort(key=lambda s: float(s["at"]))  # stable: a click after the question at its time
    data: dict[str, Any] = {
        "name": f"load: {plan.name}",
        "users": {u: {"nick": f"User {u[1:]}"} for u in users},
        "conversations": {c: {"type": "single" if c.startswith("dm_") else "group"} for c in convs},
        "steps": steps,
        "snapshot": False,
    }
    if plan.robot is not None:
        data["robot"] = plan.robot
    if plan.platform:
        data["platform"] = dict(plan.platform)
    return data
