"""Resident memory of the fake and the robot (one process) across 10,000 conversations.

Run in virtual time with retention on (``recorder_limit``/``history_limit``), sampled every
1,000 conversations: growth after the first few thousand must flatten.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from bot.scenario_adapter import open_harness, run_virtual
from fakeding.core.settings import Settings

from .common import PacedAgent, rss_mib


def run(total: int = 10_000, batch: int = 100, sample_every: int = 1000) -> dict[str, Any]:
    samples: list[tuple[int, float]] = []

    async def main() -> None:
        settings = Settings(
            qps_limit=None, webhook_per_minute=None, recorder_limit=5_000, history_limit=2_000
        )
        agent = PacedAgent(chunks=6, delay=0.0)
        async with open_harness(settings=settings, agent=agent, robot={"qps": 100_000.0}) as h:
            sent = 0
            while sent < total:
                for i in range(batch):
                    n = sent + i
                    h.fake.send_message(
                        f"q{n}", conversation_id=f"cidM{n % 500}==", staff_id=f"user{n % 2000}"
                    )
                sent += batch
                await h.settle(step=0.05)
                if sent % sample_every == 0:
                    gc.collect()
                    samples.append((sent, rss_mib()))

    started = time.perf_counter()
    run_virtual(main, end=10 * 3600)
    first_half = samples[len(samples) // 2][1] - samples[0][1]
    second_half = samples[-1][1] - samples[len(samples) // 2][1]
    return {
        "samples": samples,
        "wall_s": time.perf_counter() - started,
        "growth_first_half_mib": first_half,
        "growth_second_half_mib": second_half,
        "final_mib": samples[-1][1],
    }
