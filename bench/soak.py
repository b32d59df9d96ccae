"""A bounded soak: many users, random faults, and a count of what went wrong.

``python3 dev.py soak`` runs the load plan ``bench/plans/soak.yaml`` through ``fakeding load``
(the same oracles any robot is judged by): 2,000 questions from 200 users (20 groups and 1:1
chats) over 150 s with seeded random faults: connection drops (5 % of questions), late acks
that trigger redelivery, OpenAPI 403/500 answers (5 %), two token expiries and a zombie
connection; our robot in virtual time, so it ends in seconds. It fails when an answer is lost,
doubled or left unfinished, answers cross, or the fake records a protocol violation.
``--plan`` runs another plan, ``--json``/``--html`` keep the report. ``--processes`` runs robot
processes instead, with process faults (SIGTERM, SIGKILL, restarts, a store lock, a second
replica): see ``bench/soak_processes.py``. Loopback only; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from pathlib import Path
from typing import Any

PLAN = Path(__file__).resolve().parent / "plans" / "soak.yaml"


class SoakAgent:
    """Answers of 3-12 chunks, 0.1-0.5 s apart, chosen from the question (deterministic)."""

    name = "soak"

    async def answer(self, question: str, *, chat_id: str, history: Any, on_chunk: Any) -> str:
        rng = random.Random(question)
        parts = []
        for i in range(rng.randint(3, 12)):
            await asyncio.sleep(rng.uniform(0.1, 0.5))
            piece = f"part{i} of the answer to {question}. "
            parts.append(piece)
            await on_chunk({"data": {"content": piece}})
        return "".join(parts)


def run(plan: Path = PLAN) -> dict[str, Any]:
    """The soak plan's figures under the names ``python3 dev.py bench`` reports (its section 5)."""
    import time

    from fakeding.testing.load.command import run as run_load
    from fakeding.testing.load.plan import load_plan

    started = time.perf_counter()
    f = run_load(load_plan(plan)).figures
    return {
        "messages_sent": f["questions"],
        "answers_delivered": f["answers"],
        "duplicates": f["doubled"],
        "lost": f["lost"],
        "unfinished_cards": f["unfinished"],
        "cross_talk": f["cross_talk"],
        "rate_403": f["rate_403"],
        "redeliveries": f["redeliveries"],
        "reconnects": f["reconnects"],
        "violations": f["violations"],
        "faults": f["faults"],
        "wall_s": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py soak", description=__doc__)
    parser.add_argument("--plan", type=Path, default=PLAN, help=f"the load plan (default {PLAN.name})")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure as JSON")
    parser.add_argument("--html", type=Path, metavar="PATH", help="write the report page")
    parser.add_argument(
        "--processes",
        action="store_true",
        help="robot processes against fakeding serve, with SIGTERM, SIGKILL, "
        "restarts, a store lock and a second replica (see bench/soak_processes)",
    )
    parser.add_argument("--messages", type=int, default=400, help="with --processes (default 400)")
    parser.add_argument("--users", type=int, default=60, help="with --processes (default 60)")
    parser.add_argument(
        "--duration", type=float, default=60.0, help="with --processes: seconds of sending (default 60)"
    )
    parser.add_argument("--seed", type=int, default=1, help="with --processes")
    parser.add_argument(
        "--store",
        choices=["redis", "sqlite"],
        default="redis",
        help="with --processes: two replicas on Redis, or one robot on SQLite",
    )
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.ERROR)
    if not args.processes:
        from fakeding.core.exceptions import FakedingError
        from fakeding.testing.load import run_plan

        try:
            text, code = run_plan(args.plan, json_path=args.json, html_path=args.html)
        except FakedingError as exc:
            print(f"soak: {exc}")
            return 2
        print(text, end="")
        print("soak:", "PASSED (zero lost, doubled, unfinished, crossed)" if code == 0 else "FAILED")
        return code
    from bench.soak_processes import run_processes

    result = run_processes(
        messages=args.messages,
        users=args.users,
        duration=args.duration,
        seed=args.seed,
        store=args.store,
        say=lambda line: print(f"  .. {line}"),
    )
    for key, value in result.items():
        print(f"{key:26s} {value}")
    ok = result["sigterm_exit_codes"] == [0] * result["sigterms"]
    ok = ok and result["lost"] == 0 and result["duplicates"] == 0 and result["unfinished_cards"] == 0
    print("soak:", "PASSED (zero lost, duplicated, unfinished)" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
