"""Permanent-looking failures are loud: an unreachable endpoint is a WARNING naming what to
check, said once a minute rather than on every retry."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import pytest

from bot.clock import SystemClock
from bot.im_robots.dingtalk_stream.connection import StreamConnection, is_auth_refusal
from bot.im_robots.dingtalk_stream.openapi import OpenApiCallError, OpenApiClient


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_endpoint_is_a_rate_limited_warning_naming_what_to_check(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    backoffs: list[dict[str, Any]] = []

    async def main() -> None:
        api = OpenApiClient(endpoint=endpoint, client_id="app", client_secret="secret", clock=SystemClock())
        conn = StreamConnection(
            api,
            max_backoff=0.05,
            on_event=lambda kind, f: backoffs.append(f) if kind == "stream.backoff" else None,
        )
        task = asyncio.ensure_future(conn.start())
        while len(backoffs) < 3 and not task.done():
            await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.close()

    with caplog.at_level(logging.WARNING, logger="bot.stream"):
        asyncio.run(asyncio.wait_for(main(), 30))
    assert len(backoffs) >= 3, "the robot keeps retrying"
    loud = [r for r in caplog.records if "cannot reach" in r.getMessage()]
    assert len(loud) == 1, "said once, not on every retry"
    assert loud[0].levelno == logging.WARNING
    assert endpoint in loud[0].getMessage() and "DINGTALK_OPENAPI_ENDPOINT" in loud[0].getMessage()


@pytest.mark.parametrize(
    ("status", "code", "refused"),
    [
        (401, "authFailed", True),
        (400, "invalidClientIdOrSecret", True),
        (403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", False),
        (500, "internal", False),
        (0, "network", False),
    ],
)
def test_which_answers_count_as_refused_credentials(status: int, code: str, refused: bool) -> None:
    assert is_auth_refusal(OpenApiCallError("POST /gw", status, code, "")) is refused
