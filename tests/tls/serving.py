"""``fakeding serve --tls`` as a real process, and clients that know only what it hands out.

Every child (the fake, Node, Java, our robot) gets this process's environment without any
variable that could point it at the fake by another way (``DINGTALK_OPENAPI_ENDPOINT``, proxies,
CA files), plus exactly what ``/_fakeding/env?lang=L`` answers.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
FIRST = re.compile(r"^fakeding is serving on (https://127\.0\.0\.1:\d+) \(stream: (\S+)\)$")
SCRUBBED = (
    "DINGTALK_OPENAPI_ENDPOINT",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "JAVA_TOOL_OPTIONS",
    "CURL_CA_BUNDLE",
)


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SCRUBBED}
    return {**env, **(extra or {})}


class Lines:
    """A child's stdout lines, read on a thread so a test can wait for one."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        self._proc = proc
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait(self, match: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
                if time.monotonic() >= deadline:
                    pytest.fail(f"waited {timeout:g} s for {what}; the child printed: {self.seen}")
            if line is None:
                err = self._proc.stderr.read() if self._proc.stderr else ""
                pytest.fail(
                    f"the child exited (code {self._proc.wait()}) before {what}; "
                    f"it printed {self.seen}\nstderr: {err[-4000:]}"
                )
            if line:
                self.seen.append(line)
                if match(line):
                    return line


class TlsFake:
    def __init__(self, url: str, stream: str, ca_dir: Path, lines: Lines) -> None:
        self.url = url
        self.stream_endpoint = stream
        self.ca_dir = ca_dir
        self.ca = str(ca_dir / "ca.pem")
        self.lines = lines

    def env_for(self, lang: str) -> dict[str, Any]:
        r = requests.get(f"{self.url}/_fakeding/env", params={"lang": lang}, verify=self.ca, timeout=10)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def control(self, method: str, path: str, body: Any = None) -> Any:
        r = requests.request(method, f"{self.url}/_fakeding/{path}", json=body, verify=self.ca, timeout=10)
        assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def wait_for(
        self, kind: str, where: Callable[[dict[str, Any]], bool] = lambda r: True, timeout: float = 30
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.control("GET", f"timeline?kind={kind}") if where(r)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no {kind!r} record within {timeout:g} s; timeline: "
                    f"{json.dumps(self.control('GET', 'timeline'))[-3000:]}"
                )
            time.sleep(0.05)


@contextmanager
def serve_tls(ca_dir: Path, *args: str) -> Iterator[TlsFake]:
    cmd = [
        sys.executable,
        "-m",
        "fakeding.cli",
        "serve",
        "--tls",
        "--ca-dir",
        str(ca_dir),
        "--port",
        "0",
        *args,
    ]
    with subprocess.Popen(
        cmd, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            lines = Lines(proc)
            first = FIRST.match(lines.wait(lambda s: bool(FIRST.match(s)), "the serving line"))
            assert first is not None
            lines.wait(lambda s: s.startswith("Ctrl-C"), "the last start-up line")
            yield TlsFake(first.group(1), first.group(2), ca_dir, lines)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@contextmanager
def child(cmd: list[str], env: dict[str, str], cwd: Path) -> Iterator[Lines]:
    """Run a client process for the length of the block; its stdout is ``Lines``."""
    with subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            yield Lines(proc)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
