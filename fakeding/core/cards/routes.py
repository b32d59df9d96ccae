"""The one card route table: which OpenAPI call does what to the cards.

The HTTP layer registers these routes, the platform checks their scopes and the tests iterate
them, so adding a card API is one line here (plus its ``CardStore`` operation).
"""

from __future__ import annotations

from dataclasses import dataclass

INSTANCE_SCOPE = "Card.Instance.Write"
STREAMING_SCOPE = "Card.Streaming.Write"
ROBOT_SEND_SCOPE = "qyapi_robot_sendmsg"


@dataclass(frozen=True)
class CardRoute:
    """One card API: where it is, what it does, what the recorder calls it, what it needs."""

    method: str
    path: str
    operation: str  # the CardStore method that serves it
    source: str  # the recorder's "via": send | update | create | deliver | stream
    scope: str  # the permission scope the platform checks


_ROUTES = (
    CardRoute(
        "POST", "/v1.0/im/v1.0/robot/interactiveCards/send", "send_interactive", "send", ROBOT_SEND_SCOPE
    ),
    CardRoute("PUT", "/v1.0/im/robots/interactiveCards", "update_interactive", "update", ROBOT_SEND_SCOPE),
    CardRoute("POST", "/v1.0/card/instances", "create_instance", "create", INSTANCE_SCOPE),
    CardRoute("PUT", "/v1.0/card/instances", "update_instance", "update", INSTANCE_SCOPE),
    CardRoute("POST", "/v1.0/card/instances/deliver", "deliver", "deliver", INSTANCE_SCOPE),
    # createAndDeliver shows the card the way an ordinary send does, hence "send"
    CardRoute("POST", "/v1.0/card/instances/createAndDeliver", "create_and_deliver", "send", INSTANCE_SCOPE),
    CardRoute("PUT", "/v1.0/card/streaming", "stream", "stream", STREAMING_SCOPE),
)

CARD_ROUTES: dict[tuple[str, str], CardRoute] = {(r.method, r.path): r for r in _ROUTES}
