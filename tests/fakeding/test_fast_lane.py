"""The fast lane answers the platform's own calls itself and hands everything else to aiohttp,
on the same connection, without losing or reordering a byte (fakeding/aio/fast_lane.py)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.aio import fast_lane
from fakeding.aio.fast_lane import FastSite, parse_head
from fakeding.core.record_kinds import RecordKind
from tests.fakeding.card_helpers import access_token

SEND = "/v1.0/robot/groupMessages/send"
BODY = {
    "robotCode": DEFAULT_CLIENT_ID,
    "openConversationId": "cidLane==",
    "msgKey": "sampleText",
    "msgParam": json.dumps({"content": "hello"}),
}


def _token(fake: ThreadedFakeDing) -> str:
    return access_token(fake)


def _request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, *, port: int
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _send_request(conn: Conn, token: str, body: dict[str, Any] | None = None) -> bytes:
    raw = json.dumps(body or BODY).encode()
    headers = {"Content-Type": "application/json", "x-acs-dingtalk-access-token": token}
    return _request("POST", SEND, raw, headers, port=conn.port)


class Conn:
    """A raw keep-alive connection that reads responses one at a time."""

    def __init__(self, fake: ThreadedFakeDing) -> None:
        self.port = int(fake.http_url.rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._more()
                size_line, _, self.buf = self.buf.partition(b"\r\n")
                size = int(size_line, 16)
                while len(self.buf) < size + 2:
                    self._more()
                body, self.buf = body + self.buf[:size], self.buf[size + 2 :]
                if size == 0:
                    break
        else:
            length = int(headers.get("content-length", "0"))
            while len(self.buf) < length:
                self._more()
            body, self.buf = self.buf[:length], self.buf[length:]
        return int(status_line.split()[1]), headers, body

    def in_lane(self, fake: ThreadedFakeDing) -> bool:
        """Whether the fake's fast lane (not aiohttp) holds this connection now."""
        [site] = [s for s in fake.fake._runner.sites if isinstance(s, FastSite)]  # type: ignore[union-attr]  # noqa: SLF001
        return self.sock.getsockname() in [lane.peer for lane in site.lanes]

    def closed(self) -> bool:
        """Whether the server closed the connection (after what was already read)."""
        try:
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, f"the server closed the connection; unread: {self.buf!r}"
        self.buf += chunk

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def conn(fakeding: ThreadedFakeDing) -> Any:
    c = Conn(fakeding)
    yield c
    c.close()


# -- what the lane takes (pure) -------------------------------------------------------------------


def test_the_lane_takes_a_plain_request_and_reads_its_headers_by_lower_case_name() -> None:
    head = (
        b"POST /v1.0/x?a=1&b=%20c HTTP/1.1\r\nHost: h\r\n"
        b"X-Token:  abc \r\nx-token: second\r\nContent-Length: 12"
    )
    assert parse_head(head) == (
        "POST",
        "/v1.0/x",
        "a=1&b=%20c",
        {"host": "h", "x-token": "abc", "content-length": "12"},
        12,
    )


def test_header_values_are_read_as_utf8_keeping_undecodable_bytes_as_aiohttp_does() -> None:
    parsed = parse_head(b"GET /x HTTP/1.1\r\nX-Nick: Jos\xc3\xa9\r\nX-Raw: a\xffb")
    assert parsed is not None and parsed[3] == {"x-nick": "José", "x-raw": "a\udcffb"}
    assert parsed[3].get("X-NICK") == "José" and "X-Raw" in parsed[3]


@pytest.mark.parametrize(
    "head",
    [
        b"POST /x HTTP/1.0\r\nHost: h",  # HTTP/1.0: keep-alive rules of its own
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked",
        b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3",
        b"GET /x HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket",
        b"POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3",
        b"POST /x HTTP/1.1\r\nContent-Length: -3",
        b"POST /x HTTP/1.1\r\nBad Name: 1",
        b"POST /x HTTP/1.1\r\n folded: 1",
        b"POST /x HTTP/1.1\r\nA: 1\nB: 2",  # a bare LF
        b"POST /x%41 HTTP/1.1\r\nHost: h",  # an escaped path: aiohttp decodes it
        b"POST http://h/x HTTP/1.1\r\nHost: h",  # absolute form
        b"POST  /x HTTP/1.1",
        b"\r\nPOST /x HTTP/1.1",
    ],
)
def test_the_lane_leaves_anything_unusual_to_aiohttp(head: bytes) -> None:
    assert parse_head(head) is None


# -- one connection, both servers -----------------------------------------------------------------


def test_a_platform_call_is_answered_by_the_lane_and_recorded_as_sent(
    fakeding: ThreadedFakeDing, conn: Conn
) -> None:
    conn.send(_send_request(conn, _token(fakeding)))
    status, headers, body = conn.response()
    reply = json.loads(body)
    assert status == 200 and headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-acs-request-id"] and headers["server"] == "DingTalk/1.0.0" and headers["date"]
    assert "processQueryKey" in reply
    [call] = [r for r in fakeding.timeline([RecordKind.API]) if r["route"] == f"POST {SEND}"]
    assert call["request"] == BODY and call["response"] == reply and call["status"] == 200


def test_a_control_call_after_platform_calls_on_the_same_connection_goes_to_aiohttp(
    fakeding: ThreadedFakeDing, conn: Conn
) -> None:
    token = _token(fakeding)
    conn.send(_send_request(conn, token))
    assert conn.response()[0] == 200
    assert conn.in_lane(fakeding)
    conn.send(_request("GET", "/_fakeding/health", port=conn.port))
    status, headers, body = conn.response()
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert "aiohttp" in headers["server"] and not conn.in_lane(fakeding)  # aiohttp's from here on
    conn.send(_send_request(conn, token))  # and the connection stays aiohttp's, still answering
    status, headers, _ = conn.response()
    assert status == 200 and headers["server"] == "DingTalk/1.0.0"


def test_pipelined_requests_are_answered_in_order_across_the_handoff(
    fakeding: ThreadedFakeDing, conn: Conn
) -> None:
    token = _token(fakeding)
    second = dict(BODY, msgParam=json.dumps({"content": "second"}))
    conn.send(
        _send_request(conn, token)
        + _send_request(conn, token, second)
        + _request("GET", "/_fakeding/health", port=conn.port)
    )
    first_reply, second_reply, health = conn.response(), conn.response(), conn.response()
    assert [first_reply[0], second_reply[0], health[0]] == [200, 200, 200]
    assert json.loads(health[2]) == {"status": "ok"}
    sent = [
        r["request"]["msgParam"] for r in fakeding.timeline([RecordKind.API]) if r["route"] == f"POST {SEND}"
    ]
    assert sent == [BODY["msgParam"], second["msgParam"]]


def test_a_request_split_across_packets_is_answered_once_whole(
    fakeding: ThreadedFakeDing, conn: Conn
) -> None:
    data = _send_request(conn, _token(fakeding))
    for cut in (10, len(data) - 5):  # mid request line, then mid body
        conn.send(data[:cut])
        time.sleep(0.05)
        conn.send(data[cut:])
        assert conn.response()[0] == 200
    assert len([r for r in fakeding.timeline([RecordKind.API]) if r["route"] == f"POST {SEND}"]) == 2


def test_a_chunked_body_goes_to_aiohttp_and_gets_the_same_answer(
    fakeding: ThreadedFakeDing, conn: Conn
) -> None:
    token = _token(fakeding)
    raw = json.dumps(BODY).encode()
    head = (
        f"POST {SEND} HTTP/1.1\r\nHost: 127.0.0.1:{conn.port}\r\nContent-Type: application/json\r\n"
        f"x-acs-dingtalk-access-token: {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    conn.send(head + f"{len(raw):x}\r\n".encode() + raw + b"\r\n0\r\n\r\n")
    status, headers, body = conn.response()
    assert status == 200 and "processQueryKey" in json.loads(body)
    calls = [r for r in fakeding.timeline([RecordKind.API]) if r["route"] == f"POST {SEND}"]
    assert [c["request"] for c in calls] == [BODY]


def test_a_body_over_the_limit_gets_aiohttps_413_in_dingtalks_shape(
    fakeding: ThreadedFakeDing, conn: Conn
) -> None:
    token = _token(fakeding)
    big = json.dumps(dict(BODY, msgParam="x" * (1024**2 + 10))).encode()
    headers = {"Content-Type": "application/json", "x-acs-dingtalk-access-token": token}
    conn.send(_request("POST", SEND, big, headers, port=conn.port))
    status, _, body = conn.response()
    assert status == 413 and json.loads(body)["code"] == "InvalidRequest"
    [violation] = fakeding.violations
    assert "413" in violation.fields["reason"]
    fakeding.reset()  # the violation was the point


def test_connection_close_is_honoured(fakeding: ThreadedFakeDing, conn: Conn) -> None:
    raw = json.dumps(BODY).encode()
    headers = {"x-acs-dingtalk-access-token": _token(fakeding), "Connection": "close"}
    conn.send(_request("POST", SEND, raw, headers, port=conn.port))
    status, reply_headers, _ = conn.response()
    assert status == 200 and reply_headers["connection"] == "close"
    assert conn.closed()


def test_a_delayed_reply_keeps_the_next_pipelined_request_behind_it(
    fakeding: ThreadedFakeDing, conn: Conn
) -> None:
    token = _token(fakeding)
    fakeding.fault({"kind": "api", "route": f"POST {SEND}", "delay": 0.3, "status": 200})
    started = time.monotonic()
    conn.send(_send_request(conn, token) + _request("GET", "/_fakeding/health", port=conn.port))
    first, health = conn.response(), conn.response()
    assert first[0] == 200 and "processQueryKey" in json.loads(first[2])
    assert health[0] == 200 and json.loads(health[2]) == {"status": "ok"}
    assert time.monotonic() - started >= 0.3


def test_a_fake_bug_in_the_lane_is_answered_recorded_and_logged(
    fakeding: ThreadedFakeDing, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _token(fakeding)

    def boom(*_: Any) -> Any:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(fakeding.fake.platform, "check_scope", boom)
    conn.send(_send_request(conn, token))
    status, _, body = conn.response()
    assert status == 500 and json.loads(body)["code"] == "fakeding.InternalError"
    assert "RuntimeError: injected failure" in json.loads(body)["message"]
    [error] = fakeding.fake_errors
    assert error.fields["where"] == f"POST {SEND}"
    monkeypatch.undo()
    fakeding.reset()  # the fake's error was the point


def test_stopping_the_fake_closes_connections_still_in_the_lane() -> None:
    with ThreadedFakeDing() as fake:
        c = Conn(fake)
        c.send(_send_request(c, _token(fake)))
        assert c.response()[0] == 200
    assert c.closed()
    c.close()


def test_an_idle_connection_is_closed_as_aiohttp_would(
    fakeding: ThreadedFakeDing, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fast_lane, "KEEPALIVE", 0.2)
    idle = Conn(fakeding)  # opened after the patch: its first check is due in 0.2 s
    idle.send(_send_request(idle, _token(fakeding)))
    assert idle.response()[0] == 200 and idle.in_lane(fakeding)
    idle.sock.settimeout(5)
    started = time.monotonic()
    assert idle.sock.recv(1) == b""  # closed by the fake
    assert time.monotonic() - started < 3
    idle.close()


# -- the same answers as aiohttp ------------------------------------------------------------------


def _both_ways(fake: ThreadedFakeDing, path: str, body: bytes, headers: dict[str, str]) -> list[Any]:
    """The same request answered by the lane (a Content-Length body) and by aiohttp (the same
    body chunked, which the lane hands over): [(status, parsed body)] for each, in that order."""
    out = []
    for chunked in (False, True):
        c = Conn(fake)
        head = [f"POST {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
        if chunked:
            head.append("Transfer-Encoding: chunked")
            payload = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n" if body else b"0\r\n\r\n"
        else:
            head.append(f"Content-Length: {len(body)}")
            payload = body
        c.send(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status, _, reply = c.response()
        out.append((status, json.loads(reply)))
        c.close()
    return out


def _message(**over: Any) -> bytes:
    body = {"conversation": {"id": "cidLane==", "type": "group"}, "sender": {"staffId": "u1"}, "text": "hi"}
    return json.dumps({**body, **over}).encode()


def test_a_user_message_is_sent_by_the_lane_as_by_aiohttp(fakeding: ThreadedFakeDing) -> None:
    port = fakeding.http_url.rsplit(":", 1)[1]
    headers = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json"}
    lane, aiohttp = _both_ways(fakeding, "/_fakeding/messages", _message(), headers)
    assert lane[0] == aiohttp[0] == 200 and set(lane[1]) == set(aiohttp[1]) == {
        "msgId",
        "messageId",
        "delivered",
    }
    assert lane[1]["msgId"] != aiohttp[1]["msgId"]  # two messages, each its own
    said = [e for e in fakeding.transcript() if e["text"] == "hi"]
    assert len(said) == 2


@pytest.mark.parametrize(
    ("headers", "body", "status", "field"),
    [
        ({"Host": "evil.example:{port}", "Content-Type": "application/json"}, _message(), 403, "Host"),
        ({"Host": "127.0.0.1:{port}", "Content-Type": "text/plain"}, _message(), 415, "Content-Type"),
        ({"Host": "127.0.0.1:{port}", "Origin": "http://evil.example"}, _message(), 403, "Origin"),
        ({"Host": "127.0.0.1:{port}", "Content-Type": "application/json"}, b"{not json", 400, "body"),
        (
            {"Host": "127.0.0.1:{port}", "Content-Type": "application/json"},
            _message(sender={}),
            400,
            "sender.staffId",
        ),
        ({"Host": "127.0.0.1:{port}", "Content-Type": "application/json"}, _message(text=None), 400, "text"),
    ],
)
def test_a_refused_user_message_gets_aiohttps_answer_word_for_word(
    fakeding: ThreadedFakeDing, headers: dict[str, str], body: bytes, status: int, field: str
) -> None:
    port = fakeding.http_url.rsplit(":", 1)[1]
    headers = {k: v.format(port=port) for k, v in headers.items()}
    lane, aiohttp = _both_ways(fakeding, "/_fakeding/messages", body, headers)
    assert lane == aiohttp
    assert lane[0] == status and lane[1]["field"] == field, lane
    assert fakeding.transcript() == []  # nothing was sent


def test_a_refused_platform_call_gets_aiohttps_answer_but_its_request_id(fakeding: ThreadedFakeDing) -> None:
    port = fakeding.http_url.rsplit(":", 1)[1]
    headers = {"Host": f"127.0.0.1:{port}", "x-acs-dingtalk-access-token": "not-a-token"}
    lane, aiohttp = _both_ways(fakeding, SEND, json.dumps(BODY).encode(), headers)
    assert lane[0] == aiohttp[0] == 400, (lane, aiohttp)
    assert {**lane[1], "requestid": ""} == {**aiohttp[1], "requestid": ""}
    fakeding.reset()  # the refusals were the point


def test_a_client_that_reads_no_answers_is_not_read_until_it_does(fakeding: ThreadedFakeDing) -> None:
    """Backpressure: pipelined requests whose answers are never read stop being read (and
    answered) once the answers fill the socket and the transport's buffer, as with aiohttp;
    all are answered, in order, once the client reads."""
    fakeding.update_settings({"qps_limit": None})  # (the fixture puts the settings back)
    port = int(fakeding.http_url.rsplit(":", 1)[1])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: answers pile up
    sock.connect(("127.0.0.1", port))
    sock.settimeout(10)
    token = _token(fakeding)
    raw = json.dumps(BODY).encode()
    headers = {"Content-Type": "application/json", "x-acs-dingtalk-access-token": token}
    one = _request("POST", SEND, raw, headers, port=port)
    n = 25_000  # answers of about 220 bytes: more than the kernel's largest send buffer (4 MiB)
    sender = threading.Thread(target=sock.sendall, args=(one * n,), daemon=True)
    sender.start()
    [site] = [s for s in fakeding.fake._runner.sites if isinstance(s, FastSite)]  # type: ignore[union-attr]  # noqa: SLF001
    deadline = time.monotonic() + 20
    while not any(lane.blocked for lane in list(site.lanes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    [lane] = [lane for lane in list(site.lanes) if lane.peer == sock.getsockname()]
    assert lane.blocked and lane.transport is not None and not lane.transport.is_reading()
    conn = Conn.__new__(Conn)
    conn.sock, conn.buf, conn.port = sock, b"", port
    statuses = [conn.response()[0] for _ in range(n)]
    sender.join(10)
    sock.close()
    assert statuses == [200] * n and not lane.blocked


def test_in_tls_mode_the_lane_answers_what_tls_decrypts_and_hands_over_the_rest(tmp_path: Path) -> None:
    """TLS mode (how Node, Go and Java robots reach the fake): the same lane behind TLS, and a
    handoff to aiohttp on the same TLS connection; the control route's guard sees https."""
    pytest.importorskip("cryptography", reason="TLS mode needs the kit's tls extra")
    from fakeding.server import FakeDing
    from fakeding.tls.ca import ensure_ca

    ca = ensure_ca(tmp_path / "ca")

    async def run() -> list[Any]:
        fake = FakeDing()
        await fake.start(ssl_context=ca.server_context())
        [site] = [s for s in fake._runner.sites if isinstance(s, FastSite)]  # type: ignore[union-attr]  # noqa: SLF001
        try:
            connector = aiohttp.TCPConnector(ssl=ca.client_context(), limit=1)  # one connection
            async with aiohttp.ClientSession(fake.http_url, connector=connector) as s:
                token = await s.post(
                    "/v1.0/oauth2/accessToken",
                    json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
                )
                in_lane = len(site.lanes)
                said = await s.post(
                    "/_fakeding/messages",
                    headers={"Origin": fake.http_url},  # the emulator's own origin: https://...
                    json={
                        "conversation": {"id": "cidTls==", "type": "group"},
                        "sender": {"staffId": "u1"},
                        "text": "hi",
                    },
                )
                health = await s.get("/_fakeding/health")
                after = len(site.lanes)
                return [
                    token.status,
                    in_lane,
                    said.status,
                    await said.json(),
                    health.status,
                    health.headers["Server"],
                    after,
                ]
        finally:
            await fake.stop()

    token, in_lane, said, sent, health, server, after = asyncio.run(run())
    assert token == 200 and in_lane == 1  # answered by the lane, which still holds the connection
    assert said == 200 and sent["msgId"].startswith("msg")  # the guard knew its origin is https
    assert health == 200 and "aiohttp" in server and after == 0  # handed over, same connection
