"""The legacy media upload (``POST /media/upload`` on the oapi host) and the media ids it hands
out, which robot messages (``sampleImageMsg``, ``sampleAudio``, ``sampleFile``, ``sampleVideo``)
may then carry.

Why: the Python SDK's ``upload_to_dingtalk`` (behind ``extract_image_from_incoming_message``)
posts there; without it a robot that re-sends a user's picture gets ``None``. The legacy API
answers HTTP 200 with an ``errcode`` as every oapi route does.
"""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from fakeding.core.exceptions import OpenApiError
from fakeding.core.jsonsafe import echo
from fakeding.core.platform import App, Platform

PATH = "/media/upload"
FIELD_MAX_BYTES = 4096  # a form field (``type``) longer than this is cut
CHUNK = 64 * 1024
MEDIA_TYPES = ("image", "voice", "video", "file")
# Which msgParam fields of a robot message name an uploaded media id.
MEDIA_FIELDS = {
    "sampleImageMsg": ("photoURL",),
    "sampleAudio": ("mediaId",),
    "sampleFile": ("mediaId",),
    "sampleVideo": ("videoMediaId", "picMediaId"),
}


def _error(errcode: int, errmsg: str) -> dict[str, Any]:
    return {"errcode": errcode, "errmsg": errmsg}


async def upload(
    platform: Platform, t: float, request: web.Request
) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """Serve one upload: (clientId or None, what to record as the request, the answer)."""
    try:
        app = platform.authenticate(t, request.query.get("access_token"))
    except OpenApiError:
        return None, {}, _error(40014, "不合法的access_token")
    form: dict[str, Any] = {}
    name, data = "", b""
    limit = platform.settings.media_max_bytes
    cap = request.app._client_max_size if limit is None else limit  # noqa: SLF001
    over = False
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()  # parts are not bounded by client_max_size: read
        async for part in reader:  # each to its cap, in chunks
            if not isinstance(part, BodyPartReader):  # a nested multipart: not a field
                continue
            if part.name == "media":
                name = part.filename or "media"
                data, over = await _read_capped(part, cap)
                if over:
                    break
            elif part.name:
                raw, long = await _read_capped(part, FIELD_MAX_BYTES)
                form[part.name] = raw.decode("utf-8", "replace") + ("…" if long else "")
    kind = request.query.get("type") or form.get("type")
    seen = {"type": kind, "filename": name or None, "bytes": len(data)}
    if over:
        return (
            app.client_id,
            dict(seen, truncated=True),
            _error(
                40006,
                f"不合法的文件大小 (expected 1 to {cap} bytes, found more than {cap}; the "
                "platform stopped reading there)",
            ),
        )
    if kind not in MEDIA_TYPES:
        return (
            app.client_id,
            seen,
            _error(
                40004,
                f"不合法的媒体文件类型 (type: expected one of {', '.join(MEDIA_TYPES)}, found {echo(kind)})",
            ),
        )
    if not name:
        return (
            app.client_id,
            seen,
            _error(41001, "缺少media参数 (send the file as multipart/form-data field 'media')"),
        )
    if not data or (limit is not None and len(data) > limit):
        return (
            app.client_id,
            seen,
            _error(40006, f"不合法的文件大小 (expected 1 to {limit} bytes, found {len(data)})"),
        )
    media_id = "@lA" + platform.ids.code("D")
    platform.media[media_id] = (app.client_id, kind, name, data)
    return (
        app.client_id,
        seen,
        {"errcode": 0, "errmsg": "ok", "media_id": media_id, "type": kind, "created_at": round(t * 1000)},
    )


async def _read_capped(part: BodyPartReader, cap: int) -> tuple[bytes, bool]:
    """A part's bytes up to ``cap``; True when there was more (the rest is left unread)."""
    got = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        if len(got) + len(chunk) > cap:
            return bytes(got), True
        got += chunk
    return bytes(got), False


def check_message_media(platform: Platform, app: App, msg_key: str, param: dict[str, Any]) -> str:
    """Every media id a robot message names must be one this app uploaded; returns how the
    message reads in a transcript ('' when it names none)."""
    shown: list[str] = []
    for name in MEDIA_FIELDS.get(msg_key, ()):
        value = param.get(name)
        if name == "photoURL" and not (isinstance(value, str) and value.startswith("@")):
            continue  # a picture by URL
        if value is None and name == "picMediaId":
            continue
        entry = platform.media.get(value) if isinstance(value, str) else None
        if entry is None or entry[0] != app.client_id:
            raise OpenApiError(
                400,
                "invalidParameter.msgParam.invalid",
                f"msgParam.{name}: expected a media_id this app uploaded with "
                f"POST /media/upload, found {echo(value)}",
            )
        shown.append(f"[{entry[1]} {entry[2]}]")
    return " ".join(shown)
