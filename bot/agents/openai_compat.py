"""An agent backed by any OpenAI-compatible chat-completions API (OpenAI, vLLM, Ollama...).

It POSTs ``{base_url}/chat/completions`` with ``"stream": true`` and reads the server-sent
events line by line, forwarding each ``choices[0].delta.content`` piece. Given a FAQ, the 3
entries most related to the question go into the system prompt as grounding.

``timeout`` bounds connecting and every silence while reading, not the whole answer, so a
long answer that keeps streaming is never cut; a server silent for longer raises
AgentTimeout. The API key is only ever sent in the Authorization header: it is kept out of
``repr`` and scrubbed from error messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiohttp

from bot.agents.base import OnChunk, Turn, chunk
from bot.agents.faq import FaqAgent
from bot.errors import AgentError, AgentTimeout, ConfigError

DEFAULT_SYSTEM_PROMPT = (
    "You are the customer-service assistant of this company. Answer briefly and politely, "
    "in the language of the question. Use the FAQ excerpts when they answer the question; "
    "if you are not sure, say so and suggest contacting human support."
)
GROUNDING_ENTRIES = 3
SNIPPET = 200


class _Done(Exception):
    """The stream sent ``data: [DONE]``."""


class OpenAICompatAgent:
    """Streams answers from an OpenAI-compatible ``/chat/completions`` endpoint."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        faq: FaqAgent | None = None,
        timeout: float = 60.0,
        temperature: float | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"openai agent: base_url must start with http:// or https://, found "
                f"{base_url!r}; use e.g. 'https://api.openai.com/v1'"
            )
        if not model.strip():
            raise ConfigError("openai agent: model must name a model, found an empty string")
        if timeout <= 0:
            raise ConfigError(f"openai agent: timeout must be > 0 seconds, found {timeout}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._api_key = api_key or None
        self.system_prompt = system_prompt
        self.faq = faq
        self.timeout = timeout
        self.temperature = temperature

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"OpenAICompatAgent(url={self.url!r}, model={self.model!r}, api_key={key})"

    def _scrub(self, message: str) -> str:
        return message.replace(self._api_key, "***") if self._api_key else message

    def system_message(self, question: str) -> str:
        """The system prompt, followed by the FAQ entries most related to the question."""
        if self.faq is None:
            return self.system_prompt
        entries = self.faq.top_entries(question, GROUNDING_ENTRIES)
        if not entries:
            return self.system_prompt
        excerpts = "\n\n".join(f"### {q}\n{a}" for q, a in entries)
        return f"{self.system_prompt}\n\nFAQ excerpts:\n\n{excerpts}"

    def payload(self, question: str, history: Sequence[Turn]) -> dict[str, Any]:
        """The JSON body of the chat-completions request."""
        messages = [{"role": "system", "content": self.system_message(question)}]
        messages += [{"role": t.role, "content": t.content} for t in history]
        messages.append({"role": "user", "content": question})
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        return body

    async def answer(
        self,
        question: str,
        *,
        chat_id: str,
        history: Sequence[Turn],
        on_chunk: OnChunk,
    ) -> str:
        headers = {"Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        timeout = aiohttp.ClientTimeout(total=None, connect=self.timeout, sock_read=self.timeout)
        parts: list[str] = []
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(self.url, json=self.payload(question, history), headers=headers) as response,
            ):
                if response.status != 200:
                    body = await response.text(errors="replace")
                    # Scrub before cutting, so no fragment of the key can survive the cut.
                    snippet = self._scrub(" ".join(body.split()))[:SNIPPET]
                    raise AgentError(
                        f"{self.url} answered HTTP {response.status} (expected 200): "
                        f"{snippet or '(empty body)'}; check base_url, model and the API key"
                    )
                if response.content_type == "application/json":
                    await self._read_whole(response, parts, on_chunk)
                else:
                    await self._read_stream(response, parts, on_chunk)
        except TimeoutError:
            raise AgentTimeout(
                f"{self.url} sent nothing for {self.timeout:g} s (expected a streamed answer); "
                "the server may be overloaded, try again or raise the agent timeout"
            ) from None
        except aiohttp.ClientError as exc:
            raise AgentError(
                self._scrub(
                    f"could not talk to {self.url} ({type(exc).__name__}: {exc}); "
                    "check that base_url is right and the server is up"
                )
            ) from None
        return "".join(parts)

    async def _read_stream(
        self, response: aiohttp.ClientResponse, parts: list[str], on_chunk: OnChunk
    ) -> None:
        data: list[str] = []
        try:
            async for raw in response.content:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if not line:
                    await self._dispatch(data, parts, on_chunk)
                elif line.startswith("data:"):
                    value = line[5:]
                    data.append(value[1:] if value.startswith(" ") else value)
                # Comments (":...") and other fields (event:, id:, retry:) are ignored.
            await self._dispatch(data, parts, on_chunk)
        except _Done:
            return

    async def _dispatch(self, data: list[str], parts: list[str], on_chunk: OnChunk) -> None:
        if not data:
            return
        payload = "\n".join(data)
        data.clear()
        if payload.strip() == "[DONE]":
            raise _Done
        try:
            event = json.loads(payload)
        except json.JSONDecodeError:
            raise AgentError(
                f"{self.url} sent an event that is not JSON (expected 'data: {{...}}' or "
                f"'data: [DONE]'): {self._scrub(payload)[:SNIPPET]!r}"
            ) from None
        try:
            piece = _delta(event)
        except AgentError as exc:
            raise AgentError(self._scrub(str(exc))[: SNIPPET * 2]) from None
        await self._emit(piece, parts, on_chunk)

    async def _read_whole(
        self, response: aiohttp.ClientResponse, parts: list[str], on_chunk: OnChunk
    ) -> None:
        """A server that ignores ``stream`` answers one JSON document; forward it whole."""
        try:
            document = await response.json()
            content = document["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise AgentError(
                f"{self.url} answered JSON without choices[0].message.content "
                "(expected a chat completion); check that it is an OpenAI-compatible API"
            ) from None
        await self._emit(content if isinstance(content, str) else "", parts, on_chunk)

    @staticmethod
    async def _emit(piece: str, parts: list[str], on_chunk: OnChunk) -> None:
        if piece:
            parts.append(piece)
            await on_chunk(chunk(piece))


def _delta(event: object) -> str:
    """The new text of one streamed event ("" for role-only or finishing events)."""
    if isinstance(event, dict) and "error" in event:
        raise AgentError(f"the model server reported an error mid-stream: {event['error']}")
    try:
        content = event["choices"][0]["delta"].get("content")  # type: ignore[index]
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    return content if isinstance(content, str) else ""
