"""A robot's capacity: its plan run at other arrival rates until a threshold gives.

From the plan's own rate the search doubles the rate while every threshold holds (or halves it
while one fails), then halves the gap between the highest rate that held and the lowest that
failed a few times. The capacity is the highest rate that held below the lowest that failed;
that failing run's bottleneck says what gave (the platform's limits, the robot or its agent).
Pure: the run is a function given, so a handler robot's runs are virtual-time scenarios and a
test can give any function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from fakeding.testing.load.measure import Verdict
from fakeding.testing.load.plan import LoadPlan

FACTOR = 2.0  # each step of the climb doubles the rate (or halves it, down)
MAX_RUNS = 8  # runs of a search at most, the plan's own included
REFINE = 2  # halvings of the gap between the last rate that held and the first that failed


@dataclass(frozen=True)
class Step:
    rate: float  # questions a second
    verdict: Verdict


@dataclass(frozen=True)
class Capacity:
    plan_rate: float
    steps: tuple[Step, ...]  # by rate

    @property
    def breaking(self) -> Step | None:
        """The lowest rate at which a threshold failed."""
        return next((s for s in self.steps if not s.verdict.ok), None)

    @property
    def rate(self) -> float | None:
        """The highest rate that held below the lowest that failed (None: none held)."""
        top = self.breaking.rate if self.breaking else float("inf")
        held = [s.rate for s in self.steps if s.verdict.ok and s.rate < top]
        return max(held) if held else None


def base_rate(plan: LoadPlan) -> float:
    """The plan's arrival rate in questions a second (a burst: its count over its window)."""
    w = plan.workload
    if w.rate is not None:
        return w.rate
    assert w.burst is not None  # (a plan has one or the other)
    count, within = w.burst
    return count / within


def at_rate(plan: LoadPlan, rate: float) -> LoadPlan:
    """The same plan with arrivals at ``rate`` questions a second (a burst keeps its window
    and sends ``rate`` times it questions, at least one)."""
    w = plan.workload
    if w.rate is not None:
        return replace(plan, workload=replace(w, rate=rate))
    assert w.burst is not None
    within = w.burst[1]
    return replace(plan, workload=replace(w, burst=(max(1, round(rate * within)), within)))


def search(
    plan: LoadPlan,
    run: Callable[[LoadPlan], Verdict],
    *,
    max_runs: int = MAX_RUNS,
    factor: float = FACTOR,
    refine: int = REFINE,
    on_step: Callable[[Step], None] | None = None,
) -> Capacity:
    """Run ``plan`` at rising (or, when its own rate fails, falling) rates; at most
    ``max_runs`` runs, the plan's own rate first."""
    if max_runs < 1:
        raise ValueError(f"max_runs must be at least 1, found {max_runs}")
    if factor <= 1:
        raise ValueError(f"factor must be above 1, found {factor}")
    own = base_rate(plan)
    steps: dict[float, Step] = {}

    def step(rate: float) -> Step:
        got = Step(rate, run(at_rate(plan, rate)))
        steps[rate] = got
        if on_step is not None:
            on_step(got)
        return got

    first = step(own)
    rate, up = own, first.verdict.ok
    while len(steps) < max_runs:
        rate = rate * factor if up else rate / factor
        if step(rate).verdict.ok != up:
            break
    for _ in range(refine):
        found = Capacity(own, tuple(sorted(steps.values(), key=lambda s: s.rate)))
        if len(steps) >= max_runs or found.rate is None or found.breaking is None:
            break
        middle = round((found.rate + found.breaking.rate) / 2, 6)
        if middle in steps:
            break
        step(middle)
    return Capacity(own, tuple(sorted(steps.values(), key=lambda s: s.rate)))
