"""The doctor: likely misconfigurations, explained in DingTalk's words, from what happened.

Many "my robot never receives messages" reports are not bugs but configuration: a robot
subscribed to events but not to the robot topic, a group message without @, a reply through a
session webhook that expired, an ack slower than the redelivery delay, a card left on
"thinking". Each finding says what the platform did, why, and what to change. Pure: it reads
the platform's state, the Stream engine's connections and the recording; it changes nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fakeding.core.cards.model import FLOW_FAILED, FLOW_FINISHED
from fakeding.core.platform import Platform
from fakeding.core.record_kinds import RecordKind
from fakeding.core.recorder import Record
from fakeding.core.stream import protocol
from fakeding.core.stream.engine import Connection

SEVERITIES = ("error", "warning", "info")
STUCK_AFTER = 60.0  # seconds a card may sit unfinished before users are left with a spinner
ROBOT_TOPIC = ("CALLBACK", protocol.TOPIC_BOT_MESSAGE)


@dataclass(frozen=True)
class Finding:
    code: str  # stable, for scripts: "no-robot-topic", "slow-ack", ...
    severity: str  # "error" | "warning" | "info"
    title: str
    detail: str  # what the platform did and why
    fix: str  # what to change
    evidence: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "fix": self.fix,
            "evidence": list(self.evidence),
        }

    def line(self) -> str:
        """One line for a console: ``[warning] slow-ack: …``."""
        return f"[{self.severity}] {self.code}: {self.title}. {self.fix}"


def diagnose(platform: Platform, connections: Iterable[Connection], now: float) -> list[Finding]:
    """Every finding, errors first; an empty list when nothing looks wrong."""
    records = list(platform.recorder.records)
    live = [c for c in connections if c.state.value in ("live", "zombie")]
    found = [
        *_robot_topic(platform, live, records),
        *_no_connection(platform, live, records),
        *_group_without_at(records),
        *_webhook_expired(platform, records),
        *_slow_acks(platform, records),
        *_stuck_cards(platform, now),
        *_unregistered_templates(platform),
        *_refused_calls(records),
    ]
    return sorted(found, key=lambda f: SEVERITIES.index(f.severity))


def _robot_topic(
    platform: Platform, live: Sequence[Connection], records: Sequence[Record]
) -> Iterable[Finding]:
    by_app: dict[str, list[Connection]] = defaultdict(list)
    for conn in live:
        by_app[conn.app.client_id].append(conn)
    for client_id, conns in sorted(by_app.items()):
        if platform.apps[client_id].callback_url is not None:
            continue  # HTTP mode: robot messages are POSTed, not pushed
        if any(ROBOT_TOPIC in c.topics for c in conns):
            continue
        topics = sorted({f"{a} {b}" for c in conns for a, b in c.topics})
        waiting = sum(
            1
            for r in records
            if r.kind == RecordKind.QUEUED
            and r.fields.get("client") == client_id
            and r.fields.get("topic") == protocol.TOPIC_BOT_MESSAGE
        )
        yield Finding(
            "no-robot-topic",
            "error",
            f"app {client_id} is connected but will never receive robot messages",
            f"its connections subscribe to {topics or 'nothing'}; @mentions and 1:1 messages "
            f"come only on CALLBACK {protocol.TOPIC_BOT_MESSAGE} (an EVENT * subscription "
            f"does not carry them); {waiting} message(s) wait for such a connection",
            "register a handler for the robot topic: Python "
            "client.register_callback_handler(ChatbotMessage.TOPIC, handler), Node "
            "client.registerCallbackListener(TOPIC_ROBOT, ...), Java/Go: the bot message "
            "callback",
            tuple(f"{c.id}: {sorted(f'{a} {b}' for a, b in c.topics)}" for c in conns),
        )


def _no_connection(
    platform: Platform, live: Sequence[Connection], records: Sequence[Record]
) -> Iterable[Finding]:
    connected = {c.app.client_id for c in live}
    queued = Counter(str(r.fields.get("client")) for r in records if r.kind == RecordKind.QUEUED)
    for client_id, count in sorted(queued.items()):
        if client_id in connected or client_id not in platform.apps:
            continue
        yield Finding(
            "no-connection",
            "warning",
            f"{count} message(s) for app {client_id} wait: no robot is connected",
            "the platform keeps pushes for an app until one of its robots connects",
            f"start the robot with clientId {client_id} pointed at {platform.http_url} "
            "(Python: DINGTALK_OPENAPI_ENDPOINT; other languages: fakeding env --lang LANG)",
        )


def _group_without_at(records: Sequence[Record]) -> Iterable[Finding]:
    missed = [r for r in records if r.kind == RecordKind.MESSAGE and r.fields.get("delivered") is False]
    if not missed:
        return
    groups = sorted({str(r.fields.get("conversation")) for r in missed})
    yield Finding(
        "group-without-at",
        "info",
        f"{len(missed)} group message(s) without @robot were not delivered",
        "DingTalk delivers a group message to a robot only when the robot is @-mentioned "
        "(1:1 chats always reach it); an @all does not count as mentioning it",
        "@ the robot in the group (atBot: true in the control API, the @ in the emulator)",
        tuple(f"{r.fields.get('msgId')} in {r.fields.get('conversation')}" for r in missed[:5])
        + ((f"… in {len(groups)} conversation(s)",) if len(missed) > 5 else ()),
    )


def _webhook_expired(platform: Platform, records: Sequence[Record]) -> Iterable[Finding]:
    late = [
        r
        for r in records
        if r.kind == RecordKind.WEBHOOK
        and r.fields.get("errcode") == 300001
        and r.fields.get("client") is not None
    ]
    if not late:
        return
    ttl = platform.settings.webhook_ttl
    yield Finding(
        "webhook-expired",
        "error",
        f"{len(late)} reply(ies) through a session webhook after it expired",
        f"a message's sessionWebhook works until its sessionWebhookExpiredTime ({ttl:g} s "
        f"after the message here); later posts are answered errcode 300001 and nobody sees them",
        "answer within the webhook's lifetime, or send late answers with POST "
        "/v1.0/robot/groupMessages/send (groups) or /v1.0/robot/oToMessages/batchSend (1:1)",
        tuple(f"at +{r.t:.1f}s in {r.fields.get('conversation')}" for r in late[:5]),
    )


def _slow_acks(platform: Platform, records: Sequence[Record]) -> Iterable[Finding]:
    redelivered = {r.fields.get("key") for r in records if r.kind == RecordKind.REDELIVER}
    slow = [
        r
        for r in records
        if r.kind == RecordKind.ACK and r.fields.get("key") in redelivered and r.fields.get("topic") != "ping"
    ]
    delay = platform.settings.redelivery_delay
    if not slow or delay is None:
        return
    yield Finding(
        "slow-ack",
        "warning",
        f"{len({r.fields.get('key') for r in slow})} message(s) acked only after the platform "
        "had delivered them again",
        f"the platform redelivers a message that is not acked within {delay:g} s; a robot "
        "that works before it acks gets the message twice and may answer twice",
        "ack as soon as the message arrives and do the work afterwards (Python SDK: start the "
        "work in a task and return AckMessage.STATUS_OK at once; Node: "
        "socketCallBackResponse first)",
        tuple(f"{r.fields.get('key')} acked {r.fields.get('after')} s after its last push" for r in slow[:5]),
    )


def _stuck_cards(platform: Platform, now: float) -> Iterable[Finding]:
    stuck = [
        c
        for c in platform.cards.all()
        if c.kind == "instance"
        and c.flow_status not in (FLOW_FINISHED, FLOW_FAILED)
        and now - c.versions[-1].t > STUCK_AFTER
    ]
    if not stuck:
        return
    yield Finding(
        "card-unfinished",
        "warning",
        f"{len(stuck)} AI card(s) still unfinished more than {STUCK_AFTER:g} s after their last change",
        "an AI card that is never finished or failed keeps showing its processing or "
        "typing state: users see a card stuck on 'thinking'",
        "finish every card: PUT /v1.0/card/streaming with isFinalize true, or PUT "
        "/v1.0/card/instances with flowStatus 3 (finished) or 5 (failed) when the answer fails",
        tuple(
            f"{c.id} (flowStatus {c.flow_status}, last change +{c.versions[-1].t:.1f}s)" for c in stuck[:5]
        ),
    )


def _unregistered_templates(platform: Platform) -> Iterable[Finding]:
    """Cards from templates the fake has no export of: what users see there goes unchecked."""
    used = sorted(
        {
            c.template_id
            for c in platform.cards.all()
            if c.kind == "instance" and platform.templates.get(c.template_id) is None
        }
    )
    if not used or platform.templates.configured:
        return  # with a registry, an unknown template id is refused (and a violation)
    yield Finding(
        "template-unregistered",
        "info",
        f"{len(used)} card template(s) in use that the fake has no export of",
        "the fake cannot tell whether these cards draw anything: a key the template does "
        "not bind, a missing failed state or a streaming variable that is not markdown all "
        "leave users a blank card",
        "export each template from DingTalk's card platform and register it: fakeding serve "
        "--templates DIR, fakeding.add_template(id, path), or a scenario's templates:",
        tuple(used[:5]),
    )


def _refused_calls(records: Sequence[Record]) -> Iterable[Finding]:
    qps: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    for r in records:
        if r.kind != RecordKind.API:
            continue
        response = r.fields.get("response")
        code = response.get("code") if isinstance(response, dict) else None
        if r.fields.get("status") == 403 and "QpsLimit" in str(code):
            qps[str(r.fields.get("route"))] += 1
        elif code == "InvalidAuthentication":
            tokens[str(r.fields.get("route"))] += 1
    if qps:
        yield Finding(
            "qps-refused",
            "warning",
            f"{sum(qps.values())} call(s) refused by the per-app QPS limit",
            "the platform allows 20 calls per second per app and API; over it the answer is "
            "403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi and the update is lost",
            "throttle card updates (e.g. one streaming update per card every 0.3 s or more) "
            "and retry 403s after a pause",
            tuple(f"{route}: {n}" for route, n in qps.most_common(5)),
        )
    if tokens:
        yield Finding(
            "token-refused",
            "warning",
            f"{sum(tokens.values())} call(s) with an expired or unknown access token",
            "tokens live expireIn seconds (7200); after that every call answers 400 InvalidAuthentication",
            "cache the token with its expiry and fetch a new one a few minutes before it ends",
            tuple(f"{route}: {n}" for route, n in tokens.most_common(5)),
        )
