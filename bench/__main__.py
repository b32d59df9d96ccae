"""``python3 dev.py bench``: run every benchmark, print the figures, write docs/BENCHMARKS.md.

``--quick`` uses smaller sizes (for a first look); the document records which was run.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from . import concurrency, fake_memory, goals, memory, report, soak, suite, throughput, virtual_speed
from .common import machine
from .report import verdict

DOC = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, no suite timing")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--skip",
        action="append",
        choices=("soak", "suite"),
        default=[],
        help="leave out the soak or the suite timing (their sections of the old document are kept)",
    )
    args = parser.parse_args(argv)
    skipped = ", ".join(f"`--skip {name}`" for name in args.skip)
    info = machine()
    out: list[str] = [
        "# Benchmarks",
        "",
        f"Measured {info['date']} with `python3 dev.py bench"
        f"{' --quick' if args.quick else ''}` on {info['machine']}, "
        f"Python {info['python']}; {info['packages']}."
        + (
            f" Run with {skipped}: those sections are carried over from the previous run, "
            "with the figures of that run."
            if skipped
            else ""
        ),
        "",
        "Every figure is a ratio measured within one run (timings on a shared "
        "machine are noisy). Goals are from issues #5, #14 and #21.",
        "",
    ]

    header_end = len(out)
    load_start = goals.loadavg()

    def emit(*lines: str) -> None:
        for line in lines:
            print(line, flush=True)
            out.append(line)

    import logging

    logging.basicConfig(level=logging.CRITICAL)  # injected faults make the robot log errors
    lib = virtual_speed.library()
    batch = virtual_speed.library_batch()
    procs = virtual_speed.library_processes()
    long = virtual_speed.ten_minute_conversation()
    emit(
        "## 1. Virtual-time speed-up (goal: at least 500x)",
        "",
        "| what | virtual s | wall s | speed-up | goal |",
        "|---|---|---|---|---|",
        f"| 10-minute conversation (600 chunks, 1 s apart) | {long['virtual_s']:.0f} | "
        f"{long['wall_s']:.2f} | {long['speedup']:.0f}x | {verdict(long['speedup'] >= 500)} |",
        f"| scenario library (`scenarios/`, `scenarios/byo/`), {lib['files']} virtual-time "
        f"files, one test each as pytest runs them (wall clock held across the run) | "
        f"{lib['virtual_s']:.0f} | {lib['wall_s']:.2f} | {lib['speedup']:.0f}x | "
        f"{verdict(lib['speedup'] >= 500)} |",
        f"| the same files, freezegun entered once (`fakeding scenario run`)"
        f" | {batch['virtual_s']:.0f} | {batch['wall_s']:.2f} | {batch['speedup']:.0f}x | "
        f"{verdict(batch['speedup'] >= 500)} |",
        "",
        f"Robot processes (`robot: {{command: ...}}`, {procs['files']} file(s)) run in real "
        f"time by nature and are timed apart: {procs['wall_s']:.1f} s wall "
        f"({procs['per_file_s']:.1f} s per file, mostly the process starting).",
        "",
        library_note(lib),
        "",
    )

    tp = throughput.run(300 if not args.quick else 100)
    emit(
        "## 2. End-to-end throughput, real time (goal: at least 50% of the ceiling)",
        "",
        f"{tp['messages']} messages sent at once through fakeding (separate process), the "
        f"Stream connection, the robot (agent with no delay, 10 chunks), the thinking card, "
        f"streaming and final updates: **{tp['per_second']:.0f} messages/s** "
        f"({tp['requests_per_message']:.1f} OpenAPI requests per message). Ceiling, same two "
        f"processes, same libraries, same concurrency: per message, the same "
        f"{round(tp['requests_per_message']) + 1} HTTP requests (the user's send and the robot's "
        f"OpenAPI calls of one answer, with their bodies and token header, taken from the fake's "
        f"records: {', '.join(tp['bare_calls'])}) to a bare aiohttp echo, and one bare "
        f"websocket round trip of a frame's size: "
        f"{tp['ceiling_per_second']:.0f}/s. **Share of ceiling: "
        f"{100 * tp['share_of_ceiling']:.1f}%** (issue 5's goal, {100 * report.SHARE_GOAL:.0f}%: "
        f"{verdict(tp['share_of_ceiling'] >= report.SHARE_GOAL)}); "
        f"medians of {tp['rounds']} alternating rounds, single rounds ranged "
        f"{100 * tp['share_range'][0]:.0f}-{100 * tp['share_range'][1]:.0f}% (the share's 90% "
        f"interval from that spread, a bootstrap over the round pairs: "
        f"{100 * tp['share_interval'][0]:.1f}-{100 * tp['share_interval'][1]:.1f}%).",
        "",
        "CPU per message: this process's CPU time around each round (`time.process_time`) "
        "and the fake's (`/proc/<pid>/stat`).",
        "",
        *report.cpu_table(tp),
        "",
        f"Before and after: the same actual round, the robot in a process of its own whose "
        f"`import bot` finds either this tree's robot or `bot/` of commit {tp['baseline']} "
        f"(extracted with `git archive`; the last commit before issue 14's hot-path work).",
        "",
        *report.before_after_table(tp),
        "",
        report.throughput_note(tp),
        "",
    )

    sizes = (1, 10, 100) if args.quick else (1, 10, 100, 500)
    rounds = concurrency.run(sizes, real_sizes=(1, 10) if args.quick else (1, 10, 100, 500))
    paced = concurrency.paced((30, 100))
    rate = concurrency.platform_rate()
    fls, paced_fls = concurrency.floors(rounds, rate), concurrency.floors(paced, rate)
    emit(
        "## 3. Concurrency: simultaneous conversations, each a 10-second answer",
        "",
        f"Goals: with the platform's limits off (the robot's own overhead), makespan / single "
        f"at most {report.SINGLE_GOALS[100]:g} at 100 and {report.SINGLE_GOALS[500]:g} at 500 "
        f"(issue #5); with the limits on, makespan / floor at most {report.FLOOR_GOAL:g} "
        f"(issue #14; the floor is explained below the next table); no error reaching a user "
        f"and nothing unfinished.",
        "",
        *report.concurrency_table(rounds, fls),
        "",
    )
    emit(
        f"## 3b. Concurrency near the platform's floor: {paced[0].answer_s:g}-second answers, "
        f"limits on, real time",
        "",
        f"Each conversation a {paced[0].answer_s:g}-second answer (10 chunks, "
        f"{paced[0].answer_s / 10:g} s apart), all sent at once, with the platform's limits on "
        f"(as DingTalk runs). Goal: makespan / floor at most {report.FLOOR_GOAL:g}.",
        "",
        *report.paced_table(paced, paced_fls),
        "",
        report.concurrency_note(
            rounds, fls, paced, paced_fls, rate, concurrency.ROBOT_QPS, concurrency.ROBOT_BURST
        ),
        "",
    )

    day = goals.handler_day()
    emit(
        "## 3c. The instrument, not the bottleneck (issue #21 item 6)",
        "",
        "Each figure from this run: (a) and (c) from the throughput rounds of section 2, (d) "
        "from the rounds of section 3b, (b) timed here (`fakeding load "
        "bench/plans/handler_day.yaml` in a process of its own).",
        "",
        *goals.table(tp, paced, paced_fls, day),
        "",
        goals.note(tp, day),
        "",
        goals.headroom_note(tp),
        "",
        goals.pace_note(paced, paced_fls, concurrency.ROBOT_QPS, rate, concurrency.ROBOT_BURST),
        "",
    )

    mem = memory.run(total=2_000 if args.quick else 10_000)
    emit(
        "## 4. Memory: fake + robot in one process (retention on)",
        "",
        "| conversations | RSS MiB |",
        "|---|---|",
        *[f"| {n} | {m:.1f} |" for n, m in mem["samples"]],
        "",
        f"Growth over the first half: {mem['growth_first_half_mib']:.1f} MiB; over the second "
        f"half: {mem['growth_second_half_mib']:.1f} MiB ("
        f"{verdict(mem['growth_second_half_mib'] <= max(8.0, mem['growth_first_half_mib']))}"
        f": bounded). Settings: `recorder_limit=5000`, `history_limit=2000`; the robot's "
        "SQLite store is on disk.",
        "",
    )

    fm = fake_memory.run(10_000, 2_000) if args.quick else fake_memory.run()
    emit("## 4b. Memory of `fakeding serve` left running (default settings)", "", *fake_memory.report(fm), "")

    if not args.quick and "soak" not in args.skip:
        sk = soak.run()
        ok = sk["lost"] == 0 and sk["duplicates"] == 0 and sk["unfinished_cards"] == 0
        emit(
            "## 5. Soak (`python3 dev.py soak`, virtual time)",
            "",
            "`bench/plans/soak.yaml` under `fakeding load`: about 2,000 questions (Poisson "
            "arrivals) from 200 users (20 groups and 1:1 chats) over 150 virtual "
            "seconds with seeded random faults. Goal: zero lost, zero duplicated, zero "
            f"unfinished ({verdict(ok)}).",
            "",
            "| figure | value |",
            "|---|---|",
            *[
                f"| {k.replace('_', ' ')} | {v if not isinstance(v, float) else round(v, 1)} |"
                for k, v in sk.items()
            ],
            "",
        )
    if not args.quick and "suite" not in args.skip:
        st = suite.run()
        emit(
            "## 6. The test suite",
            "",
            f"`python3 dev.py test`: {st['seconds']:.0f} s wall (exit {st['exit']}; `{st['summary']}`).",
            "",
        )

    load_end = goals.loadavg()
    if load_start is not None and load_end is not None:
        cores = os.cpu_count() or 1
        busy = max(load_start, load_end) > cores
        out.insert(
            header_end,
            f"The machine's load average (1 minute) was {load_start:.1f} when this run began and "
            f"{load_end:.1f} when it ended, on {cores} cores: "
            + (
                "above the core count, the processes waited for a CPU, so wall-time figures fell "
                "while CPU ratios held better."
                if busy
                else "below the core count, a quiet machine: the wall-time figures stand as measured."
            ),
        )
        out.insert(header_end + 1, "")
    if not args.no_write and not args.quick:
        DOC.parent.mkdir(exist_ok=True)
        kept = carried_over(DOC, out)
        DOC.write_text("\n".join(out + kept) + "\n", encoding="utf-8")
        print(f"\nwrote {DOC}")
    return 0


def library_note(lib: dict[str, float]) -> str:
    """Where a short scenario's wall time goes, with this run's average per file."""
    per_file_ms = 1000 * lib["wall_s"] / max(1, lib["files"])
    return (
        "Where a short scenario's wall time goes: the fake and the robot starting and "
        "connecting (gateway, token, websocket) and the robot's SQLite file, while time that "
        "passes inside a run costs next to nothing (the 10-minute row); in this run a file took "
        f"{per_file_ms:.0f} ms of wall time on average. Already cut: the scenario's scratch "
        "folder is memory-backed when /dev/shm exists (no sync to disk when the robot closes "
        "its store), the pytest plugin enters freezegun once for consecutive scenario items "
        "(it scans every loaded module when entered), the YAML parser is libyaml when PyYAML "
        "has it, and the robot adapters' entry points are read once per sys.path."
    )


def carried_over(doc: Path, written: list[str]) -> list[str]:
    """Sections of the old document this run does not measure (their own commands wrote them:
    the process soak, the emulator's browser measurement), kept as they were."""
    if not doc.exists():
        return []
    ours = {line for line in written if line.startswith("## ")}
    kept: list[str] = []
    keep = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            keep = line not in ours
        if keep:
            kept.append(line)
    return kept


if __name__ == "__main__":
    raise SystemExit(main())
