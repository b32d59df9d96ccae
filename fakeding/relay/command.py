"""``fakeding record``: serve as DingTalk to a robot, relay to the real one, save a scenario."""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fakeding.core.exceptions import ConfigError
from fakeding.core.profiles import PROFILES, load_profile
from fakeding.core.terminal import printable
from fakeding.relay.edge import DINGTALK, Relay, cassette_path


def add_parser(sub: Any, app_type: Callable[[str], tuple[str, str]]) -> None:
    record = sub.add_parser(
        "record",
        help="relay a robot to DingTalk (or any upstream) and save the session as a "
        "scenario and a cassette when interrupted",
    )
    record.add_argument(
        "--upstream",
        default=DINGTALK,
        metavar="URL",
        help=f"the platform to relay to (default {DINGTALK}; a fake's URL works)",
    )
    record.add_argument(
        "--app",
        type=app_type,
        required=True,
        metavar="CLIENT_ID:CLIENT_SECRET",
        help="the robot's app; the secret is never written",
    )
    record.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE.yaml",
        help="the scenario to write (the cassette goes next to it, FILE.cassette.json)",
    )
    record.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    record.add_argument("--port", type=int, default=0, help="HTTP port (default: a free one)")
    record.add_argument("--ws-port", type=int, default=0, help="Stream port (default: a free one)")
    record.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS and WSS with the local CA (for robots other than Python)",
    )
    record.add_argument(
        "--ca-dir", type=Path, default=None, help="with --tls: the CA's folder (default ~/.fakeding/ca)"
    )
    record.add_argument(
        "--proxy-port",
        type=int,
        default=None,
        help="with --tls: a CONNECT proxy on 127.0.0.1 for HTTPS_PROXY (0: a "
        "free port), for SDKs that hard-code api.dingtalk.com (Node)",
    )
    record.add_argument(
        "--upstream-ca",
        type=Path,
        default=None,
        metavar="PEM",
        help="a CA bundle to trust for an https upstream (e.g. a fake's ca.pem)",
    )
    record.add_argument(
        "--keep-names",
        action="store_true",
        help="keep people's and groups' names (ids and tokens are still replaced)",
    )
    record.add_argument("--name", default=None, help="the scenario's name")
    record.add_argument(
        "--profile",
        metavar="NAME|FILE",
        default=None,
        help="the platform profile the upstream behaves as (documented, "
        "observed, or a .toml file); the scenario replays under it",
    )


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"--out: expected a FILE.yaml, found {str(out)!r}")
    return asyncio.run(_record(args))


async def _record(args: argparse.Namespace) -> int:
    client_id, secret = args.app
    profile = args.profile
    if profile is not None:
        load_profile(profile)  # a bad name or file is an error now, not at the end
        if profile not in PROFILES:
            profile = str(Path(profile).expanduser().resolve())
    upstream_ssl = None
    if args.upstream_ca is not None:
        if not args.upstream_ca.is_file():
            raise ConfigError(f"--upstream-ca: expected a PEM file, found no file at {args.upstream_ca}")
        upstream_ssl = ssl.create_default_context(cafile=str(args.upstream_ca))
    relay = Relay(args.upstream, client_id, secret, host=args.host, upstream_ssl=upstream_ssl)
    if args.proxy_port is not None and not args.tls:
        raise ConfigError("--proxy-port needs --tls (the proxy only tunnels TLS to the relay)")
    ca: Any = None
    proxy: Any = None
    if args.tls:
        try:
            from fakeding.tls.ca import ensure_ca
        except ImportError as exc:
            raise ConfigError(f"--tls needs the tls extra: pip install 'fakeding[tls]' ({exc})") from None
        ca = ensure_ca(args.ca_dir)
    await relay.open_session()
    try:
        await relay.check_upstream()
        await relay.start(
            port=args.port, ws_port=args.ws_port, server_ssl=ca.server_context() if ca is not None else None
        )
        if args.proxy_port is not None:
            from fakeding.tls.proxy import ConnectProxy, Targets

            proxy = ConnectProxy(
                Targets(relay.host, relay.http_port, relay.ws_port), upstream_ssl=ca.client_context()
            )
            await proxy.start("127.0.0.1", args.proxy_port)
    except OSError as exc:
        await relay.stop()
        raise ConfigError(
            f"cannot listen on {args.host} (--port {args.port}, --ws-port "
            f"{args.ws_port}): {exc.strerror or exc}"
        ) from None
    except BaseException:
        await relay.stop()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"fakeding is serving on {relay.http_url} (stream: {relay.ws_endpoint})")
    print(printable(f"  recording app clientId={client_id}, relayed to {relay.upstream}"))
    print(f"  on Ctrl-C or SIGTERM: {out_line(args.out)}")
    for line in robot_lines(relay, ca, proxy):
        print(line)
    print("Ctrl-C stops it and writes the files.", flush=True)
    await stop.wait()
    if proxy is not None:
        await proxy.stop()
    await relay.stop()
    scenario, tape = relay.write(args.out, keep_names=args.keep_names, name=args.name, profile=profile)
    pushes = sum(1 for e in relay.entries if e["kind"] == "push")
    calls = sum(1 for e in relay.entries if e["kind"] == "http")
    print(f"wrote {scenario} and {tape} ({pushes} frames pushed, {calls} OpenAPI calls)", flush=True)
    return 0


def out_line(out: Path) -> str:
    return f"writes {out} and {cassette_path(out)}"


def robot_lines(relay: Relay, ca: Any, proxy: Any) -> list[str]:
    """How to point a robot at the relay: Python's variable, or TLS mode's for others."""
    if ca is None:
        return [
            "point a Python robot at it (before the SDK is imported):",
            f"  export DINGTALK_OPENAPI_ENDPOINT={relay.http_url}",
        ]
    from fakeding.core.tls.env import Facts, Tls, language_env, shell_lines

    tls = Tls(
        ca_cert=str(ca.ca_cert),
        bundle=str(ca.bundle),
        truststore=str(ca.truststore),
        proxy_url=f"http://127.0.0.1:{proxy.port}" if proxy is not None else None,
    )
    lines = [f"  CA: {ca.ca_cert}"]
    if proxy is not None:
        lines.append(f"  proxy: http://127.0.0.1:{proxy.port} (DingTalk hosts only)")
    facts = Facts(relay.http_url, relay.ws_endpoint, tls)
    for lang in ("python", "node"):
        lines.append(f"point a {lang.title()} robot at it:")
        lines += [
            f"  {line}"
            for line in shell_lines(language_env(lang, facts)).splitlines()
            if line.startswith("export")
        ]
    return lines
