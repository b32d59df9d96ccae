"""``fakeding probe``: measure an upstream and write a profile ``--profile`` loads."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fakeding.core.exceptions import ConfigError
from fakeding.testing.probe.run import Options, probe


def _seconds(value: str) -> float:
    try:
        out = float(value)
    except ValueError:
        out = -1.0
    if not 0 < out <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and 3600, found {value!r}")
    return out


def add_parser(sub: Any, app_type: Callable[[str], tuple[str, str]]) -> None:
    p = sub.add_parser(
        "probe",
        help="measure a platform from a robot's side (token lifetime, "
        "pings, webhook lifetime, redelivery, second connection, "
        "QPS) and write a profile",
    )
    p.add_argument(
        "--upstream",
        default="https://api.dingtalk.com",
        metavar="URL",
        help="the platform to measure (default https://api.dingtalk.com)",
    )
    p.add_argument("--app", type=app_type, required=True, metavar="CLIENT_ID:CLIENT_SECRET")
    p.add_argument("--out", type=Path, required=True, metavar="PROFILE.toml")
    p.add_argument(
        "--message-via",
        metavar="CONTROL_URL",
        default=None,
        help="play the person who messages the robot through a fake's control API "
        "(for tests); without it the probe asks you to send a message",
    )
    p.add_argument(
        "--control-token",
        default=os.environ.get("FAKEDING_CONTROL_TOKEN") or None,
        metavar="TOKEN",
        help="with --message-via: the fake's control token",
    )
    p.add_argument(
        "--wait",
        type=_seconds,
        default=90.0,
        metavar="S",
        help="the longest each measurement waits (default 90)",
    )
    p.add_argument(
        "--max-qps",
        type=int,
        default=20,
        metavar="N",
        help="the highest call rate tried when looking for the QPS limit (default 20)",
    )


def run(args: argparse.Namespace) -> int:
    if args.out.suffix != ".toml":
        raise ConfigError(f"--out: expected a PROFILE.toml, found {str(args.out)!r}")
    client_id, secret = args.app
    options = Options(
        args.upstream,
        client_id,
        secret,
        wait=args.wait,
        max_qps=args.max_qps,
        message_via=args.message_via,
        control_token=args.control_token,
        say=lambda text: print(text, flush=True),
    )
    findings = asyncio.run(probe(options))
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(findings.toml(when), encoding="utf-8")
    for setting, value in findings.settings.items():
        print(f"  {setting} = {value!r}  ({findings.sources[setting]})")
    for note in findings.notes:
        print(f"  note: {note}")
    print(f"wrote {args.out} ({findings.calls} calls); use it with --profile {args.out}", flush=True)
    return 0
