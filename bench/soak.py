"""A bounded soak: many users, random faults, and a count of what went wrong.

``python3 dev.py soak`` sends 2,000 messages from 200 users (20 groups and 1:1 chats) over
about two and a half minutes of real time, with seeded random faults: connection drops (5 %
of messages), late acks that trigger redelivery, OpenAPI 403/500 answers (5 %), token expiry,
and one zombie connection. It reports messages sent, answers delivered, duplicates, lost
answers, unfinished cards and platform errors that reached a user. Goal: zero lost, zero
duplicated, zero unfinished. ``--virtual`` runs the same in virtual time; the test suite runs
a short version that way. ``--processes`` runs robot processes instead, with process faults
(SIGTERM, SIGKILL, restarts, a store lock, a second replica): see ``bench/soak_processes.py``.
Loopback only; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from typing import Any

from bot.scenario_adapter import open_harness, run_virtual
from fakeding.core.settings import Settings

USER_ERRORS = ("bot.card.final.failed", "bot.reply.lost", "bot.card.thinking.failed")
API_FAULTS = [
    {
        "route": "POST /v1.0/im/v1.0/robot/interactiveCards/send",
        "status": 403,
        "code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
    },
    {
        "route": "PUT /v1.0/im/robots/interactiveCards",
        "status": 403,
        "code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
    },
    {"route": "PUT /v1.0/im/robots/interactiveCards", "status": 500, "code": "system.busy"},
    {"route": "POST /v1.0/im/v1.0/robot/interactiveCards/send", "status": 500, "code": "system.busy"},
]


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


async def soak(*, messages: int, users: int, duration: float, seed: int, virtual: bool) -> dict[str, Any]:
    rng = random.Random(seed)
    settings = Settings(
        redelivery_delay=5.0,
        max_redeliveries=3,
        system_ping_interval=5.0,
        recorder_limit=None,
        history_limit=None,
    )
    robot = {"streamIdleTimeout": 15.0, "retryAttempts": 6}
    kwargs: dict[str, Any] = {"settings": settings, "robot": robot, "agent": SoakAgent(), "seed": seed}
    if not virtual:
        kwargs["epoch"] = None
    async with open_harness(**kwargs) as h:
        fake = h.fake
        gap = duration / messages
        plan = {"drops": 0, "late_acks": 0, "api_faults": 0, "token_expiries": 0, "zombies": 0}
        for n in range(messages):
            await h.sleep_until(n * gap)
            if n in (messages // 3, 2 * messages // 3):
                fake.fault({"kind": "expire_token"})
                plan["token_expiries"] += 1
            if n == messages // 2:
                fake.fault({"kind": "zombie"})
                plan["zombies"] += 1
            roll = rng.random()
            if roll < 0.05:
                fake.fault({"kind": "drop_connection"})
                plan["drops"] += 1
            elif roll < 0.10:
                fake.fault({"kind": "api", "nth": 1, **rng.choice(API_FAULTS)})
                plan["api_faults"] += 1
            elif roll < 0.12:
                fake.fault({"kind": "frame", "action": "delay", "nth": 1, "delay": 7.0})
                plan["late_acks"] += 1
            user = rng.randrange(users)
            if rng.random() < 0.6:
                fake.send_message(
                    f"question {n} from user {user}",
                    conversation_id=f"cidSoakGroup{user % 20}==",
                    staff_id=f"user{user}",
                )
            else:
                fake.send_message(
                    f"question {n} from user {user}",
                    conversation_id=f"cidSoakDirect{user}==",
                    conversation_type="single",
                    staff_id=f"user{user}",
                )
        await h.settle(step=0.5, limit=600)
        records = fake.recorder.records
        cards = fake.platform.cards.all()
        from bot.testing.report import is_final

        sent = {r.fields["msgId"] for r in records if r.kind == "message"}
        answered = Counter(
            r.fields["msg"] for r in records if r.kind == "bot.message" and r.fields.get("plan") == "answer"
        )
        delivered = {r.fields["msg"] for r in records if r.kind in ("bot.card.final", "bot.reply.fallback")}
        return {
            "messages_sent": len(sent),
            "answers_delivered": len(delivered & sent),
            "duplicates": sum(c - 1 for c in answered.values() if c > 1),
            "lost": len(sent - delivered),
            "unfinished_cards": sum(1 for c in cards if not is_final(c)),
            "platform_errors_to_users": sum(1 for r in records if r.kind in USER_ERRORS),
            "platform_403s": sum(1 for r in records if r.kind == "api" and r.fields["status"] == 403),
            "redeliveries": sum(1 for r in records if r.kind == "redeliver"),
            "dedup_skips": sum(1 for r in records if r.kind == "bot.dedup.skip"),
            "reconnects": sum(1 for r in records if r.kind == "connect") - 1,
            "violations": len(fake.violations),
            "faults": plan,
            "elapsed_s": h.now,  # on the run's clock: virtual or real
        }


def run(
    *, messages: int = 2000, users: int = 200, duration: float = 150.0, seed: int = 1, virtual: bool = False
) -> dict[str, Any]:
    started = time.perf_counter()
    if virtual:
        result = run_virtual(
            lambda: soak(messages=messages, users=users, duration=duration, seed=seed, virtual=True), end=7200
        )
    else:
        result = asyncio.run(
            soak(messages=messages, users=users, duration=duration, seed=seed, virtual=False)
        )
    result["wall_s"] = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py soak", description=__doc__)
    parser.add_argument("--messages", type=int, help="default 2000 (400 with --processes)")
    parser.add_argument("--users", type=int, help="default 200 (60 with --processes)")
    parser.add_argument(
        "--duration", type=float, help="seconds of sending (default 150; 60 with --processes)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--virtual", action="store_true", help="run in virtual time")
    parser.add_argument(
        "--processes",
        action="store_true",
        help="robot processes against fakeding serve, with SIGTERM, SIGKILL, "
        "restarts, a store lock and a second replica (see bench/soak_processes)",
    )
    parser.add_argument(
        "--store",
        choices=["redis", "sqlite"],
        default="redis",
        help="with --processes: two replicas on Redis, or one robot on SQLite",
    )
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.ERROR)
    if args.processes:
        from bench.soak_processes import run_processes

        result = run_processes(
            messages=args.messages or 400,
            users=args.users or 60,
            duration=args.duration or 60.0,
            seed=args.seed,
            store=args.store,
            say=lambda line: print(f"  .. {line}"),
        )
        ok = result["sigterm_exit_codes"] == [0] * result["sigterms"]
    else:
        result = run(
            messages=args.messages or 2000,
            users=args.users or 200,
            duration=args.duration or 150.0,
            seed=args.seed,
            virtual=args.virtual,
        )
        ok = True
    for key, value in result.items():
        print(f"{key:26s} {value}")
    ok = ok and result["lost"] == 0 and result["duplicates"] == 0 and result["unfinished_cards"] == 0
    print("soak:", "PASSED (zero lost, duplicated, unfinished)" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
