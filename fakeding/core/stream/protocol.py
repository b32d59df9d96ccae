"""Stream frames as the platform writes them, and the client acks it accepts.

Pure: builders return dicts, the parser validates text. Rules come from the protocol reference:
``specVersion`` "1.0", ``type`` in SYSTEM/EVENT/CALLBACK, every header value a string, ``data``
a string holding JSON. Acks are ``{"code", "headers": {"messageId", ...}, "message", "data"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fakeding.core import jsonsafe
from fakeding.core.exceptions import ProtocolViolation

TOPIC_BOT_MESSAGE = "/v1.0/im/bot/messages/get"
TOPIC_CARD_CALLBACK = "/v1.0/card/instances/callback"
TOPIC_GRAPH = "/v1.0/graph/api/invoke"
FRAME_TYPES = ("SYSTEM", "EVENT", "CALLBACK")
# json.dumps(ensure_ascii=False, separators=(",", ":")), set up once
_ENCODE_DATA = jsonsafe.encoder(compact=True)


def frame(
    *,
    type: str,
    topic: str,
    message_id: str,
    time_ms: int,
    data: dict[str, Any],
    app_id: str | None = None,
    connection_id: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A server-to-client frame; ``data`` is serialised to a JSON string as the platform does;
    ``extra_headers`` (string values) carry an EVENT's ``eventType``, ``eventId``..."""
    if type not in FRAME_TYPES:
        raise ValueError(f"frame type must be one of {FRAME_TYPES}, found {jsonsafe.echo(type)}")
    headers = {
        "contentType": "application/json",
        "messageId": message_id,
        "time": str(time_ms),
        "topic": topic,
    }
    if app_id is not None:
        headers["appId"] = app_id
    if connection_id is not None:
        headers["connectionId"] = connection_id
    headers.update(extra_headers or {})
    return {
        "specVersion": "1.0",
        "type": type,
        "headers": dict(sorted(headers.items())),
        "data": _ENCODE_DATA(data),
    }


@dataclass(frozen=True)
class Ack:
    code: int
    message_id: str
    message: str
    data: Any  # the parsed JSON of the ``data`` string, or the raw string when it is not JSON
    raw: dict[str, Any]


def parse_ack(text: str | bytes) -> Ack:
    """Validate one client frame; raise ``ProtocolViolation`` saying what is wrong.

    Parsed strictly (``fakeding.core.jsonsafe``): no nesting beyond its limit, no lone surrogates,
    no NaN, so no frame can break the pump or poison what is recorded.
    """
    if isinstance(text, bytes):
        raise ProtocolViolation("expected a text frame holding one JSON object, found a binary frame")
    try:
        obj = jsonsafe.loads(text, what="frame")
    except jsonsafe.BadJson as exc:
        raise ProtocolViolation(f"expected a JSON object, found unparsable text: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolViolation(f"expected a JSON object, found {type(obj).__name__}")
    code = obj.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        raise ProtocolViolation(f"ack 'code' must be an integer, found {jsonsafe.echo(code)}")
    headers = obj.get("headers")
    if not isinstance(headers, dict):
        raise ProtocolViolation(f"ack 'headers' must be an object, found {jsonsafe.echo(headers)}")
    message_id = headers.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise ProtocolViolation(
            f"ack 'headers.messageId' must be a non-empty string, found {jsonsafe.echo(message_id)}"
        )
    message = obj.get("message", "")
    if message is not None and not isinstance(message, str):
        raise ProtocolViolation(f"ack 'message' must be a string, found {jsonsafe.echo(message)}")
    raw_data = obj.get("data", "")
    if raw_data is None:
        raw_data = ""
    if not isinstance(raw_data, str):
        raise ProtocolViolation(f"ack 'data' must be a string holding JSON, found {type(raw_data).__name__}")
    data: Any = raw_data
    if raw_data:
        try:
            data = jsonsafe.loads(raw_data, what="ack data")
        except jsonsafe.BadJson:
            data = raw_data
    return Ack(code=code, message_id=message_id, message=message or "", data=data, raw=obj)
