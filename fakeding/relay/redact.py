"""Consistent replacement of what a recording must not keep (pure).

Why: a recording made against a real tenant holds the app's secret, access tokens, Stream
tickets, session-webhook keys, people's ids and names. Each sensitive value is noted as the
exchange is walked, then replaced by the same placeholder wherever it occurs in the written
text (raw and URL-encoded), so references stay consistent and nothing leaks through a field
the walk did not name.
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from collections.abc import Iterable
from typing import Any

SECRET = "REDACTED-SECRET"
SECRET_KEYS = frozenset(
    {
        "clientSecret",
        "appSecret",
        "appsecret",
        "corpsecret",
        "client_secret",
        "suiteSecret",
        "Authorization",
        "authorization",
    }
)
TOKEN_KEYS = frozenset(
    {"accessToken", "access_token", "x-acs-dingtalk-access-token", "ticket", "session", "refreshToken"}
)
# key -> the kind of id it holds (the placeholder's stem)
ID_KEYS: dict[str, str] = {
    "senderStaffId": "user",
    "staffId": "user",
    "userId": "user",
    "userIds": "user",
    "senderId": "sender",
    "unionId": "union",
    "senderUnionId": "union",
    "conversationId": "conversation",
    "openConversationId": "conversation",
    "chatbotUserId": "robot",
    "chatbotCorpId": "corp",
    "senderCorpId": "corp",
    "corpId": "corp",
    "eventCorpId": "corp",
    "robotCode": "app",
    "clientId": "app",
    "appKey": "app",
    "appkey": "app",
    "appId": "appid",
    "eventUnifiedAppId": "appid",
}
NAME_KEYS: dict[str, str] = {"senderNick": "User", "conversationTitle": "Group"}
SHORTEST = 4  # shorter values are too likely to occur by chance in other text


class Redactor:
    """Notes sensitive values (``walk``) and replaces them in text (``apply``)."""

    def __init__(self, *, keep_names: bool = False) -> None:
        self.keep_names = keep_names
        self.secrets: set[str] = set()
        self.table: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def secret(self, value: str) -> None:
        if value:
            self.secrets.add(value)

    def placeholder(self, value: str, stem: str) -> str:
        """The value's placeholder (``user-1``, ``token-2``), made on first sight."""
        if value not in self.table:
            self._counts[stem] = self._counts.get(stem, 0) + 1
            sep = " " if stem[:1].isupper() else "-"
            self.table[value] = f"{stem}{sep}{self._counts[stem]}"
        return self.table[value]

    def walk(self, value: Any, key: str = "") -> None:
        """Note what ``value`` (JSON-like; strings holding JSON or URLs included) holds."""
        if isinstance(value, dict):
            for k, v in value.items():
                self.walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                self.walk(v, key)
        elif isinstance(value, str):
            self._string(value, key)

    def _string(self, value: str, key: str) -> None:
        if key in SECRET_KEYS:
            self.secret(value)
            return
        if key in TOKEN_KEYS and len(value) >= SHORTEST:
            self.placeholder(value, "token")
            return
        if key in ID_KEYS and len(value) >= SHORTEST:
            self.placeholder(value, ID_KEYS[key])
            return
        if key in NAME_KEYS and not self.keep_names and value:
            self.placeholder(value, NAME_KEYS[key])
            return
        text = value.strip()
        if text[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                self.walk(json.loads(text), key)
        elif "://" in text or "?" in text or key in ("query", "url", "path"):
            query = urllib.parse.urlsplit(text).query if "://" in text or "?" in text else text
            for k, v in urllib.parse.parse_qsl(query):
                self._string(v, k)

    def pairs(self) -> list[tuple[str, str]]:
        """(value, replacement), longest value first, in raw and URL-encoded spellings."""
        out: dict[str, str] = {}
        for value, stand_in in [*((s, SECRET) for s in self.secrets), *self.table.items()]:
            for spelling in _spellings(value):
                out.setdefault(spelling, stand_in)
        return sorted(out.items(), key=lambda p: -len(p[0]))

    def apply(self, text: str) -> str:
        for value, stand_in in self.pairs():
            text = text.replace(value, stand_in)
        return text

    def leaks(self, text: str) -> list[str]:
        """Secrets still in ``text`` (should be none after ``apply``), shown masked."""
        return [
            f"{s[:2]}...({len(s)} chars)" for s in self.secrets if any(sp in text for sp in _spellings(s))
        ]


def _spellings(value: str) -> Iterable[str]:
    seen = {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        json.dumps(value)[1:-1],
    }
    return sorted(seen)
