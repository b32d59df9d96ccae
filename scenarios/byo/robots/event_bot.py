"""An event robot: it consumes organisation events and asks for a retry when busy."""

from __future__ import annotations

import dingtalk_stream
from dingtalk_stream import AckMessage


class OrgEvents(dingtalk_stream.EventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    async def process(self, event: dingtalk_stream.EventMessage) -> tuple[int, str]:
        self.seen.append(event.headers.event_type)
        if event.headers.event_type == "user_leave_org" and self.seen.count("user_leave_org") == 1:
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "busy, later"  # first time: retry later
        return AckMessage.STATUS_OK, "OK"
