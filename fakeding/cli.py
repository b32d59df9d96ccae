"""``fakeding`` command line: ``serve`` a fake platform, run a ``scenario``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import control_settings
from ._extras import MissingExtra
from .exceptions import ConfigError, ControlError, FakedingError
from .server import FakeDing
from .settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings


def _app(value: str) -> tuple[str, str]:
    client_id, sep, secret = value.partition(":")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError(
            f"expected CLIENT_ID:CLIENT_SECRET, found {value!r}")
    return client_id, secret


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fakeding", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a fake DingTalk until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="HTTP port (default: a free one)")
    serve.add_argument("--ws-port", type=int, default=0, help="Stream port (default: a free one)")
    serve.add_argument("--app", type=_app, action="append", metavar="CLIENT_ID:CLIENT_SECRET",
                       help="register an app (repeatable); default fakeding-client:fakeding-secret")
    serve.add_argument("--seed", type=int, default=0, help="seed for every generated id")
    serve.add_argument("--no-limits", action="store_true",
                       help="switch off QPS, webhook and size limits")
    serve.add_argument("--config", type=Path, metavar="FILE",
                       help="settings (and [[apps]]) from a .toml or .json file; the keys are "
                            "those of GET /_fakeding/settings")
    serve.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="one setting (repeatable, after --config); VALUE is JSON when it "
                            "parses: --set redelivery_delay=2 --set qps_limit=null")
    serve.add_argument("-v", "--verbose", action="store_true",
                       help="print every event as it happens, and a summary on exit")
    sub.add_parser("demo", help="moved: the demo runs our robot, so it is `python -m bot demo`")
    scen = sub.add_parser("scenario", help="scenario files")
    scen_sub = scen.add_subparsers(dest="action", required=True)
    run = scen_sub.add_parser("run", help="run scenario files and print their reports")
    run.add_argument("--robot", metavar="NAME",
                     help="robot adapter for files without `robot: {adapter: ...}` (an entry "
                          "point name of group fakeding.robots, or module:attr); default: "
                          "$FAKEDING_ROBOT, else the only installed adapter")
    run.add_argument("files", nargs="+", metavar="FILE")
    return parser


def serve_settings(args: argparse.Namespace) -> tuple[Settings, list[dict[str, Any]]]:
    """The settings and app registrations of ``serve``: flags, then ``--config``, then
    ``--set`` (later wins); errors name the key and where it came from."""
    settings = Settings(host=args.host, seed=args.seed)
    if args.no_limits:
        settings = settings.replace(qps_limit=None, webhook_per_minute=None,
                                    card_param_value_max_bytes=None,
                                    interactive_card_max_bytes=None,
                                    stream_content_max_bytes=None)
    apps = [{"client_id": c, "client_secret": s} for c, s in args.app or []]
    try:
        if args.config is not None:
            data = dict(control_settings.load_config(args.config))
            listed = data.pop("apps", [])
            if not isinstance(listed, list):
                raise ControlError("apps", f"expected a list of apps, found {listed!r}")
            apps += [control_settings.check_app(a, f"apps[{i}].") for i, a in enumerate(listed)]
            settings = settings.replace(**control_settings.check_changes(data, allow_fixed=True))
        changes = dict(control_settings.parse_assignment(a) for a in args.set)
        settings = settings.replace(**control_settings.check_changes(changes, allow_fixed=True))
    except ControlError as exc:
        where = f"--config {args.config}" if args.config is not None else "--set"
        raise ConfigError(f"{where}: {exc}") from None
    if not apps:
        apps = [{"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}]
    return settings, apps


async def _serve(args: argparse.Namespace) -> None:
    settings, specs = serve_settings(args)
    apps = [(s["client_id"], s["client_secret"]) for s in specs]
    fake = FakeDing(settings, apps=apps)
    for spec in specs:  # again, with scopes, robot codes and callback URLs
        fake.add_app(**spec)
    try:
        await fake.start(port=args.port, ws_port=args.ws_port)
    except OSError as exc:  # a busy or forbidden port: say so, no traceback
        await fake.stop()
        raise ConfigError(f"cannot listen on {args.host} (--port {args.port}, --ws-port "
                          f"{args.ws_port}): {exc.strerror or exc}") from None
    # Handlers go in before the first line is printed: a supervisor that stops the fake as soon
    # as it has read the endpoint must get a clean exit, not a death by the default SIGTERM.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"fakeding is serving on {fake.http_url} (stream: {fake.ws_endpoint})")
    for client_id, secret in apps:
        print(f"  app clientId={client_id} clientSecret={secret}")
    print("point a robot at it (before the SDK is imported):")
    print(f"  export DINGTALK_OPENAPI_ENDPOINT={fake.http_url}")
    print(f"control API: {fake.http_url}/_fakeding/health, /_fakeding/messages, ...")
    print(f"emulator: {fake.http_url}/")
    print("Ctrl-C stops it.", flush=True)
    console = None
    if args.verbose:
        from .live import Console, feed_of

        console = Console()
        feed_of(fake).add_sink(console)
    await stop.wait()
    await fake.stop()
    if console is not None:
        print(console.summary(), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            asyncio.run(_serve(args))
            return 0
        if args.command == "demo":
            print("fakeding: the demo runs the reference robot; run it with "
                  "`python -m bot demo [--locale en|zh]`", file=sys.stderr)
            return 2
        if args.command == "scenario":
            from .scenarios.cli import run_files
            return run_files(args.files, robot=args.robot)
    except (FakedingError, MissingExtra) as exc:
        print(f"fakeding: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
