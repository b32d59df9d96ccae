"""DingTalk's custom group robot, free of I/O: the ``/robot/send?access_token=…`` webhook that
alerting, CI and monitoring tools post to, with the security settings a group owner picks.

A group owner adds a "custom robot" to a group and chooses one or more of: keywords (a message
must contain one), a signature (``timestamp`` in ms and ``sign`` =
base64(HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}")) in the query, within one hour of
the platform's clock) and an IP allowlist. The platform answers HTTP 200 with an ``errcode``;
every refusal below is one users report (sources in ``docs/PARITY.md``). Messages that pass
land in the group's transcript; each robot may send 20 a minute, then it is blocked for ten.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fakeding.core.exceptions import ControlError
from fakeding.core.limits import WindowLimiter

MSGTYPES = ("text", "markdown", "link", "actionCard", "feedCard")
SIGN_WINDOW_MS = 3_600_000  # one hour either way
BLOCK_SECONDS = 600.0  # after the 21st message in a minute: ten minutes of refusals

# errcode, errmsg: the texts users quote from the real platform
TOKEN_UNKNOWN = (300001, "token is not exist")
BAD_TIMESTAMP = (310000, "invalid timestamp")
SIGN_MISMATCH = (310000, "sign not match")
NO_KEYWORD = (310000, "keywords not in content")
IP_REFUSED = (310000, "description:ip 不在白名单中;solution:请联系对应群的管理员，设置机器人安全ip地址段")
TOO_FAST = (130101, "send too fast, exceed 20 times per minute")
MISSING_JSON = (40035, "缺少参数 json")


def sign(secret: str, timestamp_ms: int | str) -> str:
    """The ``sign`` query value a sender computes, before URL encoding (DingTalk's recipe)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


@dataclass(frozen=True)
class CustomRobot:
    """One custom robot in one group, as its owner configured it."""

    access_token: str
    conversation_id: str
    secret: str | None = None
    keywords: tuple[str, ...] = ()
    ip_allowlist: tuple[str, ...] = ()  # addresses or CIDR ranges
    name: str = "Custom robot"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CustomRobot:
        """From ``{accessToken, conversationId, secret?, keywords?, ipAllowlist?, name?}``;
        a ``ControlError`` names the field that is wrong."""
        known = {"accessToken", "conversationId", "secret", "keywords", "ipAllowlist", "name"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ControlError(unknown[0], f"unknown field; expected some of {sorted(known)}")
        token = _text(data, "accessToken")
        conversation = _text(data, "conversationId")
        secret = data.get("secret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ControlError(
                "secret", f"expected a non-empty string (the SEC… value), found {type(secret).__name__}"
            )
        keywords = _strings(data, "keywords", limit=10)
        allow = _strings(data, "ipAllowlist", limit=10)
        for entry in allow:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ControlError(
                    "ipAllowlist",
                    f"expected IP addresses or CIDR ranges (e.g. 127.0.0.1, 10.0.0.0/8), found {entry!r}",
                ) from None
        name = data.get("name", "Custom robot")
        if not isinstance(name, str) or not name:
            raise ControlError("name", f"expected a non-empty string, found {name!r}")
        return cls(token, conversation, secret, keywords, allow, name)

    def to_json(self) -> dict[str, Any]:
        """What the control API shows: the settings, never the secret or the whole token."""
        return {
            "accessToken": f"{self.access_token[:6]}…",
            "conversationId": self.conversation_id,
            "name": self.name,
            "signed": self.secret is not None,
            "keywords": list(self.keywords),
            "ipAllowlist": list(self.ip_allowlist),
        }

    def allows_ip(self, address: str) -> bool:
        if not self.ip_allowlist:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(entry, strict=False) for entry in self.ip_allowlist)


@dataclass(frozen=True)
class Post:
    """One POST to ``/robot/send`` as the platform judged it."""

    robot: CustomRobot | None
    errcode: int
    errmsg: str
    msgtype: str | None = None
    text: str = ""  # what the group sees, for the transcript
    data: dict[str, Any] = field(default_factory=dict)  # the message part and its @ list

    @property
    def answer(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "errmsg": self.errmsg}


class CustomRobots:
    """The custom robots of one fake, keyed by access token, with their rate windows."""

    def __init__(self, per_minute: int | None = 20) -> None:
        self.robots: dict[str, CustomRobot] = {}
        self.secrets: set[str] = set()  # tokens and signing secrets: never recorded
        self.use_limit(per_minute)

    def use_limit(self, per_minute: int | None) -> None:
        self.limit = WindowLimiter(per_minute, 60.0)
        self.blocked_until: dict[str, float] = {}

    def add(self, robot: CustomRobot) -> CustomRobot:
        self.robots[robot.access_token] = robot
        self.secrets.add(robot.access_token)
        if robot.secret is not None:
            self.secrets.add(robot.secret)
        return robot

    def post(self, t: float, wall_ms: int, query: Mapping[str, str], remote: str, body: Any) -> Post:
        """Judge one send in the platform's order: token, signature, IP, body, keywords, rate."""
        robot = self.robots.get(query.get("access_token") or "")
        if robot is None:
            return Post(None, *TOKEN_UNKNOWN)
        if robot.secret is not None:
            refused = _check_signature(robot.secret, wall_ms, query)
            if refused is not None:
                return Post(robot, *refused)
        if not robot.allows_ip(remote):
            code, msg = IP_REFUSED
            return Post(robot, code, f"{msg} (from {remote})")
        if not isinstance(body, dict):
            return Post(robot, *MISSING_JSON)
        msgtype = body.get("msgtype")
        if msgtype not in MSGTYPES:
            return Post(
                robot,
                40035,
                f"不合法的参数 msgtype: expected one of {', '.join(MSGTYPES)}, found {_short(msgtype)}",
            )
        part = body.get(msgtype)
        if not isinstance(part, dict):
            return Post(robot, 40035, f"缺少参数 {msgtype}", msgtype)
        text = message_text(msgtype, part)
        if robot.keywords and not any(k in text for k in robot.keywords):
            return Post(robot, *NO_KEYWORD, msgtype=msgtype)
        if t < self.blocked_until.get(robot.access_token, float("-inf")):
            return Post(robot, *TOO_FAST, msgtype=msgtype)
        if not self.limit.allow((robot.access_token,), t):
            self.blocked_until[robot.access_token] = t + BLOCK_SECONDS
            return Post(robot, *TOO_FAST, msgtype=msgtype)
        data = {msgtype: part, "at": _at(body.get("at"))}
        return Post(robot, 0, "ok", msgtype, text, data)


def message_text(msgtype: str, part: Mapping[str, Any]) -> str:
    """The text a group member reads (and keywords are looked for in)."""

    def s(key: str, where: Mapping[str, Any] = part) -> str:
        value = where.get(key)
        return value if isinstance(value, str) else ""

    if msgtype == "text":
        return s("content")
    if msgtype == "feedCard":
        links = part.get("links")
        items = links if isinstance(links, list) else []
        return "\n".join(s("title", link) for link in items if isinstance(link, dict))
    lines = [s("title"), s("text")]
    if msgtype == "actionCard":
        lines.append(s("singleTitle"))
        buttons = part.get("btns")
        lines += [s("title", b) for b in buttons if isinstance(b, dict)] if isinstance(buttons, list) else []
    return "\n".join(line for line in lines if line)


def _check_signature(secret: str, wall_ms: int, query: Mapping[str, str]) -> tuple[int, str] | None:
    stamp, given = query.get("timestamp"), query.get("sign")
    if stamp is None or not stamp.isdigit() or len(stamp) > 16:
        return BAD_TIMESTAMP
    if abs(int(stamp) - wall_ms) > SIGN_WINDOW_MS:
        return BAD_TIMESTAMP
    if given is None or not hmac.compare_digest(given, sign(secret, stamp)):
        return SIGN_MISMATCH
    return None


def _at(value: Any) -> dict[str, Any]:
    """``at`` as the group shows it: who was mentioned and whether everyone was."""
    at = value if isinstance(value, dict) else {}

    def strings(key: str) -> list[str]:
        found = at.get(key)
        return [v for v in found if isinstance(v, str)] if isinstance(found, list) else []

    return {
        "atMobiles": strings("atMobiles"),
        "atUserIds": strings("atUserIds"),
        "isAtAll": at.get("isAtAll") is True,
    }


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ControlError(key, f"expected a non-empty string, found {_short(value)}")
    return value


def _strings(data: Mapping[str, Any], key: str, *, limit: int) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ControlError(key, f"expected a list of non-empty strings, found {_short(value)}")
    if len(value) > limit:
        raise ControlError(key, f"DingTalk allows at most {limit}, found {len(value)}")
    return tuple(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}…"
