"""The callbacks' one I/O edge: POST a JSON body to a robot's URL with aiohttp, reading a bounded
answer (the pure half, signing and judging, is ``fakeding.core.callbacks``)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from fakeding.core.callbacks import ANSWER_MAX_BYTES, Response

_CHUNK = 64 * 1024


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    timeout: float,
    max_bytes: int = ANSWER_MAX_BYTES,
) -> Response:
    """POST ``body`` as JSON, following no redirect, reading at most ``max_bytes`` of the
    answer; raises ``TimeoutError`` after ``timeout`` s and ``aiohttp.ClientError`` when the
    target cannot be reached."""
    data = json.dumps(body, ensure_ascii=False).encode()
    async with session.post(
        url,
        data=data,
        timeout=aiohttp.ClientTimeout(total=timeout),
        allow_redirects=False,
        headers={"Content-Type": "application/json; charset=utf-8", **headers},
    ) as response:
        location = response.headers.get("Location")
        declared = response.content_length
        if declared is not None and declared > max_bytes:
            return Response(
                response.status,
                b"",
                location,
                f"a body of {declared} bytes (Content-Length), over the {max_bytes} bytes the platform reads",
            )
        got = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            if len(got) + len(chunk) > max_bytes:
                return Response(
                    response.status,
                    bytes(got),
                    location,
                    f"a body of more than {max_bytes} bytes (the platform stopped "
                    f"reading at {len(got) + len(chunk)})",
                )
            got += chunk
        return Response(response.status, bytes(got), location)
