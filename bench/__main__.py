"""``python3 dev.py bench``: run every benchmark, print the figures, write docs/BENCHMARKS.md.

``--quick`` uses smaller sizes (for a first look); the document records which was run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import concurrency, fake_memory, memory, soak, suite, throughput, virtual_speed
from .common import machine

DOC = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, no suite timing")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    info = machine()
    out: list[str] = ["# Benchmarks", "",
                      f"Measured {info['date']} with `python3 dev.py bench"
                      f"{' --quick' if args.quick else ''}` on {info['machine']}, "
                      f"Python {info['python']}; {info['packages']}.", "",
                      "Every figure is a ratio measured within one run (timings on a shared "
                      "machine are noisy). Goals are from issue #5.", ""]

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
    emit("## 1. Virtual-time speed-up (goal: at least 500x)", "",
         "| what | virtual s | wall s | speed-up | goal |", "|---|---|---|---|---|",
         f"| 10-minute conversation (600 chunks, 1 s apart) | {long['virtual_s']:.0f} | "
         f"{long['wall_s']:.2f} | {long['speedup']:.0f}x | {verdict(long['speedup'] >= 500)} |",
         f"| scenario library (`scenarios/`, `scenarios/byo/`), {lib['files']} virtual-time "
         f"files, one test each as pytest runs them (wall clock held across the run) | "
         f"{lib['virtual_s']:.0f} | {lib['wall_s']:.2f} | {lib['speedup']:.0f}x | "
         f"{verdict(lib['speedup'] >= 500)} |",
         f"| the same files, freezegun entered once (`fakeding scenario run`)"
         f" | {batch['virtual_s']:.0f} | {batch['wall_s']:.2f} | {batch['speedup']:.0f}x | "
         f"{verdict(batch['speedup'] >= 500)} |", "",
         f"Robot processes (`robot: {{command: ...}}`, {procs['files']} file(s)) run in real "
         f"time by nature and are timed apart: {procs['wall_s']:.1f} s wall "
         f"({procs['per_file_s']:.1f} s per file, mostly the process starting).", "",
         LIBRARY_NOTE, "")

    tp = throughput.run(300 if not args.quick else 100)
    emit("## 2. End-to-end throughput, real time (goal: at least 50% of the ceiling)", "",
         f"{tp['messages']} messages sent at once through fakeding (separate process), the "
         f"Stream connection, the robot (agent with no delay, 10 chunks), the thinking card, "
         f"streaming and final updates: **{tp['per_second']:.0f} messages/s** "
         f"({tp['requests_per_message']:.1f} OpenAPI requests per message). Ceiling, same two "
         f"processes, same libraries, same concurrency (one bare websocket round trip plus "
         f"{round(tp['requests_per_message']) + 1} bare HTTP requests per message): "
         f"{tp['ceiling_per_second']:.0f}/s. **Share of ceiling: "
         f"{100 * tp['share_of_ceiling']:.0f}%** ({verdict(tp['share_of_ceiling'] >= 0.5)}); "
         f"medians of {tp['rounds']} alternating rounds, single rounds ranged "
         f"{100 * tp['share_range'][0]:.0f}-{100 * tp['share_range'][1]:.0f}%.", "",
         THROUGHPUT_NOTE, "")

    sizes = (1, 10, 100) if args.quick else (1, 10, 100, 500)
    rounds = concurrency.run(sizes, real_sizes=(1, 10) if args.quick else (1, 10, 100, 500))
    emit("## 3. Concurrency: simultaneous conversations, each a 10-second answer", "",
         "Goals: makespan / single at most 1.2 at 100 and 2 at 500; no rate-limit error "
         "reaching a user.", "",
         "| clock | platform limits | conversations | makespan s | / single | platform 403s | "
         "errors reaching users | unfinished | thinking card p50 / p99 s | wall s |",
         "|---|---|---|---|---|---|---|---|---|---|")
    singles = {(r.clock, r.limits): r.makespan for r in rounds if r.size == 1}
    for r in rounds:
        ratio = r.makespan / singles[(r.clock, r.limits)]
        emit(f"| {r.clock} | {'on' if r.limits else 'off'} | {r.size} | {r.makespan:.2f} | "
             f"{ratio:.2f} | {r.platform_403} | {r.user_errors} | {r.unfinished} | "
             f"{r.thinking_p50:.3f} / {r.thinking_p99:.3f} | {r.wall:.1f} |")
    emit("", CONCURRENCY_NOTE, "")

    mem = memory.run(total=2_000 if args.quick else 10_000)
    emit("## 4. Memory: fake + robot in one process (retention on)", "",
         "| conversations | RSS MiB |", "|---|---|",
         *[f"| {n} | {m:.1f} |" for n, m in mem["samples"]], "",
         f"Growth over the first half: {mem['growth_first_half_mib']:.1f} MiB; over the second "
         f"half: {mem['growth_second_half_mib']:.1f} MiB ("
         f"{verdict(mem['growth_second_half_mib'] <= max(8.0, mem['growth_first_half_mib']))}"
         f": bounded). Settings: `recorder_limit=5000`, `history_limit=2000`; the robot's "
         "SQLite store is on disk.", "")

    fm = fake_memory.run(10_000, 2_000) if args.quick else fake_memory.run()
    emit("## 4b. Memory of `fakeding serve` left running (default settings)", "",
         *fake_memory.report(fm), "")

    if not args.quick:
        sk = soak.run()
        ok = sk["lost"] == 0 and sk["duplicates"] == 0 and sk["unfinished_cards"] == 0
        emit("## 5. Soak (`python3 dev.py soak`, real time)", "",
             "2,000 messages from 200 users (20 groups and 1:1 chats) over 150 s with seeded "
             "random faults. Goal: zero lost, zero duplicated, zero unfinished "
             f"({verdict(ok)}).", "", "| figure | value |", "|---|---|",
             *[f"| {k.replace('_', ' ')} | {v if not isinstance(v, float) else round(v, 1)} |"
               for k, v in sk.items()], "")
        st = suite.run()
        emit("## 6. The test suite", "",
             f"`python3 dev.py test`: {st['seconds']:.0f} s wall (exit {st['exit']}; "
             f"`{st['summary']}`).", "")

    if not args.no_write and not args.quick:
        DOC.parent.mkdir(exist_ok=True)
        kept = carried_over(DOC, out)
        DOC.write_text("\n".join(out + kept) + "\n", encoding="utf-8")
        print(f"\nwrote {DOC}")
    return 0


LIBRARY_NOTE = (
    "Where a short scenario's wall time went, and what was cut: the robot's SQLite file syncs "
    "to disk when it closes (about 70 ms a scenario on this disk; the scenario's scratch folder "
    "is now memory-backed when /dev/shm exists), freezegun scans every loaded module when "
    "entered (about 25 ms; the pytest plugin now holds it across consecutive scenario items), "
    "the YAML parser (libyaml when PyYAML has it) and the robot adapters' entry points (read "
    "once per sys.path). What remains is the fake and robot starting and connecting (gateway, "
    "token, websocket), about 30 ms a file, while time that passes inside a run costs next to "
    "nothing (the 10-minute row).")

THROUGHPUT_NOTE = (
    "Where the time goes: the robot's process is the bottleneck (it parses the SDK's frames, "
    "acks, claims the message in SQLite, builds card JSON and feeds the agent's chunks through "
    "the throttle, besides the 4 HTTP requests the ceiling also makes). A CPU profile per "
    "message is not part of this run; the last one (an earlier session, before the Stream pump "
    "moved to aiohttp) put the robot at about 1.05 CPU-seconds per 300 messages. The store "
    "round trips per message were not batched yet (issue 14, item 5).")

CONCURRENCY_NOTE = (
    "With the platform's limits on, DingTalk allows 20 calls per second per app per API, and "
    "every conversation needs at least a thinking card (send API) and a final card (update "
    "API). N conversations that all finish at t=10 s therefore need N final updates, which take "
    "at least N/20 s: the floor of the makespan is 10 + N/20 s (ratio 1.5 at 100, 3.5 at 500), "
    "set by the platform, not by the robot. The robot paces itself at 18 QPS so that no call is "
    "refused, gives final updates and thinking cards the next free slot before any streaming "
    "update (streaming updates are best effort and never hold a future slot), and starts the "
    "agent while the thinking card is still being sent. With the limits off, the makespan stays "
    "at the single-conversation time.")


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
