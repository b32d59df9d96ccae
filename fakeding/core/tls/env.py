"""What each language's official SDK must set to reach the fake, from the fake's own facts (pure).

Python's SDK reads ``DINGTALK_OPENAPI_ENDPOINT``; Node's, Go's and Java's hard-code
``https://api.dingtalk.com``, so they need TLS mode: the proxy (``HTTPS_PROXY``) or a hosts line,
and the fake's CA (``NODE_EXTRA_CA_CERTS``, ``SSL_CERT_FILE``, a JVM truststore). The answer
names only standard variables; nothing is redirected in code.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from fakeding.core.tls.names import DINGTALK_HOSTS, STREAM_HOST, TRUSTSTORE_PASSWORD

LANGS = ("python", "node", "go", "java")
NO_PROXY = "127.0.0.1,localhost"


class EnvError(ValueError):
    """A question the fake cannot answer: ``status`` and ``field`` for the HTTP answer."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class Tls:
    ca_cert: str
    bundle: str
    truststore: str
    proxy_url: str | None  # http://127.0.0.1:PORT when the CONNECT proxy runs


@dataclass(frozen=True)
class Facts:
    http_url: str
    ws_endpoint: str
    tls: Tls | None


def language_env(lang: str, facts: Facts) -> dict[str, Any]:
    """``{"lang", "env": {NAME: VALUE}, "hosts", "jvm_flags"?, "notes"}`` for ``lang``."""
    if lang not in LANGS:
        raise EnvError(400, "lang", f"lang: expected one of {', '.join(LANGS)}, found {lang!r}")
    tls = facts.tls
    hosts = [f"127.0.0.1 {' '.join(DINGTALK_HOSTS)}"] if tls else []
    notes: list[str] = []
    out: dict[str, Any] = {"lang": lang, "openapi": facts.http_url, "stream_endpoint": facts.ws_endpoint}
    if tls is None:
        if lang != "python":
            raise EnvError(
                409,
                "lang",
                f"{lang}'s SDK calls only https://api.dingtalk.com: start "
                "the fake with `fakeding serve --tls --proxy-port 0`",
            )
        return {
            **out,
            "env": {"DINGTALK_OPENAPI_ENDPOINT": facts.http_url},
            "hosts": [],
            "notes": ["set it before `import dingtalk_stream` (read once, at import)"],
        }
    env: dict[str, str] = {}
    proxied = tls.proxy_url is not None
    if proxied:
        assert tls.proxy_url is not None
        env |= {"HTTPS_PROXY": tls.proxy_url, "NO_PROXY": NO_PROXY}
        hosts_note = "or, instead of HTTPS_PROXY, add the hosts line and serve on port 443 (`--port 443`)"
    else:
        hosts_note = (
            "add the hosts line (the SDK dials port 443: serve with `--port 443`), "
            "or run `serve --proxy-port 0` for HTTPS_PROXY"
        )
    if lang == "python":
        env |= {"REQUESTS_CA_BUNDLE": tls.bundle, "SSL_CERT_FILE": tls.bundle}
        if not proxied:
            env["DINGTALK_OPENAPI_ENDPOINT"] = facts.http_url
            hosts_note = "the hosts line is needed only by clients hard-coding api.dingtalk.com"
        notes.append("SSL_CERT_FILE covers websockets and aiohttp (with trust_env=True for the proxy)")
    elif lang == "node":
        env["NODE_EXTRA_CA_CERTS"] = tls.ca_cert
        notes.append(
            "axios sends https through HTTPS_PROXY (1.7+ tunnels, older versions send "
            "absolute-form requests: both served); the ws package ignores it and dials "
            "the Stream endpoint directly"
        )
    elif lang == "go":
        env["SSL_CERT_FILE"] = tls.bundle
        notes.append("or, in code, client.WithOpenApiHost(openapi) with SSL_CERT_FILE alone")
    else:
        flags = [
            f"-Djavax.net.ssl.trustStore={tls.truststore}",
            "-Djavax.net.ssl.trustStoreType=PKCS12",
            f"-Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD}",
        ]
        if proxied:
            assert tls.proxy_url is not None
            host, _, port = tls.proxy_url.removeprefix("http://").rpartition(":")
            flags += [
                f"-Dhttps.proxyHost={host}",
                f"-Dhttps.proxyPort={port}",
                "-Dhttp.nonProxyHosts=localhost|127.0.0.1",
            ]
            notes.append(
                f"the SDK's netty websocket ignores https.proxyHost: give its builder "
                f'.proxy(new NetProxy("{host}", {port})) or add the hosts line'
            )
        # The JVM splits JAVA_TOOL_OPTIONS on whitespace and honours double quotes.
        env = {"JAVA_TOOL_OPTIONS": " ".join(f'"{f}"' if " " in f else f for f in flags)}
        out["jvm_flags"] = flags
        if not facts.ws_endpoint.startswith(f"wss://{STREAM_HOST}:"):
            notes.append(
                f"the Java SDK accepts only wss:// and rebuilds scheme://host:port/connect: "
                f"serve with --stream-endpoint wss://{STREAM_HOST}:{{port}}/connect"
            )
    notes.append(hosts_note)
    return {**out, "env": env, "hosts": hosts, "notes": notes}


def shell_lines(answer: dict[str, Any]) -> str:
    """The answer as POSIX shell: ``export`` lines, then hosts lines and notes as comments."""
    lines = [f"export {name}={shlex.quote(value)}" for name, value in answer["env"].items()]
    lines += [f"# hosts file alternative: {line}" for line in answer.get("hosts", [])]
    lines += [f"# {note}" for note in answer.get("notes", [])]
    return "\n".join(lines) + "\n"
