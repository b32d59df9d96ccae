"""The platform's card state: robot interactive cards and card instances, with DingTalk's checks.

Why this exists: a bot's cards are the most visible thing it does, and the real platform turns a
malformed card call away with a terse ``param.*`` code that the Python SDK only logs. This core
keeps every card's history (one ``CardVersion`` per accepted change) and rejects what DingTalk
rejects, with the real status and code, so a bot that works against the fake sends what the real
platform accepts, and a test can assert on what a user would see.

It is pure: no I/O and no clock. Every operation is handed ``t`` (seconds since the fake started);
the HTTP layer maps the requests of ``CARD_ROUTES`` onto ``CardStore.call`` and turns
``OpenApiError`` into error bodies. Ordinary and instance cards share one id space (the platform
builds ordinary cards on card instances): an API of the wrong kind treats the id as unknown, and
its message says which API the card belongs to. The modelling choices where the reference is
silent are listed in ``interactive``, ``instances`` and ``streaming``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fakeding.core.cards import instances, interactive, streaming
from fakeding.core.cards.checks import parse_open_space_id
from fakeding.core.cards.model import (
    FLOW_FAILED,
    FLOW_FINISHED,
    FLOW_INPUTTING,
    STANDARD_CARD,
    Button,
    Card,
    CardVersion,
    Deck,
)
from fakeding.core.cards.routes import CARD_ROUTES, CardRoute
from fakeding.core.ids import IdFactory
from fakeding.core.settings import Settings
from fakeding.core.templates.registry import TemplateRegistry

__all__ = [
    "CARD_ROUTES",
    "FLOW_FAILED",
    "FLOW_FINISHED",
    "FLOW_INPUTTING",
    "STANDARD_CARD",
    "Button",
    "Card",
    "CardRoute",
    "CardStore",
    "CardVersion",
    "parse_open_space_id",
]

Operation = Callable[[float, str, dict[str, Any]], tuple[Card, dict[str, Any]]]


class CardStore:
    """Every card of the fake platform, in creation order: the facade the platform holds."""

    def __init__(self, settings: Settings, ids: IdFactory, templates: TemplateRegistry | None = None) -> None:
        self._deck = Deck(settings, ids)
        if templates is not None:
            self._deck.templates = templates

    @property
    def settings(self) -> Settings:
        return self._deck.settings

    def use_settings(self, settings: Settings) -> None:
        """Rules (sizes, limits) from now on; the cards stay."""
        self._deck.settings = settings

    @property
    def ids(self) -> IdFactory:
        return self._deck.ids

    # -- queries --------------------------------------------------------------------------------
    def get(self, card_id: str) -> Card:
        """The card with this id; a ``KeyError`` that lists the known ids otherwise."""
        return self._deck.get(card_id)

    def all(self) -> list[Card]:
        return list(self._deck.cards.values())

    def trim(self, limit: int) -> None:
        """Keep only the ``limit`` newest cards (a retention setting for long runs)."""
        cards = self._deck.cards
        while len(cards) > limit:
            del cards[next(iter(cards))]

    def __len__(self) -> int:
        return len(self._deck.cards)

    def __contains__(self, card_id: object) -> bool:
        return card_id in self._deck.cards

    # -- the card APIs --------------------------------------------------------------------------
    def call(
        self, route: CardRoute, t: float, client_id: str, body: dict[str, Any]
    ) -> tuple[Card, dict[str, Any]]:
        """Serve one request of ``CARD_ROUTES``: the changed card and the platform's answer."""
        operation: Operation = getattr(self, route.operation)
        return operation(t, client_id, body)

    def send_interactive(self, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
        return interactive.send(self._deck, t, client_id, body)

    def update_interactive(
        self, t: float, client_id: str, body: dict[str, Any]
    ) -> tuple[Card, dict[str, Any]]:
        return interactive.update(self._deck, t, client_id, body)

    def create_instance(self, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
        return instances.create(self._deck, t, client_id, body)

    def deliver(self, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
        return instances.deliver(self._deck, t, client_id, body)

    def create_and_deliver(
        self, t: float, client_id: str, body: dict[str, Any]
    ) -> tuple[Card, dict[str, Any]]:
        return instances.create_and_deliver(self._deck, t, client_id, body)

    def update_instance(self, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
        return instances.update(self._deck, t, client_id, body)

    def stream(self, t: float, client_id: str, body: dict[str, Any]) -> tuple[Card, dict[str, Any]]:
        return streaming.stream(self._deck, t, client_id, body)

    def apply_callback_response(self, t: float, card_id: str, user_id: str, response: Any) -> Card | None:
        """Apply the ``response`` of a card-callback ack; None when it changes nothing."""
        return streaming.apply_callback_response(self._deck, t, card_id, user_id, response)
