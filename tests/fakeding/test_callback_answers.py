"""What a robot answers to an HTTP callback is read as the platform reads it: a redirect is the
answer (recorded with its Location, never followed, so a signed body is never re-sent to a host
the loopback rule refuses), and an answer is read to a cap, in chunks, never whole.

The robot here is a real aiohttp server on 127.0.0.1. Its redirects point at ``0.0.0.0`` (a
host ``loopback_url`` refuses, yet one that lands back on this machine, so following it would
show up as a hit without the test ever leaving loopback).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aiohttp import web

from fakeding import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ThreadedFakeDing
from fakeding.core.callbacks import ANSWER_MAX_BYTES
from fakeding.core.cards import STANDARD_CARD

BIG = 64 * 1024 * 1024  # what the greedy robot would send: 64 times the cap
CHUNK = b"x" * 65536


class Robot:
    """A loopback robot whose routes redirect, count hits, or stream a huge answer."""

    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []
        self.written = 0  # bytes of the huge answer the fake let through
        self.big_done = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _redirect(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        return web.Response(status=code, headers={"Location": f"http://0.0.0.0:{self.port}/hit"})

    async def _hit(self, request: web.Request) -> web.Response:
        self.hits.append({"headers": dict(request.headers), "body": await request.read()})
        return web.json_response({})

    async def _big(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if request.match_info["how"] == "declared":
            response.content_length = BIG
        try:
            await response.prepare(request)
            while self.written < BIG:
                await response.write(CHUNK)
                self.written += len(CHUNK)
        except (ConnectionError, RuntimeError):
            pass  # the fake stopped reading and closed: the point
        finally:
            self.big_done.set()
        return response

    async def _near(self, request: web.Request) -> web.Response:
        """A reply padded to just under the cap."""
        await request.read()
        reply = {"msgtype": "text", "text": {"content": "fits"}, "pad": ""}
        reply["pad"] = "p" * (ANSWER_MAX_BYTES - len(json.dumps(reply)))
        return web.Response(text=json.dumps(reply), content_type="application/json")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/redirect/{code}", self._redirect)
        app.router.add_post("/hit", self._hit)
        app.router.add_post("/big/{how}", self._big)
        app.router.add_post("/near", self._near)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Robot:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture
def robot() -> Iterator[Robot]:
    with Robot() as r:
        yield r


def _http_mode(fake: ThreadedFakeDing, url: str) -> None:
    r = requests.post(
        fake.http_url + "/_fakeding/apps",
        timeout=5,
        json={"clientId": "http-robot", "clientSecret": "http-secret", "callbackUrl": url},
    )
    assert r.status_code == 200, r.text


def _card_with_callback_url(fake: ThreadedFakeDing, url: str) -> None:
    token = requests.post(
        fake.http_url + "/v1.0/oauth2/accessToken",
        timeout=5,
        json={"appKey": DEFAULT_CLIENT_ID, "appSecret": DEFAULT_CLIENT_SECRET},
    ).json()["accessToken"]
    data = {
        "contents": [
            {
                "type": "action",
                "actions": [
                    {
                        "type": "button",
                        "id": "yes",
                        "actionType": "request",
                        "label": {"text": "Yes"},
                        "value": "{}",
                    }
                ],
            }
        ]
    }
    r = requests.post(
        fake.http_url + "/v1.0/im/v1.0/robot/interactiveCards/send",
        timeout=5,
        headers={"x-acs-dingtalk-access-token": token},
        json={
            "cardTemplateId": STANDARD_CARD,
            "robotCode": DEFAULT_CLIENT_ID,
            "cardBizId": "card-cb",
            "openConversationId": "cidCb",
            "cardData": json.dumps(data),
            "callbackUrl": url,
        },
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("target", ["robot", "card"])
def test_a_redirect_is_the_answer_and_is_not_followed(
    fakeding: ThreadedFakeDing, robot: Robot, code: int, target: str
) -> None:
    url = robot.url(f"/redirect/{code}")
    if target == "robot":
        _http_mode(fakeding, url)
        fakeding.send_message("hi", client_id="http-robot")
    else:
        _card_with_callback_url(fakeding, url)
        fakeding.click("card-cb", staff_id="alice", button_id="yes")
    (violation,) = fakeding.wait_for("violation")
    (callback,) = fakeding.timeline(["callback"])
    assert robot.hits == []  # the signed body never went to 0.0.0.0
    assert callback["status"] == code and callback["target"] == target
    assert callback["location"] == f"http://0.0.0.0:{robot.port}/hit"
    assert f"HTTP {code}" in violation["reason"] and "0.0.0.0" in violation["reason"]
    assert "does not follow redirects" in violation["reason"]
    fakeding.reset()  # the violation was the point


@pytest.mark.parametrize("how", ["chunked", "declared"])
def test_a_huge_answer_is_read_to_the_cap_and_named(
    fakeding: ThreadedFakeDing, robot: Robot, how: str
) -> None:
    _http_mode(fakeding, robot.url(f"/big/{how}"))
    fakeding.send_message("hi", client_id="http-robot")
    (violation,) = fakeding.wait_for("violation", timeout=20)
    assert robot.big_done.wait(20)
    # The fake stopped reading at the cap and closed: what the robot got through is the cap
    # plus what the kernel's socket buffers held, nowhere near the 64 MiB it meant to send.
    assert robot.written < 16 * 1024 * 1024, robot.written
    assert str(ANSWER_MAX_BYTES) in violation["reason"], violation
    if how == "declared":
        assert str(BIG) in violation["reason"], violation
    (callback,) = fakeding.timeline(["callback"])
    assert callback["status"] == 200
    assert fakeding.timeline(["webhook"]) == []
    fakeding.reset()


def test_an_answer_just_under_the_cap_is_still_read(fakeding: ThreadedFakeDing, robot: Robot) -> None:
    """The cap refuses only what is over it: a reply padded to just under it is the reply."""
    _http_mode(fakeding, robot.url("/near"))
    fakeding.send_message("hi", conversation_id="cidNear", client_id="http-robot")
    fakeding.wait_for("webhook")
    assert fakeding.transcript("cidNear")[-1]["text"] == "fits"
    assert fakeding.violations == []
