"""``fakeding`` command line: ``serve`` a fake platform, print a language's ``env``, run or ``diff`` a
``scenario``, ``record`` a robot's session with DingTalk, ``probe`` a platform into a profile."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import signal
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fakeding._version import __version__
from fakeding.aio import scenario_folder
from fakeding.card_cli import add_card_parser, run_card
from fakeding.core import control_settings, template_files
from fakeding.core._extras import MissingExtra
from fakeding.core.custom_robots import CustomRobot
from fakeding.core.exceptions import ConfigError, ControlError, FakedingError
from fakeding.core.profiles import with_profile
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings
from fakeding.core.terminal import printable
from fakeding.core.tiers import TIERS, tier_settings
from fakeding.process import tune_gc
from fakeding.server import FakeDing

DEFAULT_PORT = 8089  # the emulator's address stays the same from one run to the next
DESCRIPTION = """\
A local fake DingTalk that unmodified Stream-mode robots connect to: serve one, point a
language's SDK at it, run YAML scenarios against a robot."""
EPILOG = """\
examples:
  fakeding serve                      the fake on http://127.0.0.1:8089, the emulator at /
  fakeding serve --tls --proxy-port 0 as https://api.dingtalk.com, for Node, Go and Java SDKs
  fakeding env --lang node --url https://127.0.0.1:8089
  fakeding scenario run scenarios/*.yaml --robot bot
run `fakeding COMMAND --help` for a command's options."""
SERVE_EPILOG = """\
examples:
  fakeding serve -v                              print each event as it happens
  fakeding serve --port 0                        any free port (printed in the banner)
  fakeding serve --app my-id:my-secret --set redelivery_delay=5
  fakeding serve --config fakeding.toml          settings, [[apps]] and [[custom_robots]]
  fakeding serve --tls --proxy-port 0            then: fakeding env --lang node --url ...
  fakeding serve --open                          and open the emulator in a browser"""
ENV_EPILOG = """\
examples:
  eval "$(fakeding env --lang python --url http://127.0.0.1:8089)"
  fakeding env --lang java --url https://127.0.0.1:8089 --ca-dir ~/.fakeding/ca"""
SCENARIO_EPILOG = """\
examples:
  fakeding scenario run scenarios/single_chat.yaml --robot bot
  fakeding scenario run my_robot.yaml     (a file naming its robot: handler, command or adapter)"""


def _app(value: str) -> tuple[str, str]:
    client_id, sep, secret = value.partition(":")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError(f"expected CLIENT_ID:CLIENT_SECRET, found {value!r}")
    return client_id, secret


def _stream_endpoint(value: str) -> str:
    """A ws:// or wss:// URL with a host; Java needs an explicit port and the path /connect."""
    url = urllib.parse.urlsplit(value.replace("{port}", "1"))
    if url.scheme not in ("ws", "wss") or not url.hostname:
        raise argparse.ArgumentTypeError(
            f"expected ws://HOST:PORT/connect or wss://HOST:PORT/connect ({{port}}: the Stream "
            f"port), found {value!r}"
        )
    return value


TOKEN_ENV = "FAKEDING_CONTROL_TOKEN"
# A fake left running must not grow without bound: ``serve`` retains this much by default.
SERVE_RECORDER_LIMIT = 100_000
SERVE_HISTORY_LIMIT = 10_000


def _count(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, found {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="fakeding", description=DESCRIPTION, epilog=EPILOG, formatter_class=raw
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="run a fake DingTalk until interrupted",
        description="Run a fake DingTalk until interrupted (Ctrl-C or SIGTERM).",
        epilog=SERVE_EPILOG,
        formatter_class=raw,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT}; 0: a free one)"
    )
    serve.add_argument("--ws-port", type=int, default=0, help="Stream port (default: a free one)")
    serve.add_argument(
        "--app",
        type=_app,
        action="append",
        metavar="CLIENT_ID:CLIENT_SECRET",
        help="register an app (repeatable); default fakeding-client:fakeding-secret",
    )
    serve.add_argument("--seed", type=int, default=0, help="seed for every generated id")
    serve.add_argument(
        "--recorder-limit",
        type=_count,
        default=SERVE_RECORDER_LIMIT,
        metavar="N",
        help=f"keep the newest N records (violations always kept; default "
        f"{SERVE_RECORDER_LIMIT}; 0 keeps everything)",
    )
    serve.add_argument(
        "--history-limit",
        type=_count,
        default=SERVE_HISTORY_LIMIT,
        metavar="N",
        help=f"keep the newest N cards, transcript lines, sessions and acked "
        f"deliveries (default {SERVE_HISTORY_LIMIT}; 0 keeps everything)",
    )
    serve.add_argument("--no-limits", action="store_true", help="switch off QPS, webhook and size limits")
    serve.add_argument(
        "--tier",
        choices=list(TIERS),
        help="a DingTalk edition's QPS limits and monthly quota (fakeding.core.tiers); "
        "applied before --config and --set",
    )
    serve.add_argument(
        "--profile",
        metavar="NAME|FILE",
        help="platform profile: documented (default), observed, or a .toml file "
        "(as `fakeding probe` writes); before --config and --set",
    )
    serve.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="settings (and [[apps]]) from a .toml or .json file; the keys are "
        "those of GET /_fakeding/settings",
    )
    serve.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one setting (repeatable, after --config); VALUE is JSON when it "
        "parses: --set redelivery_delay=2 --set qps_limit=null",
    )
    serve.add_argument(
        "--tls", action="store_true", help="serve the OpenAPI over HTTPS and Stream over WSS with a local CA"
    )
    serve.add_argument(
        "--ca-dir",
        type=Path,
        default=None,
        help="the CA's folder, made on first use and reused (default ~/.fakeding/ca)",
    )
    serve.add_argument(
        "--proxy-port",
        type=int,
        default=None,
        help="with --tls: a CONNECT proxy on 127.0.0.1 for HTTPS_PROXY (0: a free port)",
    )
    serve.add_argument(
        "--control-token",
        default=os.environ.get(TOKEN_ENV) or None,
        metavar="TOKEN",
        help=f"the token the control API and the emulator want (sent as "
        f"'Authorization: Bearer TOKEN'; the page takes it as /?token=); "
        f"default ${TOKEN_ENV}; with a --host beyond loopback one is made "
        f"and printed when none is given",
    )
    serve.add_argument(
        "--stream-endpoint",
        type=_stream_endpoint,
        default=None,
        metavar="URL",
        help="the Stream endpoint the gateway advertises; {port} is the Stream port "
        "(Java: wss://wss-open-connection.dingtalk.com:{port}/connect)",
    )
    env = sub.add_parser(
        "env",
        help="print what a language's SDK must set to reach a running fake",
        description="Print the environment a language's official SDK needs to reach a running fake.",
        epilog=ENV_EPILOG,
        formatter_class=raw,
    )
    env.add_argument("--lang", required=True, choices=["python", "node", "go", "java"])
    env.add_argument("--url", required=True, help="the fake's OpenAPI URL (printed by serve)")
    env.add_argument(
        "--ca-dir", type=Path, default=None, help="the CA that signed an https fake (default ~/.fakeding/ca)"
    )
    env.add_argument(
        "--control-token",
        default=os.environ.get(TOKEN_ENV) or None,
        metavar="TOKEN",
        help=f"the fake's control token, if it has one (default ${TOKEN_ENV})",
    )
    serve.add_argument(
        "--templates",
        type=Path,
        metavar="DIR",
        default=None,
        help="load every DIR/<templateId>.json card-platform export: cards of "
        "them are drawn and checked, unknown template ids refused",
    )
    serve.add_argument(
        "--scenarios",
        type=Path,
        metavar="DIR",
        default=None,
        help="list DIR's scenario .yaml files (and its subfolders') in the emulator's Replay pane",
    )
    add_card_parser(sub)
    serve.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print every event as it happens (what users say and what cards show), and a summary on exit",
    )
    serve.add_argument(
        "--open", action="store_true", help="open the emulator page in the default browser once serving"
    )
    sub.add_parser("demo", help="moved: the demo runs our robot, so it is `python -m bot demo`")
    scen = sub.add_parser("scenario", help="scenario files", epilog=SCENARIO_EPILOG, formatter_class=raw)
    scen_sub = scen.add_subparsers(dest="action", required=True)
    run = scen_sub.add_parser(
        "run", help="run scenario files and print their reports", epilog=SCENARIO_EPILOG, formatter_class=raw
    )
    run.add_argument(
        "--robot",
        metavar="NAME",
        help="robot adapter for files without `robot: {adapter: ...}` (an entry "
        "point name of group fakeding.robots, or module:attr); default: "
        "$FAKEDING_ROBOT, else the only installed adapter",
    )
    run.add_argument("files", nargs="+", metavar="FILE")
    diff = scen_sub.add_parser(
        "diff",
        help="run one scenario against two robots or builds and print what differs (exit 1 on a difference)",
    )
    diff.add_argument(
        "--robot",
        action="append",
        default=[],
        metavar="NAME|{handler: ...}",
        help="twice: robot A, then B (an adapter name or a YAML mapping as in "
        "`robot:`); fields that differ between two runs of A are ignored",
    )
    diff.add_argument(
        "--snapshots",
        nargs=2,
        type=Path,
        metavar=("DIR_A", "DIR_B"),
        help="instead of running: compare two folders of scenario reports "
        "(two builds' __snapshots__), section by section",
    )
    diff.add_argument("file", metavar="FILE", nargs="?")
    load = sub.add_parser(
        "load",
        help="run a load plan against a robot; exit 1 when a threshold fails",
        description="Run many users against a robot (a plan: the scenario's robot: and a load: "
        "section) and judge it by oracles for any robot.",
        epilog="examples:\n  fakeding load plans/business_day.yaml --json load.json --html load.html\n"
        "  fakeding load plan.yaml --capacity            (also at doubled rates: the highest that holds)\n"
        "  fakeding load plan.yaml --judge http://127.0.0.1:8089   (after a Locust run)",
        formatter_class=raw,
    )
    load.add_argument("plan", type=Path, metavar="PLAN.yaml")
    load.add_argument("--json", type=Path, metavar="PATH", help="write every figure as JSON")
    load.add_argument(
        "--html", type=Path, metavar="PATH", help="write a self-contained report page with plots"
    )
    load.add_argument(
        "--judge",
        metavar="URL",
        help="run nothing: judge the records of the fake serving at URL (after a Locust run) "
        "against the plan's thresholds",
    )
    load.add_argument(
        "--capacity",
        nargs="?",
        type=int,
        const=8,
        metavar="RUNS",
        help="also run the plan at doubled (or, when its own rate fails, halved) arrival rates, "
        "then between the last that held and the first that failed: report the highest rate "
        "at which every threshold holds and what gave above it (at most RUNS runs, default 8)",
    )
    load.add_argument(
        "--settle",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="with --judge: wait up to this long for answers still coming (default 30)",
    )
    from fakeding.relay import command as record_command

    record_command.add_parser(sub, _app)
    from fakeding.testing.probe import command as probe_command

    probe_command.add_parser(sub, _app)
    return parser


def serve_settings(args: argparse.Namespace) -> tuple[Settings, list[dict[str, Any]]]:
    """The settings and app registrations of ``serve``: flags, then ``--config``, then
    ``--set`` (later wins); errors name the key and where it came from."""
    settings = Settings(
        host=args.host,
        seed=args.seed,
        recorder_limit=args.recorder_limit or None,
        history_limit=args.history_limit or None,
    )
    if args.no_limits:
        settings = settings.replace(
            qps_limit=None,
            webhook_per_minute=None,
            card_param_value_max_bytes=None,
            interactive_card_max_bytes=None,
            stream_content_max_bytes=None,
        )
    apps = [{"client_id": c, "client_secret": s} for c, s in args.app or []]
    try:
        if args.profile is not None:
            settings = settings.replace(**with_profile({"profile": args.profile}))
        if getattr(args, "tier", None) is not None:
            settings = settings.replace(**tier_settings(args.tier))
        if args.config is not None:
            data = dict(control_settings.load_config(args.config))
            listed = data.pop("apps", [])
            data.pop("custom_robots", None)  # read by config_custom_robots
            if not isinstance(listed, list):
                raise ControlError("apps", f"expected a list of apps, found {listed!r}")
            apps += [control_settings.check_app(a, f"apps[{i}]") for i, a in enumerate(listed)]
            settings = settings.replace(**control_settings.check_changes(data, allow_fixed=True))
        changes = dict(control_settings.parse_assignment(a) for a in args.set)
        settings = settings.replace(**control_settings.check_changes(changes, allow_fixed=True))
    except ControlError as exc:
        where = f"--config {args.config}" if args.config is not None else "--set"
        raise ConfigError(f"{where}: {exc}") from None
    if not apps:
        apps = [{"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}]
    return settings, apps


def config_custom_robots(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The ``[[custom_robots]]`` of ``--config``, checked: errors name the entry and field."""
    if args.config is None:
        return []
    listed = control_settings.load_config(args.config).get("custom_robots", [])
    try:
        if not isinstance(listed, list):
            raise ControlError("custom_robots", f"expected a list of robots, found {listed!r}")
        for i, spec in enumerate(listed):
            if not isinstance(spec, dict):
                raise ControlError(
                    f"custom_robots[{i}]",
                    f"expected a table {{accessToken, conversationId, ...}}, found {spec!r}",
                )
            try:
                CustomRobot.from_json(spec)
            except ControlError as exc:
                raise ControlError(f"custom_robots[{i}].{exc.field}", exc.problem) from None
    except ControlError as exc:
        raise ConfigError(f"--config {args.config}: {exc}") from None
    return listed


async def _serve(args: argparse.Namespace) -> None:
    settings, specs = serve_settings(args)
    robots = config_custom_robots(args)
    apps = [(s["client_id"], s["client_secret"]) for s in specs]
    if args.proxy_port is not None and not args.tls:
        raise ConfigError("--proxy-port needs --tls (the proxy only tunnels TLS to the fake)")
    fake = FakeDing(settings, apps=apps, control_token=args.control_token)
    for spec in specs:  # again, with scopes, robot codes and callback URLs
        fake.add_app(**spec)
    for robot in robots:
        fake.add_custom_robot(robot)
    loaded = template_files.load_dir(args.templates) if args.templates is not None else []
    if args.scenarios is not None:
        fake.scenarios_dir = scenario_folder.check_folder(args.scenarios)
    for template in loaded:
        fake.use_template(template, keep=True)
    tls_mode = None
    try:
        if args.tls:
            try:
                from fakeding.tls.mode import start_tls
            except ImportError as exc:
                raise ConfigError(f"--tls needs the tls extra: pip install 'fakeding[tls]' ({exc})") from None
            tls_mode = await start_tls(
                fake,
                ca_dir=args.ca_dir,
                port=args.port,
                ws_port=args.ws_port,
                proxy_port=args.proxy_port,
                stream_endpoint=args.stream_endpoint,
            )
        else:
            await fake.start(port=args.port, ws_port=args.ws_port, stream_endpoint=args.stream_endpoint)
    except OSError as exc:  # a busy or forbidden port: say so, no traceback
        await fake.stop()
        if exc.errno == errno.EADDRINUSE and args.port == DEFAULT_PORT:
            raise ConfigError(
                f"port {DEFAULT_PORT} on {args.host} is taken (another `fakeding serve`?): stop "
                f"that one, or pick another port with --port N (--port 0: any free one)"
            ) from None
        raise ConfigError(
            f"cannot listen on {args.host} (--port {args.port}, --ws-port "
            f"{args.ws_port}, --proxy-port {args.proxy_port}): {exc.strerror or exc}"
        ) from None
    tune_gc()  # started: a long-running server from here on
    # Handlers go in before the first line is printed: a supervisor that stops the fake as soon
    # as it has read the endpoint must get a clean exit, not a death by the default SIGTERM.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"fakeding is serving on {fake.http_url} (stream: {fake.ws_endpoint})")
    for client_id, secret in apps:
        print(printable(f"  app clientId={client_id} clientSecret={secret}"))
    for robot in fake.custom_robots():
        print(
            printable(
                f"  custom robot {robot['name']!r} in {robot['conversationId']} (token "
                f"{robot['accessToken']}): POST {fake.http_url}/robot/send?"
                "access_token=<token>"
            )
        )
    if loaded:
        print(
            printable(
                f"  card templates ({len(loaded)}) from {args.templates}: " + ", ".join(t.id for t in loaded)
            )
        )
    else:
        print(
            "  card templates: none (any cardTemplateId is accepted and cards are not "
            "drawn; --templates DIR loads card-platform exports)"
        )
    if fake.scenarios_dir is not None:
        print(printable(f"  scenarios: {fake.scenarios_dir} (the emulator's Replay pane lists them)"))
    if tls_mode is not None:
        print(f"  CA: {tls_mode.ca.ca_cert} (Java truststore: {tls_mode.ca.truststore})")
        if tls_mode.proxy is not None:
            print(f"  proxy: http://127.0.0.1:{tls_mode.proxy.port} (DingTalk hosts only)")
    from fakeding.core.tls.env import Facts, language_env, shell_lines

    print("point a Python robot at it (before the SDK is imported):")
    facts = Facts(fake.http_url, fake.ws_endpoint, fake.tls)
    for line in shell_lines(language_env("python", facts)).splitlines():
        if line.startswith("export"):
            print(f"  {line}")
    print(
        f"other languages: fakeding env --lang node|go|java --url {fake.http_url}"
        + (f" --ca-dir {tls_mode.ca.directory}" if tls_mode else "")
    )
    for line in control_banner(
        fake.http_url, fake.control_token, made=args.control_token is None, host=settings.host
    ):
        print(printable(line))
    print("Ctrl-C stops it.", flush=True)
    if args.open:
        import webbrowser

        page = f"{fake.http_url}/" + (f"?token={fake.control_token}" if fake.control_token else "")
        if not await asyncio.to_thread(webbrowser.open, page):
            print(
                f"fakeding: no browser could be opened; open {fake.http_url}/ yourself",
                file=sys.stderr,
                flush=True,
            )
    console = None
    if args.verbose:
        from fakeding.aio.live import Console, feed_of

        console = Console(doctor=fake.doctor)
        feed_of(fake).add_sink(console)
    await stop.wait()
    if tls_mode is not None:
        await tls_mode.stop()
    await fake.stop()
    if console is not None:
        print(console.summary(), flush=True)


def control_banner(url: str, token: str | None, *, made: bool, host: str = "127.0.0.1") -> list[str]:
    """How to reach the control API and the emulator; with a token, how to send it."""
    if token is None:
        return [f"control API: {url}/_fakeding/health, /_fakeding/messages, ...", f"emulator: {url}/"]
    # A token made here must be shown to be usable; one the user chose stays out of the log.
    shown, why = (
        (token, f"made for this run; choose one with --control-token or ${TOKEN_ENV}")
        if made
        else ("TOKEN", "TOKEN: the one you gave")
    )
    page = url
    if host in ("0.0.0.0", "::", ""):  # every address: browsers refuse 0.0.0.0, name loopback
        page = f"{url.partition('://')[0]}://127.0.0.1:{url.rpartition(':')[2]}"
    lines = [
        f"control API: {url}/_fakeding/... is token-protected (it serves beyond loopback "
        f"or was given a token): send 'Authorization: Bearer {shown}' ({why})",
        f"emulator: {page}/?token={shown}",
    ]
    if page != url:
        lines.append("  (from elsewhere, use this machine's address in place of 127.0.0.1)")
    return lines


def _env(args: argparse.Namespace) -> int:
    """Ask a running fake what ``--lang`` must set and print it as shell lines."""
    url = f"{args.url.rstrip('/')}/_fakeding/env?lang={args.lang}"
    context = None
    if url.startswith("https://"):
        ca = (args.ca_dir or Path.home() / ".fakeding" / "ca").expanduser() / "ca.pem"
        if not ca.exists():
            raise ConfigError(f"{url} is https: expected the fake's CA at {ca}; pass --ca-dir")
        context = ssl.create_default_context(cafile=str(ca))
    headers = {"Authorization": f"Bearer {args.control_token}"} if args.control_token else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=10, context=context
        ) as resp:
            answer: dict[str, Any] = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
        raise ConfigError(f"{url}: {exc.code} {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ConfigError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None
    from fakeding.core.tls.env import shell_lines

    sys.stdout.write(shell_lines(answer))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `fakeding`: what it does and how to start
        parser.print_help()
        return 0
    try:
        if args.command == "serve":
            asyncio.run(_serve(args))
            return 0
        if args.command == "env":
            return _env(args)
        if args.command == "demo":
            print(
                "fakeding: the demo runs the reference robot; run it with "
                "`python -m bot demo [--locale en|zh]`",
                file=sys.stderr,
            )
            return 2
        if args.command == "record":
            from fakeding.relay import command as record_command
            from fakeding.relay.edge import RelayError

            try:
                return record_command.run(args)
            except RelayError as exc:
                print(f"fakeding record: {printable(str(exc))}", file=sys.stderr)
                return exc.exit_code
        if args.command == "load":
            from fakeding.testing.load import run_plan

            if args.capacity is not None and args.capacity < 1:
                raise ConfigError(
                    f"--capacity: expected a number of runs of at least 1, found {args.capacity}"
                )
            text, code = run_plan(
                args.plan,
                json_path=args.json,
                html_path=args.html,
                judge_url=args.judge,
                settle=args.settle,
                capacity_runs=args.capacity,
                progress=lambda line: print(line, file=sys.stderr, flush=True),
            )
            print(text, end="")
            return code
        if args.command == "probe":
            from fakeding.testing.probe import command as probe_command

            return probe_command.run(args)
        if args.command == "card":
            return run_card(args)
        if args.command == "scenario":
            if args.action == "diff":
                from fakeding.testing.scenario_diff import diff_files, diff_snapshot_sets

                if args.snapshots is not None:
                    report, code = diff_snapshot_sets(*args.snapshots)
                elif args.file is None:
                    raise ConfigError(
                        "scenario diff: expected FILE with --robot A --robot B, or --snapshots DIR_A DIR_B"
                    )
                else:
                    report, code = diff_files(Path(args.file), args.robot)
                print(report, end="")
                return code
            from fakeding.testing.scenarios.cli import run_files

            return run_files(args.files, robot=args.robot)
    except (FakedingError, MissingExtra) as exc:
        # it may quote the input: control characters escaped, its own line breaks kept
        print("fakeding: " + "\n".join(map(printable, str(exc).split("\n"))), file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
