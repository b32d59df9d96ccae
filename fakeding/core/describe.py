"""Records in words: the one vocabulary of scenario reports, ``serve -v`` and the emulator.

Volatile ids become stable references in order of appearance (``card#1``, ``msg#2``,
``conn#1``) so the same run always reads the same. A robot's own record kinds are described
by its adapter (``RobotVoice``; every scenario ``RobotAdapter`` is one).
"""

from __future__ import annotations

from typing import Any, Protocol

from fakeding.core.recorder import Record
from fakeding.core.render import card_lines

EXCERPT = 80  # characters of a card or a message a console line shows

HIDDEN_API = ("/v1.0/im/v1.0/robot/interactiveCards/send", "/v1.0/im/robots/interactiveCards")
# set-up calls, like the token and the gateway (HTTP mode registers its card callback route);
# how often a robot asks for a token depends on its cache and its pace, not on its answers
SETUP_API = ("oauth2", "gateway", "/card/callbacks/register", "GET /gettoken")


class RobotVoice(Protocol):
    @property
    def record_prefix(self) -> str:
        """Record kinds starting with this are the robot's own."""

    def describe(self, record: Record, refs: Refs) -> str | None:
        """One line for one of the robot's records; None hides it."""

    def card_state(self, card_data: Any) -> str:
        """A card version in a few words."""


class Refs:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, str]] = {}

    def __call__(self, prefix: str, value: Any) -> str:
        if value is None:
            return "-"
        table = self.tables.setdefault(prefix, {})
        key = str(value)
        if key not in table:
            table[key] = f"{prefix}#{len(table) + 1}"
        return table[key]


def describe(
    rec: Record,
    refs: Refs,
    cards: dict[str, Any],  # noqa: C901 - one case per kind
    convs: dict[str, str],
    robot: RobotVoice | None = None,
    times: str = "exact",
) -> str | None:
    """One timeline line for a record (None hides it); the robot's own kinds go to its adapter.
    ``times`` other than ``exact`` leaves measured durations (an ack's delay) out."""
    f = rec.fields
    k = rec.kind
    if robot is not None and robot.record_prefix and k.startswith(robot.record_prefix):
        return robot.describe(rec, refs)
    if k == "connect":
        return f"connect {refs('conn', f['connection'])}"
    if k == "disconnect":
        extra = f" ({f['fault']})" if f.get("fault") else ""
        return f"disconnect {refs('conn', f['connection'])} code={f.get('code')}{extra}"
    if k in ("push", "redeliver"):
        if f.get("type") == "SYSTEM":
            return f"{k} SYSTEM {f['topic']} → {refs('conn', f['connection'])}"
        what = _payload_ref(f, refs)
        extra = "".join(f" [{v}]" for v in (f.get("swallowed"), f.get("fault")) if v)
        return f"{k} {what} attempt={f['attempt']} → {refs('conn', f['connection'])}{extra}"
    if k == "queued":
        return f"queued {_payload_ref(f, refs)} (no live connection)"
    if k == "ack":
        if f.get("topic") == "ping":
            return None
        if str(f.get("key", "")).startswith(("disconnect:", "ping:")):
            return f"ack SYSTEM {f['topic']} code={f['code']}"
        later = " LATER" if f.get("later") else ""
        after = f" after={f['after']:.3f}s" if times == "exact" else ""
        return f"ack {_payload_ref(f, refs)} code={f['code']}{later}{after}"
    if k == "message":
        conv = convs.get(f["conversation"], f["conversation"])
        delivered = "" if f.get("delivered") else " (not delivered: no @robot in a group)"
        return f"user {f['sender']} → [{conv}] {refs('msg', f['msgId'])} {f['msgtype']}{delivered}"
    if k == "graph":
        conv = convs.get(f["conversation"], f["conversation"])
        return f"user {f['sender']} → [{conv}] {refs('msg', f['key'])} graph request"
    if k == "click":
        return f"click {refs('card', f['card'])} by {f['user']} on {f['button']}"
    if k in ("card.send", "card.update"):
        card = cards.get(f["card"])
        if card is None:
            return f"{k} {refs('card', f['card'])} v{f['version']}"
        data = card.versions[f["version"] - 1].card_data
        state = robot.card_state(data) if robot is not None else _excerpt(" / ".join(card_lines(data)))
        return f"{k} {refs('card', f['card'])} v{f['version']} {state}".rstrip()
    if k == "api":
        route = f["route"]
        if f["status"] == 200 and (route.endswith(HIDDEN_API) or any(part in route for part in SETUP_API)):
            return None
        code = f"{f['status']}"
        resp = f.get("response")
        if isinstance(resp, dict) and resp.get("code"):
            code += f" {resp['code']}"
        return f"api {route} → {code}"
    if k == "webhook":
        conv = convs.get(f.get("conversation") or "", f.get("conversation"))
        return f"webhook [{conv}] {f.get('msgtype')} errcode={f['errcode']}"
    if k == "fault":
        if f.get("fired"):
            delay = f" after {f['delay']:g}s" if f.get("delay") else ""
            return f"fault fired: {f['route']} → {f['status']} {f['code']}{delay}"
        details = " ".join(f"{a}={b}" for a, b in sorted(f.items()) if a != "fault")
        return f"fault {f.get('fault')} {details}".rstrip()
    if k == "callback":  # an HTTP callback; the URL (a free port) stays out of the report
        what = refs("msg", f["msgId"]) if "msgId" in f else refs("card", f.get("card", ""))
        if f.get("status") is None:
            return f"callback {what} → {f.get('target')} no answer"
        return f"callback {what} → {f.get('target')} HTTP {f['status']} after={f['after']:.3f}s"
    if k == "violation":
        return f"VIOLATION {f.get('reason')}"
    if k == "warning":
        return f"WARNING {f.get('reason')}"
    return f"{k} {f}"


def _payload_ref(f: dict[str, Any], refs: Refs) -> str:
    key = str(f.get("key", ""))
    if key.startswith("click:"):
        return f"click({refs('card', key.split(':')[1])})"
    return refs("msg", key)


def _excerpt(text: str, limit: int = EXCERPT) -> str:
    """``text`` on one line, cut to ``limit`` characters: what a card shows, at a glance."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else f"{flat[: limit - 1]}…"
