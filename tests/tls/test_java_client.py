"""A JDK-only client (``java.net.http``), trusting the generated PKCS12 truststore and using the
proxy only through the JVM flags ``/_fakeding/env?lang=java`` hands out, makes the gateway call to
``https://api.dingtalk.com`` and opens the advertised ``wss://`` endpoint the way the Java SDK
rebuilds it (``scheme://host:port/connect``); it gets a robot message and acks it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .serving import ROOT, child, clean_env, serve_tls

CLIENT = ROOT / "tests" / "java" / "FakedingClient.java"
FIX = "apt-get install -y default-jdk-headless (as root; .ci/run does it), or put a JDK 11+ `java` on PATH"


def java_binary() -> str:
    java = shutil.which("java")
    if java is None:
        pytest.fail(f"no `java` on PATH for the JDK client test: {FIX}")
    return java


def test_jdk_client_over_https_and_wss_through_the_proxy(ca_dir: Path) -> None:
    java = java_binary()
    stream = "wss://wss-open-connection.dingtalk.com:{port}/connect"
    with serve_tls(ca_dir, "--proxy-port", "0", "--stream-endpoint", stream) as fake:
        answer = fake.env_for("java")
        assert set(answer["env"]) == {"JAVA_TOOL_OPTIONS"}
        assert not any("--stream-endpoint" in note for note in answer["notes"])
        assert fake.stream_endpoint.startswith("wss://wss-open-connection.dingtalk.com:")
        gateway = "https://api.dingtalk.com/v1.0/gateway/connections/open"
        with child([java, str(CLIENT), gateway], clean_env(answer["env"]), ROOT) as lines:
            got = lines.wait(lambda s: s.startswith("GATEWAY "), "the gateway answer", timeout=90)
            assert got.startswith("GATEWAY 200 "), got
            assert json.loads(got.split(" ", 2)[2])["endpoint"] == fake.stream_endpoint
            opened = lines.wait(lambda s: s.startswith("OPEN "), "the websocket to open", timeout=30)
            port = urlsplit(fake.stream_endpoint).port
            assert opened == f"OPEN wss-open-connection.dingtalk.com:{port}"
            fake.wait_for("connect")
            fake.control(
                "POST",
                "messages",
                {
                    "conversation": {"id": "cidJava", "type": "group", "title": "Java"},
                    "sender": {"staffId": "bob", "nick": "Bob"},
                    "text": "hello java",
                },
            )
            frame = lines.wait(lambda s: s.startswith("FRAME ") and "CALLBACK" in s, "a CALLBACK frame")
            data = json.loads(json.loads(frame.removeprefix("FRAME "))["data"])
            assert data["text"]["content"].strip() == "hello java"
            lines.wait(lambda s: s == "DONE", "the client to ack and close")
        ack = fake.wait_for("ack", lambda r: r.get("topic") == "/v1.0/im/bot/messages/get")
        assert ack.get("code", 200) == 200
        assert fake.control("GET", "violations") == []
