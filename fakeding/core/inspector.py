"""What the emulator's inspector asks of a running fake: the frames pushed for one platform
message (its delivery key, the ``msgId`` of a robot message), rebuilt exactly as they were
sent, headers and data, one per attempt.

Why: records say that a frame was pushed, not what it carried (the data would double the
recording); the stream engine keeps each delivery until ``history_limit`` acked ones later, so
its frames can be shown as the robot received them.
"""

from __future__ import annotations

import json
from typing import Any

from fakeding.core.stream import protocol
from fakeding.core.stream.engine import Delivery, StreamEngine


def frames_for(engine: StreamEngine, app_ids: dict[str, str], key: str) -> list[dict[str, Any]]:
    """Every frame pushed for ``key`` (oldest first), each with its attempt number and whether
    its delivery was acked; ``app_ids`` maps clientId to appId (the frames' ``appId``)."""
    seen: dict[int, Delivery] = {}
    for d in [*engine.deliveries.values(), *engine.waiting]:
        if d.key == key and d.type != "SYSTEM":
            seen.setdefault(id(d), d)
    out: list[dict[str, Any]] = []
    for d in seen.values():
        for attempt, (message_id, ms, connection) in enumerate(d.pushes, start=1):
            frame = protocol.frame(
                type=d.type,
                topic=d.topic,
                message_id=message_id,
                time_ms=ms,
                data=d.data,
                app_id=app_ids.get(d.client_id),
                connection_id=connection,
                extra_headers=d.headers,
            )
            out.append(
                {
                    "client": d.client_id,
                    "attempt": attempt,
                    "acked": d.acked,
                    "frame": frame,
                    "data": json.loads(frame["data"]),
                }
            )
    out.sort(key=lambda f: int(f["frame"]["headers"]["time"]))
    return out
