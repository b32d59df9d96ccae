"""Every fake route reads its body whole and to a limit, whatever the network does to it.

Issue 23: a body that arrives in several TCP segments (any body over one MSS on a real network)
must be read whole, never as "what has arrived so far"; and no route may read a body of any
size into memory. The split bodies go over a raw socket on 127.0.0.1, one segment at a time.
The media upload is the one route whose body is not read by ``request.read()``: multipart parts
come from the stream, unbounded on the oldest aiohttp the kit allows and cut at aiohttp's
1 MiB ``client_max_size`` (413) on recent ones, below the documented 20 MiB
``media_max_bytes``. It now reads each part in chunks, to ``media_max_bytes``.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
import requests

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing

SUBS = [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]


def _split_post(
    fake: ThreadedFakeDing, path: str, body: bytes, headers: dict[str, str], pieces: int = 3
) -> tuple[int, Any]:
    """POST ``body`` in ``pieces`` TCP segments, each sent only after the previous one left."""
    port = int(fake.http_url.rsplit(":", 1)[1])
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    step = -(-len(body) // pieces)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        for i in range(0, len(body), step):
            time.sleep(0.05)  # lets each piece go out as its own segment, to be read separately
            s.sendall(body[i : i + step])
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(payload)


def test_a_body_in_several_segments_is_read_whole_on_every_kind_of_route(fakeding: ThreadedFakeDing) -> None:
    text = "一个需要超过一个分段的中文问题" * 200  # ~9 KB of UTF-8: several segments anywhere
    token_body = json.dumps(
        {"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET, "pad": text}
    ).encode()
    status, token = _split_post(fakeding, "/v1.0/oauth2/accessToken", token_body, {})
    assert status == 200 and token["accessToken"], token
    gateway = json.dumps(
        {
            "clientId": DEFAULT_CLIENT_ID,
            "clientSecret": DEFAULT_CLIENT_SECRET,
            "subscriptions": SUBS,
            "ua": text,
        }
    ).encode()
    status, opened = _split_post(fakeding, "/v1.0/gateway/connections/open", gateway, {})
    assert status == 200 and opened["ticket"], opened
    send = json.dumps(
        {
            "robotCode": DEFAULT_CLIENT_ID,
            "openConversationId": "cidSplit",
            "msgKey": "sampleText",
            "msgParam": json.dumps({"content": text}, ensure_ascii=False),
        },
        ensure_ascii=False,
    ).encode()
    status, sent = _split_post(
        fakeding,
        "/v1.0/robot/groupMessages/send",
        send,
        {"x-acs-dingtalk-access-token": token["accessToken"]},
    )
    assert status == 200, sent
    control = json.dumps(
        {"conversation": {"id": "cidSplit", "type": "group"}, "sender": {"staffId": "alice"}, "text": text},
        ensure_ascii=False,
    ).encode()
    status, message = _split_post(fakeding, "/_fakeding/messages", control, {})
    assert status == 200, message
    texts = [e["text"] for e in fakeding.transcript("cidSplit")]
    assert texts == [text, text]
    assert fakeding.violations == []


def test_an_upload_over_the_cap_is_read_to_the_cap_only(make_fakeding: Any) -> None:
    fake = make_fakeding(media_max_bytes=1 << 20)
    token = requests.post(
        fake.http_url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    big = b"\x89PNG" + b"\0" * (8 << 20)  # 8 MiB: eight times the cap
    r = requests.post(
        f"{fake.http_url}/media/upload",
        params={"access_token": token, "type": "image"},
        files={"media": ("big.png", big, "image/png")},
        timeout=30,
    )
    assert r.status_code == 200
    answer = r.json()
    assert answer["errcode"] == 40006 and str(1 << 20) in answer["errmsg"], answer
    (call,) = [c for c in fake.timeline(["api"]) if c["route"] == "POST /media/upload"]
    assert call["request"]["truncated"] is True
    assert call["request"]["bytes"] <= 1 << 20  # what the fake kept: the cap, not 8 MiB


@pytest.mark.parametrize(("cap", "size"), [(1 << 20, 1), (1 << 20, (1 << 20) - 1000), (None, 3 << 20)])
def test_an_upload_within_the_cap_is_kept_whole(make_fakeding: Any, cap: int | None, size: int) -> None:
    """Up to ``media_max_bytes`` (default 20 MiB), past aiohttp's 1 MiB ``client_max_size``."""
    fake = make_fakeding(media_max_bytes=cap) if cap else make_fakeding()
    token = requests.post(
        fake.http_url + "/v1.0/oauth2/accessToken",
        timeout=10,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    r = requests.post(
        f"{fake.http_url}/media/upload",
        params={"access_token": token},
        data={"type": "file"},
        files={"media": ("f.bin", b"x" * size)},
        timeout=30,
    )
    answer = r.json()
    assert answer["errcode"] == 0 and answer["type"] == "file", answer
    stored = fake.call(lambda: fake.fake.platform.media[answer["media_id"]])
    assert len(stored[3]) == size
