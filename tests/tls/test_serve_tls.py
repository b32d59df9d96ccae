"""``fakeding serve --tls --proxy-port 0`` as a real process: Python clients that know only what
``/_fakeding/env?lang=python`` hands out reach it as ``https://api.dingtalk.com``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import requests

from .serving import ROOT, TlsFake, clean_env, serve_tls

GATEWAY = "https://api.dingtalk.com/v1.0/gateway/connections/open"
# A child Python that uses only its environment: requests reads HTTPS_PROXY and
# REQUESTS_CA_BUNDLE itself; the official SDK's gateway call is the same requests call.
CLIENT = """
import json, sys, requests
out = {}
r = requests.post(sys.argv[1], json={"clientId": "fakeding-client", "clientSecret": "fakeding-secret",
    "subscriptions": [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]}, timeout=10)
out["gateway"] = [r.status_code, r.json()]
t = requests.get("https://oapi.dingtalk.com/gettoken",
                 params={"appkey": "fakeding-client", "appsecret": "fakeding-secret"}, timeout=10)
out["token"] = [t.status_code, t.json()]
try:
    requests.get("https://example.com/", timeout=10)
    out["other"] = "reached"
except requests.exceptions.ProxyError as exc:
    out["other"] = str(exc)
print(json.dumps(out))
"""


def _run_client(fake: TlsFake) -> dict[str, object]:
    env = clean_env(fake.env_for("python")["env"])
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, GATEWAY], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_python_reaches_the_fake_as_api_dingtalk_com_through_the_proxy(ca_dir: Path) -> None:
    with serve_tls(ca_dir, "--proxy-port", "0") as fake:
        env = fake.env_for("python")
        assert set(env["env"]) == {"HTTPS_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"}
        assert env["openapi"] == fake.url and env["stream_endpoint"] == fake.stream_endpoint
        out = _run_client(fake)
        status, body = out["gateway"]  # type: ignore[misc]
        assert status == 200, body
        assert body["endpoint"] == fake.stream_endpoint
        assert fake.stream_endpoint.startswith("wss://127.0.0.1:")
        status, token = out["token"]  # type: ignore[misc]
        assert status == 200 and token["errcode"] == 0 and token["access_token"], token
        assert "403" in str(out["other"]), out["other"]
        api = fake.control("GET", "timeline?kind=api")
        assert [r["route"] for r in api] == ["POST /v1.0/gateway/connections/open", "GET /gettoken"]


def test_the_proxy_refuses_other_hosts_naming_the_allowed_ones(ca_dir: Path) -> None:
    with serve_tls(ca_dir, "--proxy-port", "0") as fake:
        proxy = fake.env_for("node")["env"]["HTTPS_PROXY"]
        host, port = proxy.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            answer = s.makefile("rb").read().decode()
        assert answer.startswith("HTTP/1.1 403 Forbidden\r\n")
        assert "refused example.com:443" in answer
        assert "api.dingtalk.com, oapi.dingtalk.com, wss-open-connection.dingtalk.com" in answer


def test_the_ca_folder_is_reused_across_restarts(ca_dir: Path) -> None:
    with serve_tls(ca_dir) as fake:
        first = (ca_dir / "ca.pem").read_bytes()
        assert requests.get(fake.url + "/_fakeding/health", verify=fake.ca, timeout=10).json() == {
            "status": "ok"
        }
        assert fake.stream_endpoint.startswith("wss://127.0.0.1:")
    with serve_tls(ca_dir) as fake:
        assert (ca_dir / "ca.pem").read_bytes() == first
        assert requests.get(fake.url + "/_fakeding/health", verify=fake.ca, timeout=10).ok
        assert fake.control("GET", "env?lang=python")["env"]["DINGTALK_OPENAPI_ENDPOINT"] == fake.url


def test_fakeding_env_prints_export_lines(ca_dir: Path) -> None:
    with serve_tls(ca_dir, "--proxy-port", "0") as fake:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "fakeding.cli",
                "env",
                "--lang",
                "node",
                "--url",
                fake.url,
                "--ca-dir",
                str(ca_dir),
            ],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        exports = [line for line in done.stdout.splitlines() if line.startswith("export ")]
        env = fake.env_for("node")["env"]
        assert exports == [f"export {k}={v}" for k, v in env.items()]
        assert "# hosts file alternative: 127.0.0.1 api.dingtalk.com" in done.stdout


def test_proxy_port_without_tls_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fakeding.cli", "serve", "--proxy-port", "0"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--proxy-port needs --tls" in done.stderr
