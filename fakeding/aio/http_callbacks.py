"""Delivering over HTTP what Stream would push: robot messages of apps in HTTP mode and clicks
on cards created with ``callbackType: HTTP`` or sent with a ``callbackUrl``.

The I/O edge over ``fakeding.core.callbacks`` (signing and judging answers). Each delivery runs as
a task on the fake's loop and records a ``callback`` record; what the platform would not accept
(a non-2xx answer, a redirect, a body that is not JSON or over ``ANSWER_MAX_BYTES``, no answer
in time, a refused reply) is a ``violation``, because the robot never learns about it on the
real platform either. A redirect is never followed: its ``Location`` is recorded instead, so a
signed body never goes anywhere but the registered loopback URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import aiohttp

from fakeding.aio.http_post import post_json
from fakeding.core import users
from fakeding.core.callbacks import (
    Answer,
    card_headers,
    judge,
    loopback_url,
    redirect_problem,
    robot_headers,
    session_key,
)
from fakeding.core.cards import Card
from fakeding.core.clock import Clock
from fakeding.core.exceptions import ConfigError, ProtocolViolation
from fakeding.core.platform import Platform
from fakeding.core.record_kinds import RecordKind


class HttpCallbacks:
    """Posts callbacks from the fake's loop; ``close()`` ends what is in flight."""

    def __init__(self, platform: Platform, clock: Clock) -> None:
        self.platform = platform
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def pending(self) -> list[asyncio.Task[None]]:
        """Callbacks still being posted (a harness waits for them like for acks)."""
        return [task for task in self._tasks if not task.done()]

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # trust_env=False: a callback to loopback must never go through a proxy variable.
            self._session = aiohttp.ClientSession(trust_env=False)
        return self._session

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def _violation(self, reason: str, **fields: Any) -> None:
        self.platform.recorder.add(self.clock.monotonic(), RecordKind.VIOLATION, reason=reason, **fields)

    async def _post(
        self,
        url: str,
        headers: dict[str, str],
        body: dict[str, Any],
        timeout: float,
        what: str,
        **fields: Any,
    ) -> tuple[Answer, float] | None:
        """POST and judge; records the ``callback`` and any violation. None: no answer."""
        start = self.clock.monotonic()
        try:
            response = await post_json(self._client(), url, headers, body, timeout)
        except TimeoutError:
            self.platform.recorder.add(
                self.clock.monotonic(), RecordKind.CALLBACK, url=url, status=None, **fields
            )
            self._violation(f"{what} at {url} gave no answer within {timeout:g} s", **fields)
            return None
        except aiohttp.ClientError as exc:
            self.platform.recorder.add(
                self.clock.monotonic(), RecordKind.CALLBACK, url=url, status=None, **fields
            )
            self._violation(f"{what} at {url} could not be reached: {exc}", **fields)
            return None
        after = self.clock.monotonic() - start
        extra = {"location": response.location} if response.location is not None else {}
        self.platform.recorder.add(
            self.clock.monotonic(),
            RecordKind.CALLBACK,
            url=url,
            status=response.status,
            after=round(after, 6),
            **extra,
            **fields,
        )
        problem = redirect_problem(response, what=what)
        if response.oversized is not None and problem is None:
            problem = f"{what} answered {response.oversized}; answer an empty body or a small JSON object"
        if problem is not None:
            self._violation(problem, **fields)
            return Answer(None, problem), after
        answer = judge(response.status, response.body, what=what)
        if answer.problem is not None:
            self._violation(answer.problem, **fields)
        return answer, after

    # -- robot messages -----------------------------------------------------------------------------
    def robot_message(self, m: users.UserMessage) -> None:
        """POST a user's message to the app's callback URL (HTTP mode)."""
        self._spawn(self._robot_message(m))

    async def _robot_message(self, m: users.UserMessage) -> None:
        url = m.app.callback_url
        assert url is not None
        headers = robot_headers(round(self.clock.time() * 1000), m.app.client_secret)
        result = await self._post(
            url,
            headers,
            m.data,
            self.platform.settings.http_callback_timeout,
            "the robot's HTTP callback",
            target="robot",
            client=m.app.client_id,
            msgId=m.msg_id,
        )
        if result is None or result[0].reply is None:
            return
        reply = result[0].reply
        t = self.clock.monotonic()
        session, out = self.platform.webhook(t, session_key(m.data["sessionWebhook"]), reply)
        self.platform.recorder.add(
            t,
            RecordKind.WEBHOOK,
            client=m.app.client_id,
            conversation=m.conversation_id,
            msgtype=reply.get("msgtype"),
            errcode=out["errcode"],
            request=reply,
            via="http-response",
        )
        if out["errcode"] != 0:
            self._violation(
                f"the reply in the HTTP answer to message {m.msg_id} was refused: "
                f"errcode {out['errcode']} {out['errmsg']}",
                client=m.app.client_id,
            )

    # -- card clicks --------------------------------------------------------------------------------
    def card_click(self, c: users.Click) -> None:
        """POST a click on an HTTP-callback card: to an ordinary card's own ``callbackUrl``
        (reference D.2), or to the route its ``callbackRouteKey`` registered (D.4, D.13)."""
        self._spawn(self._card_click(c))

    def _target(self, card: Card) -> tuple[str | None, str] | None:
        """``(apiSecret or None, url)`` a click on ``card`` goes to; None (a violation
        recorded) when there is none. An ordinary card's URL is signed with the apiSecret of
        a route registered for that URL, else sent unsigned (the headers are optional)."""
        app = self.platform.apps.get(card.client_id)
        routes = app.card_callbacks if app is not None else {}
        if card.callback_url:
            try:
                url = loopback_url(card.callback_url, "callbackUrl")
            except ConfigError as exc:
                self._violation(f"card {card.id}: {exc}; the click went nowhere", card=card.id)
                return None
            return next((s for s, u in routes.values() if u == url), None), url
        key = card.callback_route_key or ""
        if key not in routes:
            self._violation(
                f"card {card.id} has callbackType HTTP and callbackRouteKey {key!r}, but its app "
                f"registered no such route with POST /v1.0/card/callbacks/register "
                f"(registered: {', '.join(sorted(routes)) or 'none'}); the click went nowhere",
                card=card.id,
            )
            return None
        return routes[key]

    async def _card_click(self, c: users.Click) -> None:
        card = c.card
        target = self._target(card)
        if target is None:
            return
        api_secret, url = target
        timeout = self.platform.settings.card_callback_timeout
        headers = {} if api_secret is None else card_headers(round(self.clock.time() * 1000), api_secret)
        result = await self._post(
            url,
            headers,
            c.data,
            timeout,
            "the card callback route",
            target="card",
            client=card.client_id,
            card=card.id,
        )
        if result is None:
            return
        answer, after = result
        reply: Any = answer.reply
        if isinstance(reply, dict) and set(reply) == {"response"}:
            reply = reply["response"]  # the Stream ack's wrapping, tolerated
        t = self.clock.monotonic()
        try:
            users.answer_click(self.platform, t, c, reply, after)
        except ProtocolViolation as exc:
            self._violation(str(exc), card=card.id)
