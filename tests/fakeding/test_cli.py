"""``fakeding serve`` as a real process: what it prints, what it serves, how it stops."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
EXPORT = re.compile(r"^\s*export DINGTALK_OPENAPI_ENDPOINT=(http://127\.0\.0\.1:\d+)$")
GATEWAY = "/v1.0/gateway/connections/open"


class Serving:
    def __init__(
        self,
        proc: subprocess.Popen[str],
        lines: list[str],
        url: str,
        more: queue.Queue[str | None] | None = None,
    ) -> None:
        self.proc = proc
        self.lines = lines
        self.url = url
        self._more = more

    def read_until(self, text: str) -> list[str]:
        """The lines printed after the endpoint line, up to the first containing ``text``."""
        assert self._more is not None
        out: list[str] = []
        while not out or text not in out[-1]:
            line = self._more.get(timeout=20)
            assert line is not None, f"fakeding serve exited before printing {text!r}: {out}"
            out.append(line)
        return out


@contextmanager
def serve(*args: str, env: dict[str, str] | None = None) -> Iterator[Serving]:
    """Start ``fakeding serve`` and yield once it printed its endpoint line."""
    cmd = [sys.executable, "-m", "fakeding.cli", "serve", "--port", "0", *args]
    with subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        seen: list[str] = []
        url = None
        try:
            while url is None:
                line = lines.get(timeout=20)
                if line is None:
                    err = proc.stderr.read() if proc.stderr else ""
                    pytest.fail(f"fakeding serve exited early: {seen}\n{err}")
                seen.append(line)
                match = EXPORT.match(line)
                if match:
                    url = match.group(1)
            yield Serving(proc, seen, url, lines)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            reader.join(timeout=10)


def serve_refused(*args: str) -> subprocess.CompletedProcess[str]:
    """``fakeding serve --port 0 ARGS`` run to its end: for options it refuses before serving."""
    cmd = [sys.executable, "-m", "fakeding.cli", "serve", "--port", "0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def _gateway(url: str, client_id: str, secret: str) -> requests.Response:
    body: dict[str, Any] = {
        "clientId": client_id,
        "clientSecret": secret,
        "subscriptions": [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}],
    }
    return requests.post(url + GATEWAY, json=body, timeout=10)


def _stop(proc: subprocess.Popen[str], sig: signal.Signals) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout=5)


def test_serve_with_an_app_serves_it_and_exits_0_on_sigterm() -> None:
    with serve("--app", "id1:sec1") as fake:
        assert "  app clientId=id1 clientSecret=sec1" in fake.lines
        assert not any("fakeding-client" in line for line in fake.lines)
        assert fake.lines[0].startswith(f"fakeding is serving on {fake.url} (stream: ws://127.0.0.1:")
        health = requests.get(fake.url + "/_fakeding/health", timeout=10)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        r = _gateway(fake.url, "id1", "sec1")
        assert r.status_code == 200, r.text
        endpoint = r.json()["endpoint"]
        assert re.fullmatch(r"ws://127\.0\.0\.1:\d+/connect", endpoint)
        assert f"(stream: {endpoint})" in fake.lines[0]
        assert _gateway(fake.url, "id1", "wrong").json()["code"] == "authFailed"
        assert _gateway(fake.url, "fakeding-client", "fakeding-secret").status_code == 401
        assert _stop(fake.proc, signal.SIGTERM) == 0


def test_serve_registers_several_apps() -> None:
    with serve("--app", "id1:sec1", "--app", "id2:sec2") as fake:
        assert _gateway(fake.url, "id1", "sec1").status_code == 200
        assert _gateway(fake.url, "id2", "sec2").status_code == 200
        assert _stop(fake.proc, signal.SIGTERM) == 0


def test_serve_without_app_uses_the_default_app_and_exits_0_on_sigint() -> None:
    with serve() as fake:
        assert "  app clientId=fakeding-client clientSecret=fakeding-secret" in fake.lines
        assert _gateway(fake.url, "fakeding-client", "fakeding-secret").status_code == 200
        assert _stop(fake.proc, signal.SIGINT) == 0


@pytest.mark.parametrize("value", ["badvalue", "id1:", ":sec1"])
def test_serve_with_a_malformed_app_exits_2(value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fakeding.cli", "serve", "--port", "0", "--app", value],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"expected CLIENT_ID:CLIENT_SECRET, found {value!r}" in result.stderr
    assert "--app" in result.stderr
    assert result.stdout == ""


def test_sigterm_right_after_the_endpoint_line_still_exits_0() -> None:
    # A supervisor may stop the fake as soon as it has read the endpoint: the signal handlers
    # must already be installed when that line appears.
    with serve() as fake:
        assert _stop(fake.proc, signal.SIGTERM) == 0


@pytest.mark.parametrize("option", ["--port", "--ws-port"])
def test_serve_on_a_busy_port_exits_2_without_a_traceback(option: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cmd = [sys.executable, "-m", "fakeding.cli", "serve", "--port", "0", option, str(port)]
        result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.startswith("fakeding: cannot listen on 127.0.0.1")
    assert f"{option} {port}" in result.stderr and "address already in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_serve_retains_a_bounded_history_by_default() -> None:
    from fakeding.cli import build_parser, serve_settings

    settings, _ = serve_settings(build_parser().parse_args(["serve"]))
    assert (settings.recorder_limit, settings.history_limit) == (100_000, 10_000)
    settings, _ = serve_settings(
        build_parser().parse_args(["serve", "--recorder-limit", "0", "--history-limit", "50"])
    )
    assert (settings.recorder_limit, settings.history_limit) == (None, 50)


def test_serve_refuses_a_negative_limit(capsys: pytest.CaptureFixture[str]) -> None:
    from fakeding.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--recorder-limit", "-5"])
    assert "expected a whole number >= 0, found '-5'" in capsys.readouterr().err


# -- the control token ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["flag", "env"])
def test_serve_with_a_control_token_guards_the_control_api_and_says_how(how: str) -> None:
    token = "cli-t0ken-for-tests"
    args, env = (
        (["--control-token", token], None)
        if how == "flag"
        else ([], dict(os.environ, FAKEDING_CONTROL_TOKEN=token))
    )
    with serve(*args, env=env) as fake:
        banner = fake.read_until("Ctrl-C")
        assert any(
            line.startswith(f"control API: {fake.url}/_fakeding/... is token-protected")
            and "'Authorization: Bearer TOKEN'" in line
            for line in banner
        ), banner
        assert f"emulator: {fake.url}/?token=TOKEN" in banner
        assert token not in "\n".join(fake.lines + banner)  # a token the user chose stays unprinted
        r = requests.get(fake.url + "/_fakeding/timeline", timeout=10)
        assert r.status_code == 401 and r.json()["field"] == "Authorization"
        r = requests.get(
            fake.url + "/_fakeding/timeline", timeout=10, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 200
        assert _gateway(fake.url, "fakeding-client", "fakeding-secret").status_code == 200
        env_cmd = [sys.executable, "-m", "fakeding.cli", "env", "--lang", "python", "--url", fake.url]
        plain = dict(os.environ)
        plain.pop("FAKEDING_CONTROL_TOKEN", None)
        refused = subprocess.run(env_cmd, cwd=ROOT, capture_output=True, text=True, timeout=30, env=plain)
        assert refused.returncode == 2 and "401" in refused.stderr
        assert "expected this fake's control token" in refused.stderr
        ok = subprocess.run(
            [*env_cmd, "--control-token", token],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            env=plain,
        )
        assert ok.returncode == 0 and "DINGTALK_OPENAPI_ENDPOINT" in ok.stdout, ok.stderr
        assert _stop(fake.proc, signal.SIGTERM) == 0


def test_serve_on_loopback_needs_no_token_and_says_so() -> None:
    with serve() as fake:
        banner = fake.read_until("Ctrl-C")
        assert f"emulator: {fake.url}/" in banner and not any("token" in x for x in banner)
        assert requests.get(fake.url + "/_fakeding/timeline", timeout=10).status_code == 200
        assert _stop(fake.proc, signal.SIGTERM) == 0


def test_the_banner_of_a_fake_beyond_loopback_shows_the_token_it_made() -> None:
    from fakeding.cli import control_banner

    lines = control_banner("http://0.0.0.0:8080", "made-token", made=True, host="0.0.0.0")
    assert lines[0] == (
        "control API: http://0.0.0.0:8080/_fakeding/... is token-protected (it "
        "serves beyond loopback or was given a token): send 'Authorization: "
        "Bearer made-token' (made for this run; choose one with "
        "--control-token or $FAKEDING_CONTROL_TOKEN)"
    )
    assert lines[1:] == [
        "emulator: http://127.0.0.1:8080/?token=made-token",
        "  (from elsewhere, use this machine's address in place of 127.0.0.1)",
    ]
    assert control_banner("https://:::8443", "t", made=True, host="::")[1] == (
        "emulator: https://127.0.0.1:8443/?token=t"
    )


def test_bare_fakeding_prints_help_and_version_says_which() -> None:
    from fakeding import __version__

    bare = subprocess.run(
        [sys.executable, "-m", "fakeding.cli"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert bare.returncode == 0 and bare.stderr == ""
    assert bare.stdout.startswith("usage: fakeding") and "examples:" in bare.stdout
    assert "``" not in bare.stdout  # no reStructuredText markup in what people read
    version = subprocess.run(
        [sys.executable, "-m", "fakeding.cli", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert version.stdout.strip() == f"fakeding {__version__}"
    for command in ("serve", "env", "scenario"):
        helped = subprocess.run(
            [sys.executable, "-m", "fakeding.cli", command, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert helped.returncode == 0 and "examples:" in helped.stdout, command


def test_python_dash_m_fakeding_is_the_command_with_its_exit_codes(tmp_path: Path) -> None:
    """For a venv whose scripts folder is not on PATH: the same command, the same exit codes."""
    from fakeding import __version__

    version = subprocess.run(
        [sys.executable, "-m", "fakeding", "--version"], capture_output=True, text=True, timeout=30
    )
    assert (version.returncode, version.stdout.strip()) == (0, f"fakeding {__version__}")
    missing = tmp_path / "missing.yaml"
    refused = subprocess.run(
        [sys.executable, "-m", "fakeding", "load", str(missing)], capture_output=True, text=True, timeout=30
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "cannot read the load plan" in refused.stderr and str(missing) in refused.stderr


def test_the_default_port_is_8089_and_a_taken_one_says_what_to_do() -> None:
    from fakeding.cli import DEFAULT_PORT, build_parser

    assert DEFAULT_PORT == 8089 and build_parser().parse_args(["serve"]).port == 8089
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            busy.bind(("127.0.0.1", DEFAULT_PORT))
            busy.listen()
        except OSError:
            pass  # something else holds 8089 already: the same situation for `serve`
        result = subprocess.run(
            [sys.executable, "-m", "fakeding.cli", "serve"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "port 8089 on 127.0.0.1 is taken" in result.stderr
    assert "--port 0" in result.stderr


def test_serve_open_opens_the_emulator_in_the_browser(tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\npathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n"
    )
    browser.chmod(0o755)
    env = dict(os.environ, BROWSER=f"{browser} %s")
    with serve("--open", env=env) as fake:
        deadline = time.monotonic() + 20
        while not opened.exists():
            assert time.monotonic() < deadline, "serve --open never ran the browser"
            time.sleep(0.05)
        assert opened.read_text() == fake.url + "/"
        assert _stop(fake.proc, signal.SIGTERM) == 0
