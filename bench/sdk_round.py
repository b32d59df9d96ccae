"""The throughput round with the official SDK alone: ``dingtalk_stream.DingTalkStreamClient``
and a handler that only acks, then makes the same bare HTTP requests per message as the
ceiling (the robot's calls of one answer, to the bare aiohttp echo). Between the ceiling (bare
websocket, bare HTTP) and our robot (the SDK plus the robot's code), it says how much of the
robot's gap to the ceiling is the SDK's and the fake's Stream path rather than the robot's own
code."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
import dingtalk_stream
from dingtalk_stream import AckMessage

from fakeding.testing.sdk_endpoint import point_sdk_at

from .throughput import Bare, timed_round

QUIET = logging.getLogger("bench.sdk_round")  # the SDK logs every connect at INFO
QUIET.setLevel(logging.CRITICAL)


class AckOnly(dingtalk_stream.ChatbotHandler):  # type: ignore[misc]
    """Acks at once; the bare requests that stand for the robot's OpenAPI calls run apart."""

    def __init__(self, on_message: Any) -> None:
        super().__init__()
        self.on_message = on_message

    async def process(self, callback: Any) -> tuple[int, str]:
        self.on_message(callback.data)
        return AckMessage.STATUS_OK, "OK"


class Client(dingtalk_stream.DingTalkStreamClient):  # type: ignore[misc]
    def get_host_ip(self) -> str:
        return "127.0.0.1"  # the SDK probes with a UDP socket to a public host otherwise


async def sdk_only(http: int, n: int, bare: Bare, fake_pid: int | None = None) -> dict[str, Any]:
    """One round: ``n`` user messages through the fake, the SDK's Stream client acking each,
    and ``bare``'s calls per message to the bare echo, all at once, as the ceiling does."""
    patch = point_sdk_at(f"http://127.0.0.1:{http}")
    url = f"http://127.0.0.1:{http}/_fakeding/messages"
    done = asyncio.Event()
    finished = 0
    pending: set[asyncio.Task[None]] = set()
    # the users' sends and the robot's calls on sessions of their own, as in the ceiling
    async with aiohttp.ClientSession() as session, aiohttp.ClientSession() as robot:

        async def bare_requests() -> None:
            nonlocal finished
            await bare.answer(robot)
            finished += 1
            if finished >= n:
                done.set()

        def on_message(data: Any) -> None:
            task = asyncio.ensure_future(bare_requests())
            pending.add(task)
            task.add_done_callback(pending.discard)

        client = Client(dingtalk_stream.Credential("fakeding-client", "fakeding-secret"), logger=QUIET)
        client.register_callback_handler(dingtalk_stream.ChatbotMessage.TOPIC, AckOnly(on_message))
        runner = asyncio.ensure_future(client.start())
        try:
            for _ in range(2000):  # the SDK's connect is a blocking call in its own loop: wait
                if client.websocket is not None:
                    break
                await asyncio.sleep(0.005)
            else:
                raise RuntimeError("the SDK client did not connect to the fake within 10 s")
            elapsed, cpu, fake_cpu = await timed_round(session, url, n, done, fake_pid)
        finally:
            for _ in range(20):  # the SDK's loop catches one cancellation (it sleeps 10 s)
                if runner.done():
                    break
                runner.cancel()
                await asyncio.wait([runner], timeout=0.1)
            with contextlib.suppress(BaseException):
                runner.result()
            if client.websocket is not None:
                with contextlib.suppress(Exception):
                    await client.websocket.close()
            patch.undo()
    return {"seconds": elapsed, "cpu_s": cpu, "fake_cpu_s": fake_cpu}
