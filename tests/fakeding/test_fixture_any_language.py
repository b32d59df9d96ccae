"""``fakeding_robot_command`` runs robots of any language as scenarios do: a Node robot (the
official dingtalk-stream npm SDK, which calls https://api.dingtalk.com) gets the TLS side, the
proxy and Node's variables from the plain session fake, and the proxy reaches nothing else."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fakeding import ThreadedFakeDing
from tests.node_install import npm_ci

ROBOTS = Path(__file__).resolve().parents[2] / "scenarios" / "byo" / "robots"


def connect_through(proxy_url: str, authority: str) -> str:
    """The proxy's status line for ``CONNECT authority``."""
    proxy = urlsplit(proxy_url)
    with socket.create_connection((proxy.hostname or "", proxy.port or 0), timeout=5) as sock:
        sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
        return sock.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def test_a_node_robot_answers_through_the_tls_side(
    fakeding: ThreadedFakeDing, fakeding_robot_command: Any
) -> None:
    npm_ci(ROBOTS)
    robot = fakeding_robot_command(["node", str(ROBOTS / "node_bot.mjs")], cwd=ROBOTS)
    assert robot.env["NODE_EXTRA_CA_CERTS"].endswith("ca.pem")
    assert robot.env["HTTPS_PROXY"].startswith("http://127.0.0.1:")
    fakeding.send_message("hello from node", conversation_id="cidG", staff_id="alice")
    fakeding.wait_until(lambda: len(fakeding.cards()) == 1, timeout=20, what="the robot's card")
    bot = [e["text"] for e in fakeding.transcript("cidG") if e["who"] == "bot"]
    assert bot[0] == "node heard: hello from node"
    # the card went to https://api.dingtalk.com, through the proxy, to this fake
    sends = fakeding.timeline(["api"])
    assert any(r["route"].endswith("/interactiveCards/send") and r["status"] == 200 for r in sends)


def test_the_proxy_refuses_every_other_host(fakeding: ThreadedFakeDing) -> None:
    proxy = fakeding.tls_side().tls.proxy_url or ""
    assert connect_through(proxy, "api.dingtalk.com:443") == "HTTP/1.1 200 Connection established"
    assert connect_through(proxy, "example.com:443").startswith("HTTP/1.1 403")
