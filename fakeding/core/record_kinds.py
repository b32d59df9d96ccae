"""Every kind of record the fake writes, with the fields each carries.

``RecordKind`` is a ``StrEnum`` whose values are the strings records always had, so JSON lines,
snapshots and the control API do not change (``RecordKind.PUSH == "push"``). Each kind has a
payload ``TypedDict``: records stay plain dicts (cleaned by ``jsonsafe``) in memory and on the
wire, and a TypedDict types such a dict at no runtime cost, where a dataclass would need a
second representation and a conversion at every edge. The payloads list every field a writer
may set; a test checks the records of real runs against them.

``FAKE_ERROR`` is the fake's own failure (an unexpected exception inside fakeding): it fails
``check()`` like a ``VIOLATION`` but is reported as fakeding's fault, never the robot's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypedDict


class RecordKind(StrEnum):
    CONNECT = "connect"
    DISCONNECT = "disconnect"
    REFUSED = "refused"
    PUSH = "push"
    REDELIVER = "redeliver"
    QUEUED = "queued"
    GAVE_UP = "gave_up"
    ACK = "ack"
    API = "api"
    CALLBACK = "callback"
    WEBHOOK = "webhook"
    CUSTOM_ROBOT = "custom_robot"
    CARD_SEND = "card.send"
    CARD_UPDATE = "card.update"
    MESSAGE = "message"
    GRAPH = "graph"
    CLICK = "click"
    FAULT = "fault"
    VIOLATION = "violation"
    WARNING = "warning"
    FAKE_ERROR = "fake_error"
    ROBOT_EXCEPTION = "robot.exception"
    ROBOT_EXIT = "robot.exit"
    ROBOT_OUTSIDE = "robot.outside"
    ROBOT_THREAD_STOPPED = "robot.thread_stopped"
    ROBOT_UNFINISHED = "robot.unfinished"


CARD_KINDS = (RecordKind.CARD_SEND, RecordKind.CARD_UPDATE)
ROBOT_KINDS = (RecordKind.ROBOT_EXCEPTION, RecordKind.ROBOT_EXIT)
# Records that fail check() and a pytest test: the robot's mistakes and the fake's own bugs.
FAILING_KINDS = (RecordKind.VIOLATION, RecordKind.FAKE_ERROR)

BUG_REPORT = (
    "a bug in fakeding, not in your robot: please file an issue in fakeding's repository with "
    "this record and the traceback logged on the 'fakeding' logger"
)


class ConnectPayload(TypedDict, total=False):
    client: str
    connection: str
    subscriptions: list[dict[str, Any]]


class DisconnectPayload(TypedDict, total=False):
    client: str
    connection: str
    was: str
    code: int | None
    fault: str
    reason: str


class RefusedPayload(TypedDict, total=False):
    client: str | None
    reason: str


class PushPayload(TypedDict, total=False):
    client: str
    connection: str
    key: str
    messageId: str
    topic: str
    type: str
    attempt: int
    swallowed: str
    fault: str


class QueuedPayload(TypedDict, total=False):
    client: str
    key: str
    topic: str
    reason: str


class AckPayload(TypedDict, total=False):
    client: str
    connection: str
    key: str
    messageId: str
    topic: str
    code: int
    after: float
    late: bool


class ApiPayload(TypedDict, total=False):
    route: str
    client: str | None
    status: int
    request: Any
    response: Any


class CallbackPayload(TypedDict, total=False):
    url: str
    status: int | None
    after: float
    location: str
    target: str  # "robot" (a message) or "card" (a card callback)
    client: str
    msgId: str
    card: str


class WebhookPayload(TypedDict, total=False):
    client: str | None
    conversation: str | None
    session: str
    msgtype: str
    msgId: str
    errcode: int
    errmsg: str
    request: Any
    via: str


class CustomRobotPayload(TypedDict, total=False):
    robot: str
    conversation: str
    msgtype: str
    errcode: int
    errmsg: str
    request: Any


class CardPayload(TypedDict, total=False):
    card: str
    version: int
    via: str
    conversation: str | None
    user: str | None
    flowStatus: str | None


class MessagePayload(TypedDict, total=False):
    client: str
    conversation: str
    sender: str
    session: str
    msgId: str
    msgtype: str
    atBot: bool
    delivered: bool


class GraphPayload(TypedDict, total=False):
    client: str
    conversation: str
    sender: str
    session: str
    key: str


class ClickPayload(TypedDict, total=False):
    client: str
    card: str
    user: str
    button: str


class FaultPayload(TypedDict, total=False):
    """An armed fault carries its spec (``fakeding.core.faults``) but ``at`` and ``kind``."""

    fault: str
    fired: bool
    client: str
    connection: str
    client_id: str
    clientId: str
    nth: int
    count: int
    action: str
    delay: float
    route: str
    topic: str
    status: int
    code: Any
    message: str
    seconds: float


class ViolationPayload(TypedDict, total=False):
    reason: str
    client: str | None
    connection: str
    card: str
    template: str
    key: str
    topic: str
    code: Any
    frame: Any
    message: Any
    connections: Any
    ticket: str
    target: str
    msgId: str


class WarningPayload(TypedDict, total=False):
    reason: str
    card: str
    template: str


class FakeErrorPayload(TypedDict, total=False):
    where: str
    problem: str
    reason: str
    connection: str


class RobotExceptionPayload(TypedDict, total=False):
    where: str
    type: str
    message: str
    traceback: str


class RobotExitPayload(TypedDict, total=False):
    code: int | None
    output: str


class RobotOutsidePayload(TypedDict, total=False):
    host: str
    connections: int
    real_seconds: float
    advice: str


class RobotThreadStoppedPayload(TypedDict, total=False):
    thread: str
    doing: str
    reason: str


class RobotUnfinishedPayload(TypedDict, total=False):
    pending: Any


PAYLOADS: dict[RecordKind, type[Any]] = {
    RecordKind.CONNECT: ConnectPayload,
    RecordKind.DISCONNECT: DisconnectPayload,
    RecordKind.REFUSED: RefusedPayload,
    RecordKind.PUSH: PushPayload,
    RecordKind.REDELIVER: PushPayload,
    RecordKind.QUEUED: QueuedPayload,
    RecordKind.GAVE_UP: QueuedPayload,
    RecordKind.ACK: AckPayload,
    RecordKind.API: ApiPayload,
    RecordKind.CALLBACK: CallbackPayload,
    RecordKind.WEBHOOK: WebhookPayload,
    RecordKind.CUSTOM_ROBOT: CustomRobotPayload,
    RecordKind.CARD_SEND: CardPayload,
    RecordKind.CARD_UPDATE: CardPayload,
    RecordKind.MESSAGE: MessagePayload,
    RecordKind.GRAPH: GraphPayload,
    RecordKind.CLICK: ClickPayload,
    RecordKind.FAULT: FaultPayload,
    RecordKind.VIOLATION: ViolationPayload,
    RecordKind.WARNING: WarningPayload,
    RecordKind.FAKE_ERROR: FakeErrorPayload,
    RecordKind.ROBOT_EXCEPTION: RobotExceptionPayload,
    RecordKind.ROBOT_EXIT: RobotExitPayload,
    RecordKind.ROBOT_OUTSIDE: RobotOutsidePayload,
    RecordKind.ROBOT_THREAD_STOPPED: RobotThreadStoppedPayload,
    RecordKind.ROBOT_UNFINISHED: RobotUnfinishedPayload,
}

SUMMARIES: dict[RecordKind, str] = {
    RecordKind.CONNECT: "a Stream connection opened and subscribed",
    RecordKind.DISCONNECT: "a Stream connection closed (by the robot, the fake or a fault)",
    RecordKind.REFUSED: "a Stream handshake the fake refused (bad or expired ticket)",
    RecordKind.PUSH: "a frame pushed to a robot's connection",
    RecordKind.REDELIVER: "an unacked frame pushed again",
    RecordKind.QUEUED: "a frame waiting for a subscribed connection",
    RecordKind.GAVE_UP: "a frame dropped after its last redelivery",
    RecordKind.ACK: "a robot acked a frame",
    RecordKind.API: "a DingTalk OpenAPI call and its answer",
    RecordKind.CALLBACK: "an HTTP-mode callback the fake posted to a robot",
    RecordKind.WEBHOOK: "a session-webhook reply",
    RecordKind.CUSTOM_ROBOT: "a post to a custom group robot (`/robot/send`)",
    RecordKind.CARD_SEND: "a card's first version",
    RecordKind.CARD_UPDATE: "a later card version (update, stream, deliver, callback)",
    RecordKind.MESSAGE: "a user wrote in a conversation",
    RecordKind.GRAPH: "a user asked an AI-assistant (graph) question",
    RecordKind.CLICK: "a user clicked a card button",
    RecordKind.FAULT: "a fault armed (`fired: false`) or fired",
    RecordKind.VIOLATION: "the robot broke a platform rule: fails `check()`",
    RecordKind.WARNING: "a documented limit broken or a quirk users will see; never fails",
    RecordKind.FAKE_ERROR: "fakeding itself failed (a bug in the fake): fails `check()`, file a bug",
    RecordKind.ROBOT_EXCEPTION: "the robot under a scenario raised",
    RecordKind.ROBOT_EXIT: "the robot's process exited",
    RecordKind.ROBOT_OUTSIDE: "the robot reached outside the fake (real I/O) under virtual time",
    RecordKind.ROBOT_THREAD_STOPPED: "a robot thread stopped at the cap under virtual time",
    RecordKind.ROBOT_UNFINISHED: "robot work still pending when the run ended",
}


def payload_fields(kind: RecordKind) -> frozenset[str]:
    """The field names a record of ``kind`` may carry."""
    return frozenset(PAYLOADS[kind].__annotations__)
