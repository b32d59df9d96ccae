"""Keep secrets out of the recording: secrets and tokens never reach a record or a log."""

from __future__ import annotations

from typing import Any

SECRET_KEYS = {"clientSecret", "appSecret", "appsecret", "accessToken", "access_token"}


def mask(value: str) -> str:
    return value[:4] + "…" if len(value) > 4 else "…"


def redact(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: (mask(v) if k in SECRET_KEYS and isinstance(v, str) else redact(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj
