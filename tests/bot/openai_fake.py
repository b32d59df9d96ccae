"""A small real HTTP server that imitates the streaming chat-completions API, for tests.

It listens on 127.0.0.1 (a free port), records every request, and answers with configured
pieces as server-sent events, an error status, or silence (to test timeouts)::

    async with FakeOpenAI(pieces=["Hel", "lo"]) as fake:
        agent = OpenAICompatAgent(base_url=fake.base_url, model="m", api_key="k")
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web


@dataclass
class Recorded:
    """One request the fake received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeOpenAI:
    """Configure by attribute before (or between) requests."""

    pieces: list[str] = field(default_factory=list)
    status: int = 200
    error_body: str = '{"error": {"message": "something went wrong"}}'
    comments: bool = True  # send ": keep-alive" comments and blank keep-alive lines
    done: bool = True  # end with "data: [DONE]"
    after_done: list[str] = field(default_factory=list)  # pieces sent after [DONE]
    role_first: bool = True  # send a role-only delta first, like OpenAI does
    raw_events: list[str] | None = None  # send these "data:" payloads verbatim instead
    hang: bool = False  # send headers, then nothing until the server stops
    json_reply: str | None = None  # answer one non-streamed JSON completion with this text
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @staticmethod
    def event(content: str | None = None, role: str | None = None) -> str:
        delta: dict[str, str] = {}
        if role is not None:
            delta["role"] = role
        if content is not None:
            delta["content"] = content
        return json.dumps({"object": "chat.completion.chunk", "choices": [{"delta": delta}]})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Recorded(request.path, dict(request.headers), await request.json()))
        if self.status != 200:
            return web.Response(status=self.status, text=self.error_body, content_type="application/json")
        if self.json_reply is not None:
            return web.json_response(
                {"choices": [{"message": {"role": "assistant", "content": self.json_reply}}]}
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if self.hang:
            await self._stopping.wait()
            return response
        events = list(self.raw_events or [])
        if self.raw_events is None:
            if self.role_first:
                events.append(self.event(role="assistant"))
            events += [self.event(p) for p in self.pieces]
            if self.done:
                events.append("[DONE]")
            events += [self.event(p) for p in self.after_done]
        for number, payload in enumerate(events):
            if self.comments and number == 1:
                await response.write(b": keep-alive\n\n\n")
            await response.write(f"data: {payload}\n\n".encode())
        await response.write_eof()
        return response
