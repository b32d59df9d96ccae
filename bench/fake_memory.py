"""Resident memory of ``fakeding serve`` (default settings) under 100,000 requests and 20,000
unused Stream tickets, driven from this process over 127.0.0.1.

``fakeding serve`` runs as a subprocess, as a developer would leave it running; its RSS is read
from /proc before, after the requests and after the tickets. Bounded in count and in time: a run
that reaches ``deadline`` stops early and says how far it got. ``python -m bench.fake_memory``
prints the figures.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp

from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

GATEWAY = "/v1.0/gateway/connections/open"
SUBS = [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _start_serve() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakeding.cli", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    found = re.search(r"serving on (http://\S+)", first)
    if not found:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise RuntimeError(f"expected fakeding serve's banner, found {first!r}")
    return proc, found.group(1)


async def _drive(
    base: str, requests: int, tickets: int, deadline: float, concurrency: int, after_requests: Any
) -> dict[str, Any]:
    """Send the mix, then the tickets; return the counts per status."""
    statuses: dict[int, int] = {}
    done = {"requests": 0, "tickets": 0}
    async with aiohttp.ClientSession(base) as http:
        async with http.post(
            "/v1.0/oauth2/accessToken", json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET}
        ) as r:
            token = (await r.json())["accessToken"]
        mix: Iterator[tuple[str, str, object]] = itertools.cycle(
            [
                (
                    "POST",
                    "/v1.0/oauth2/accessToken",
                    {"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
                ),
                (
                    "POST",
                    "/v1.0/robot/groupMessages/send",
                    {
                        "robotCode": DEFAULT_CLIENT_ID,
                        "openConversationId": "cidBench",
                        "msgKey": "sampleText",
                        "msgParam": '{"content": "hi"}',
                    },
                ),
                ("POST", "/v1.0/card/instances", {"outTrackId": "bench", "cardData": {}}),
                ("GET", "/v1.0/nowhere", None),
                ("POST", "/v1.0/oauth2/accessToken", {"appKey": "nobody", "appSecret": "wrong"}),
            ]
        )
        headers = {"x-acs-dingtalk-access-token": token}

        async def worker(kind: str, total: int) -> None:
            while done[kind] < total and time.monotonic() < deadline:
                done[kind] += 1
                body: object
                if kind == "tickets":
                    method, path, body = (
                        "POST",
                        GATEWAY,
                        {
                            "clientId": DEFAULT_CLIENT_ID,
                            "clientSecret": DEFAULT_CLIENT_SECRET,
                            "subscriptions": SUBS,
                        },
                    )
                else:
                    method, path, body = next(mix)
                async with http.request(method, path, json=body, headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1

        await asyncio.gather(*(worker("requests", requests) for _ in range(concurrency)))
        after_requests()
        await asyncio.gather(*(worker("tickets", tickets) for _ in range(concurrency)))
    return {"done": dict(done), "statuses": dict(sorted(statuses.items()))}


def run(
    requests: int = 100_000, tickets: int = 20_000, time_limit: float = 300.0, concurrency: int = 16
) -> dict[str, Any]:
    proc, base = _start_serve()
    try:
        time.sleep(0.2)
        before = rss_mib(proc.pid)
        samples: dict[str, float] = {}
        started = time.monotonic()
        result = asyncio.run(
            _drive(
                base,
                requests,
                tickets,
                started + time_limit,
                concurrency,
                lambda: samples.setdefault("after_requests", rss_mib(proc.pid)),
            )
        )
        after = rss_mib(proc.pid)
        wall = time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return {
        "requests": result["done"]["requests"],
        "tickets": result["done"]["tickets"],
        "statuses": result["statuses"],
        "rss_before_mib": before,
        "rss_after_requests_mib": samples["after_requests"],
        "rss_after_tickets_mib": after,
        "wall_s": wall,
        "complete": result["done"] == {"requests": requests, "tickets": tickets},
    }


def report(r: dict[str, Any]) -> list[str]:
    return [
        f"`fakeding serve` with default settings, driven over 127.0.0.1 ({r['wall_s']:.0f} s): "
        f"{r['requests']:,} requests (token, group message, card instance, unknown route, "
        f"refused token; answers {r['statuses']}), then {r['tickets']:,} gateway tickets never "
        f"used{'' if r['complete'] else ' (stopped early at the time limit)'}.",
        "",
        "| when | RSS MiB |",
        "|---|---|",
        f"| before | {r['rss_before_mib']:.1f} |",
        f"| after the requests | {r['rss_after_requests_mib']:.1f} |",
        f"| after the tickets | {r['rss_after_tickets_mib']:.1f} |",
    ]


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    figures = run(10_000, 2_000) if quick else run()
    print("\n".join(report(figures)))
