"""Conversations are answered side by side, measured in virtual time."""

from __future__ import annotations

import pytest

from bot.agents.scripted import ScriptedAgent
from bot.scenario_adapter import open_harness
from fakeding.core.settings import Settings
from tests.bot.robot_kit import cards, events, is_final, violations

N = 50
TEN_SECONDS = {"chunks": [f"word{i} " for i in range(10)], "delay": 1.0}  # one chunk a second
DEFAULT_QPS = 18.0  # RobotConfig.qps: the robot's own pace, below the platform's 20


async def final_times(
    settings: Settings | None = None, robot: dict[str, object] | None = None, conversations: int = N
) -> list[float]:
    """Start ``conversations`` 10-second answers at t=0; return when each card went final."""
    agent = ScriptedAgent([dict(TEN_SECONDS) for _ in range(conversations)])

    async with open_harness(agent=agent, settings=settings, robot=robot) as h:
        for n in range(conversations):
            h.fake.send_message(f"Question {n}?", conversation_id=f"cid{n}", staff_id=f"u{n}")
        await h.settle()
        assert len(cards(h)) == conversations
        assert all(is_final(card.current) for card in cards(h))
        assert events(h, "card.final.failed") == [] and violations(h) == []
        return sorted(r.t for r in events(h, "card.final"))


@pytest.mark.fakeding_virtual
async def test_a_single_ten_second_answer_takes_about_ten_seconds() -> None:
    [done] = await final_times(conversations=1)
    assert 10.0 <= done < 11.0


@pytest.mark.fakeding_virtual
async def test_fifty_ten_second_answers_run_side_by_side() -> None:
    # Platform and robot rate limits lifted: this measures concurrency alone.
    done = await final_times(Settings(qps_limit=None), {"qps": 10_000.0})
    assert len(done) == N
    assert done[0] >= 10.0, "no answer can finish before its 10 s of chunks"
    assert done[-1] < 12.0, f"the last of {N} answers finished at t={done[-1]:.2f}"


@pytest.mark.fakeding_virtual
async def test_fifty_ten_second_answers_under_the_real_rate_limit_finish_soon_after_ten_seconds() -> None:
    # With the platform's 20 calls/s per API, the 50 final updates alone need 50/18 s after
    # the answers end at t=10, so the best possible is about 12.8 s; allow a second more.
    # Streaming updates must give way rather than delay the answers.
    done = await final_times()
    assert len(done) == N
    bound = 10.0 + N / DEFAULT_QPS + 1.0
    assert done[-1] < bound, (
        f"the last of {N} answers finished at t={done[-1]:.2f}, expected before {bound:.2f}"
    )


@pytest.mark.fakeding_virtual
async def test_fifty_answers_paced_by_the_platforms_own_window_finish_sooner_and_none_is_refused() -> None:
    # qpsBurst 20 at qps 19: at most 20 calls in any 20/19 s, the platform's window (20 in any
    # 1 s) with a 5% margin. The finals leave 20 at a time instead of one per 1/18 s.
    robot = {"qps": 19.0, "qpsBurst": 20}
    async with open_harness(agent=ScriptedAgent([dict(TEN_SECONDS) for _ in range(N)]), robot=robot) as h:
        for n in range(N):
            h.fake.send_message(f"Question {n}?", conversation_id=f"cid{n}", staff_id=f"u{n}")
        await h.settle()
        refused = [r for r in h.fake.recorder.records if r.kind == "api" and r.fields["status"] == 403]
        finals = list(events(h, "card.final"))
        assert refused == [], f"{len(refused)} calls refused by the platform's QPS limit"
        assert sorted(r.fields["msg"] for r in finals) == sorted({r.fields["msg"] for r in finals})
        assert len(finals) == N and all(is_final(card.current) for card in cards(h))
        assert events(h, "card.final.failed") == [] and violations(h) == []
    done = max(r.t for r in finals)
    grid = 10.0 + N / DEFAULT_QPS  # the last final of the one-per-1/18-s pace, at the soonest
    assert done < grid, f"the last of {N} answers finished at t={done:.2f}, the grid's soonest is {grid:.2f}"
