"""``mode: "http"``: the fake POSTs messages to the robot (its HTTP callback mode); the robot
checks the signature, answers at once and finishes the card after its HTTP answer. The ASGI
entry runs under a tiny serverless runtime: one invocation per request, kept alive until the
call returns, or frozen (never resumed) so that another invocation must finish its card."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.agents.base import OnChunk, Turn, chunk
from bot.agents.scripted import ScriptedAgent
from bot.im_robots.dingtalk_stream.http_mode import AsgiApp, check_signature, expected_sign
from bot.scenario_adapter import BotHarness, open_harness, run_virtual
from bot.testing.session import build_robot
from fakeding.core.callbacks import card_sign, robot_sign
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from fakeding.server import FakeDing
from fakeding.testing import running_fake
from tests.bot.robot_kit import events, is_final, markdown, only_card, records, violations

SECRET = "app-secret"
NOW = 1_767_225_600.0


# -- the signature (pure) ------------------------------------------------------------------------
def test_expected_sign_is_the_platforms() -> None:
    assert expected_sign("1767225600000", SECRET) == robot_sign("1767225600000", SECRET)


def test_a_good_signature_passes() -> None:
    ts = str(int(NOW * 1000))
    assert check_signature({"timestamp": ts, "sign": robot_sign(ts, SECRET)}, SECRET, NOW + 10) is None


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({}, 401, "timestamp and sign missing"),
        ({"timestamp": "1767225600000"}, 401, "sign missing"),
        ({"timestamp": "soon", "sign": "x"}, 401, "milliseconds"),
        ({"timestamp": "1767225600000", "sign": robot_sign("1767225600000", "other")}, 401, "does not match"),
        ({"timestamp": "1767225600001", "sign": robot_sign("1767225600000", SECRET)}, 401, "does not match"),
    ],
)
def test_a_bad_signature_is_refused_with_401(headers: dict[str, str], status: int, words: str) -> None:
    refused = check_signature(headers, SECRET, NOW)
    assert refused is not None and refused[0] == status and words in refused[1], refused


@pytest.mark.parametrize("offset", [-3601.0, 3601.0])
def test_a_stale_timestamp_is_refused_with_403(offset: float) -> None:
    ts = str(int((NOW + offset) * 1000))
    refused = check_signature({"timestamp": ts, "sign": robot_sign(ts, SECRET)}, SECRET, NOW)
    assert refused is not None and refused[0] == 403 and "3601 s" in refused[1], refused
    ok = str(int((NOW + offset * 0.99) * 1000))
    assert check_signature({"timestamp": ok, "sign": robot_sign(ok, SECRET)}, SECRET, NOW) is None


# -- through the fake's HTTP callback mode ---------------------------------------------------------
def http_harness(agent: Any, **robot: Any) -> contextlib.AbstractAsyncContextManager[BotHarness]:
    """The robot in HTTP mode answering with ``agent``, on the test's virtual-time loop."""
    return open_harness(agent=agent, robot={"mode": "http", **robot})


@pytest.mark.fakeding_virtual
async def test_a_message_is_posted_answered_at_once_and_the_card_finished() -> None:
    async with http_harness(ScriptedAgent([{"chunks": ["Use the ", "sign-in page."], "delay": 0.5}])) as h:
        sent = h.fake.send_message("How do I reset my password?", conversation_id="cidHttp")
        await h.settle()
        (callback,) = records(h, "callback")
        assert callback.fields["status"] == 200 and callback.fields["msgId"] == sent.msg_id
        card = only_card(h)
        assert is_final(card.current)
        assert markdown(card.current, "answer") == "Use the sign-in page."
        assert records(h, "push") == [], "nothing goes over Stream in HTTP mode"
        assert violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_slow_answer_is_finished_after_the_http_answer() -> None:
    """The answer takes 40 s; the platform waits 5 s for the HTTP answer (no violation)."""

    async with http_harness(ScriptedAgent([{"chunks": ["a", "b", "c", "d"], "delay": 10.0}])) as h:
        h.fake.send_message("Explain billing", conversation_id="cidSlow")
        await h.settle()
        (callback,) = records(h, "callback")
        assert callback.fields["status"] == 200 and callback.fields["after"] < 1.0
        (final,) = events(h, "card.final")
        timeout = h.fake.platform.settings.http_callback_timeout
        assert final.t > callback.t + timeout, (final.t, callback.t)
        assert is_final(only_card(h).current)
        assert violations(h) == []


async def _post(url: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.post(url, json=body, headers=headers) as r:
        return r.status, await r.json()


@pytest.mark.parametrize(("kind", "status"), [("bad", 401), ("stale", 403), ("good", 200)])
@pytest.mark.fakeding_virtual
async def test_the_robot_refuses_unsigned_and_stale_posts(kind: str, status: int) -> None:
    async with http_harness(ScriptedAgent([{"chunks": ["ok"]}])) as h:
        url = getattr(h.robot.connection, "url", None)
        assert isinstance(url, str)
        now_ms = int(h.fake.clock.time() * 1000)
        ts = str(now_ms - 7_200_000 if kind == "stale" else now_ms)
        secret = "wrong" if kind == "bad" else DEFAULT_CLIENT_SECRET
        data = {
            "msgId": "msgManual1",
            "msgtype": "text",
            "text": {"content": "hi"},
            "conversationType": "1",
            "conversationId": "cidManual",
            "senderStaffId": "u1",
            "senderNick": "U",
            "chatbotUserId": "bot",
            "sessionWebhook": h.fake.http_url + "/robot/sendBySession?session=none",
            "robotCode": DEFAULT_CLIENT_ID,
        }
        answer = await _post(url, {"timestamp": ts, "sign": robot_sign(ts, secret)}, data)
        assert answer[0] == status, answer
        await h.settle()
        claimed = [e for e in events(h, "message") if e.fields["msg"] == "msgManual1"]
        assert len(claimed) == (1 if kind == "good" else 0)
        if kind != "good":
            assert "error" in answer[1] and h.fake.platform.cards.all() == []


# -- the ASGI entry under a serverless runtime -------------------------------------------------
Scope = MutableMapping[str, Any]


class Runtime:
    """Invokes an ASGI app per request, answers as soon as the app has sent its answer and
    keeps the invocation running (``freeze=False``) or never lets it go on (``freeze=True``,
    an instance the platform froze after the response)."""

    def __init__(self) -> None:
        self.instances: list[AsgiApp] = []
        self.freeze = False
        self.invocations: list[asyncio.Task[None]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        app = self.instances[-1]
        raw = await request.read()
        scope: Scope = {
            "type": "http",
            "method": request.method,
            "path": request.path,
            "headers": [(k.lower().encode(), v.encode()) for k, v in request.headers.items()],
        }
        answered: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        status = 0
        frozen = asyncio.Event()  # never set: a frozen instance never resumes

        async def receive() -> MutableMapping[str, Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                answered.set_result((status, message["body"]))
                if self.freeze:
                    await frozen.wait()

        self.invocations.append(asyncio.ensure_future(app(scope, receive, send)))
        code, body = await answered
        return web.Response(status=code, body=body, content_type="application/json")


@contextlib.asynccontextmanager
async def serverless(fake: FakeDing) -> AsyncIterator[Runtime]:
    runtime = Runtime()
    app = web.Application()
    app.router.add_post("/", runtime.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    runtime.url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    fake.add_app(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, callback_url=runtime.url)
    try:
        yield runtime
    finally:
        for task in runtime.invocations:
            task.cancel()
        await asyncio.gather(*runtime.invocations, return_exceptions=True)
        for instance in runtime.instances:
            await instance.robot.aclose()
        await runner.cleanup()


class Hangs:
    """An agent stuck forever (its instance was frozen mid-answer)."""

    name = "hangs"

    async def answer(self, question: str, *, chat_id: str, history: list[Turn], on_chunk: OnChunk) -> str:
        await on_chunk(chunk("Half an"))
        await asyncio.Event().wait()
        return "never"


def instance(fake: FakeDing, store: Path, agent: Any, name: str) -> AsgiApp:
    def observe(t: float, kind: str, fields: dict[str, Any]) -> None:
        fake.recorder.add(t, "bot." + kind, **fields, instance=name)

    robot = build_robot(
        fake, {"mode": "http", "ownerLease": 20.0}, agent=agent, store=store / "robot.sqlite3"
    )
    robot.observer = observe
    return AsgiApp(robot)


def test_an_asgi_invocation_answers_first_and_finishes_the_card_within_the_call(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_fake(None, seed=0) as fake, serverless(fake) as runtime:
            runtime.instances.append(
                instance(
                    fake, tmp_path, ScriptedAgent([{"chunks": ["Under ", "Billing."], "delay": 4.0}]), "a"
                )
            )
            fake.send_message("Where are invoices?", conversation_id="cidAsgi")
            while not runtime.invocations:
                await asyncio.sleep(0.1)
            (invocation,) = runtime.invocations
            await asyncio.sleep(1.0)
            [callback] = fake.recorder.of_kind("callback")
            assert callback.fields["status"] == 200
            assert not invocation.done(), "the call goes on after its answer"
            await invocation
            card = only_card_of(fake)
            assert is_final(card.current) and markdown(card.current, "answer") == "Under Billing."
            assert fake.recorder.of_kind("violation") == []

    run_virtual(main)


def test_another_invocation_finishes_the_card_of_a_frozen_one(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_fake(None, seed=0) as fake, serverless(fake) as runtime:
            runtime.instances.append(instance(fake, tmp_path, Hangs(), "frozen"))
            runtime.freeze = True
            fake.send_message("First question", conversation_id="cidOne", staff_id="u1")
            await asyncio.sleep(5.0)
            first = only_card_of(fake)
            assert not is_final(first.current), "the frozen instance left it unfinished"
            # a new instance (cold start) takes the next message after the old lease ran out
            await asyncio.sleep(30.0)
            runtime.freeze = False
            runtime.instances.append(
                instance(
                    fake,
                    tmp_path,
                    ScriptedAgent([{"chunks": ["Second answer."]}, {"chunks": ["First answer."]}]),
                    "fresh",
                )
            )
            fake.send_message("Second question", conversation_id="cidTwo", staff_id="u2")
            await asyncio.sleep(1.0)
            await runtime.invocations[-1]
            texts = {c.conversation_id: markdown(c.current, "answer") for c in fake.platform.cards.all()}
            assert texts == {"cidOne": "First answer.", "cidTwo": "Second answer."}, texts
            assert all(is_final(c.current) for c in fake.platform.cards.all())
            recoveries = list(fake.recorder.of_kind("bot.recovery"))
            assert [(r.fields["instance"], r.fields["via"]) for r in recoveries] == [("fresh", "orphan")]

    run_virtual(main)


def only_card_of(fake: FakeDing) -> Any:
    (card,) = fake.platform.cards.all()
    return card


def test_asgi_refuses_other_paths_and_scopes(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_fake(None, seed=0) as fake:
            app = instance(fake, tmp_path, ScriptedAgent([]), "x")
            sent: list[MutableMapping[str, Any]] = []

            async def receive() -> MutableMapping[str, Any]:
                return {"type": "http.request", "body": b"{}"}

            async def send(message: MutableMapping[str, Any]) -> None:
                sent.append(message)

            await app({"type": "http", "method": "GET", "path": "/other", "headers": []}, receive, send)
            assert sent[0]["status"] == 404
            assert b"expected POST /" in sent[1]["body"]
            with pytest.raises(ValueError, match="websocket"):
                await app({"type": "websocket"}, receive, send)
            await app.robot.aclose()

    run_virtual(main)


def test_mode_is_checked_by_config() -> None:
    from bot.errors import ConfigError
    from bot.im_robots.dingtalk_stream.config import RobotConfig, validate

    with pytest.raises(ConfigError, match=r"mode must be one of 'stream', 'http', found 'lambda'"):
        validate(RobotConfig("id", "secret", mode="lambda"), Path("config.json"))
    with pytest.raises(ConfigError, match=r"httpPort must be a port number"):
        validate(RobotConfig("id", "secret", http_port=70000), Path("config.json"))


# -- feedback clicks over HTTP (no Stream connection, so no Stream card callbacks) ---------------
def _clicks_answered(h: BotHarness) -> list[Any]:
    return [r for r in records(h, "callback") if r.fields.get("target") == "card"]


@pytest.mark.parametrize(
    ("conversation", "shown"),
    [("group", "Feedback so far: 😊 Helpful 1"), ("single", "You rated: 😊 Helpful")],
)
@pytest.mark.fakeding_virtual
async def test_a_click_on_an_interactive_card_is_posted_recorded_and_shown(
    conversation: str, shown: str
) -> None:
    async with http_harness(ScriptedAgent([{"chunks": ["Within 14 days."]}])) as h:
        sent = h.fake.send_message(
            "Can I get a refund?",
            conversation_type=conversation,
            conversation_id="cidVotes",
            staff_id="alice",
        )
        await h.settle()
        card = only_card(h)
        assert card.callback_type == "HTTP" and card.callback_url is not None
        assert card.callback_url.endswith("/card")
        h.fake.click(card.id, staff_id="alice", button_id="feedback_helpful")
        await h.settle()
        (click,) = _clicks_answered(h)
        assert click.fields["status"] == 200
        assert h.robot.store is not None
        (vote,) = h.robot.store.feedback()
        assert (vote.user_id, vote.rating, vote.card_id, vote.msg_id) == (
            "alice",
            "helpful",
            card.id,
            sent.msg_id,
        )
        assert markdown(card.current, "vote") == shown
        assert is_final(card.current) and len(events(h, "card.vote")) == 1
        assert records(h, "push") == [] and violations(h) == []


@pytest.mark.fakeding_virtual
async def test_a_click_on_an_ai_card_is_answered_with_the_private_vote_and_the_tally_follows() -> None:
    async with http_harness(ScriptedAgent([{"chunks": ["Within 14 days."]}]), cardMode="ai") as h:
        sent = h.fake.send_message("Can I get a refund?", conversation_id="cidAiVotes", staff_id="alice")
        await h.settle()
        card = only_card(h)
        assert (card.callback_type, card.callback_route_key) == ("HTTP", "bot-feedback")
        for user, rating in (("alice", "helpful"), ("bob", "not_helpful")):
            h.fake.click(
                card.id,
                staff_id=user,
                button_id=f"feedback_{rating}",
                params={"action": "feedback", "rating": rating, "msgId": card.current["msgId"]},
            )
        await h.settle()
        assert [c.fields["status"] for c in _clicks_answered(h)] == [200, 200]
        assert card.private_data["alice"]["vote"] == "You rated: 😊 Helpful"
        assert card.private_data["bob"]["vote"] == "You rated: 😅 Not Helpful"
        assert card.current["tally"] == "Feedback so far: 😊 Helpful 1 · 😅 Not Helpful 1"
        assert h.robot.store is not None
        assert {(v.user_id, v.rating, v.msg_id) for v in h.robot.store.feedback()} == {
            ("alice", "helpful", sent.msg_id),
            ("bob", "not_helpful", sent.msg_id),
        }
        assert records(h, "push") == [] and violations(h) == []


@pytest.mark.parametrize("kind", ["missing", "bad"])
@pytest.mark.fakeding_virtual
async def test_a_card_callback_with_a_bad_signature_is_refused_and_records_nothing(kind: str) -> None:
    async with http_harness(ScriptedAgent([{"chunks": ["ok"]}])) as h:
        sent = h.fake.send_message("Can I get a refund?", conversation_id="cidForged")
        await h.settle()
        card = only_card(h)
        assert card.callback_url is not None
        ts = str(int(h.fake.clock.time() * 1000))
        headers = (
            {}
            if kind == "missing"
            else {
                "x-ddpaas-signature-timestamp": ts,
                "x-ddpaas-signature": card_sign(ts, "not-the-api-secret"),
            }
        )
        content = json.dumps(
            {
                "cardPrivateData": {
                    "actionIds": ["feedback_helpful"],
                    "params": {"action": "feedback", "rating": "helpful", "msgId": sent.msg_id},
                }
            }
        )
        status, answer = await _post(
            card.callback_url,
            headers,
            {
                "type": "actionCallback",
                "outTrackId": card.id,
                "corpId": "corp",
                "userId": "mallory",
                "content": content,
            },
        )
        assert status == 401, answer
        word = "missing" if kind == "missing" else "does not match"
        assert "x-ddpaas-signature" in answer["error"] and word in answer["error"], answer
        await h.settle()
        assert h.robot.store is not None and h.robot.store.feedback() == []
        assert events(h, "feedback") == [] and markdown(card.current, "vote") is None
        (good,) = h.fake.platform.apps[DEFAULT_CLIENT_ID].card_callbacks.values()
        assert good[1] == card.callback_url, "the registered route is the card's URL"


def test_card_callback_url_is_checked_by_config() -> None:
    from bot.errors import ConfigError
    from bot.im_robots.dingtalk_stream.config import RobotConfig, validate

    with pytest.raises(ConfigError, match=r"cardCallbackUrl must be an http:// or https:// URL"):
        validate(RobotConfig("id", "secret", card_callback_url="ftp://x/card"), Path("config.json"))
    assert RobotConfig("id", "s", http_path="/dt/").card_path == "/dt/card"
    assert RobotConfig("id", "s").card_path == "/card"
