"""What a card is: its versions, its request buttons, and the state that ``flowStatus`` drives.

Ordinary and instance cards share one id space (the platform builds ordinary cards on card
instances), so one ``Card`` type serves both; ``kind`` says which API owns it.

``flowStatus`` drives the state: "3" finished, "5" failed, "1"/"2"/"4" open again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakeding.core.ids import IdFactory
from fakeding.core.settings import Settings
from fakeding.core.templates.registry import TemplateRegistry

STANDARD_CARD = "StandardCard"
OPEN_SPACE_PREFIX = "dtv1.card//"
SPACE_TYPES = ("IM_GROUP", "IM_SINGLE", "IM_ROBOT", "ONE_BOX")
CONVERSATION_SPACES = ("IM_GROUP", "IM_SINGLE", "ONE_BOX")
CARD_BIZ_ID_MAX_CHARS = 100
CARD_PARAM_KEY_MAX_BYTES = 100
PRIVATE_DATA_USER_MAX_BYTES = 100
AT_USER_LIST_MAX = 30
AT_ALL = "@ALL"
FLOW_FINISHED = "3"
FLOW_FAILED = "5"
FLOW_INPUTTING = "2"


@dataclass
class CardVersion:
    """One accepted change: the card's data right after it, and what caused it."""

    t: float
    card_data: dict[str, Any]
    source: str  # "send" | "update" | "create" | "deliver" | "stream" | "callback"
    extra: dict[str, Any] = field(default_factory=dict)
    # each user's private data right after it: a version is drawn per user as it was then
    private: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Button:
    """A request button of an ordinary card: clicking it makes the platform call back."""

    id: str
    label: str
    value: Any


@dataclass
class Card:
    id: str
    kind: str  # "interactive" | "instance"
    client_id: str
    robot_code: str | None
    template_id: str
    conversation_id: str | None
    single_user: str | None
    at_users: list[str]
    versions: list[CardVersion]
    private_data: dict[str, dict[str, Any]]
    flow_status: str | None
    delivered: bool
    finalized: bool
    failed: bool
    callback_route_key: str | None = None
    callback_url: str | None = None
    spaces: list[tuple[str, str]] = field(default_factory=list)
    recipients: list[str] | None = None
    user_id_type: int = 1
    stream_guids: set[str] = field(default_factory=set, repr=False)
    # template findings already reported for this card (each is reported once)
    reported: set[str] = field(default_factory=set, repr=False)
    checked: int = field(default=0, repr=False)  # versions already checked
    # how the platform hands a click to the robot: "STREAM", "HTTP" or None (no clicks)
    callback_type: str | None = field(default=None, init=False)

    @property
    def current(self) -> dict[str, Any]:
        return self.versions[-1].card_data

    @property
    def created_at(self) -> float:
        return self.versions[0].t

    def follow_buttons(self, version: CardVersion) -> None:
        """Set ``callback_type`` as an ordinary card's send or update decides it: "HTTP" with a
        ``callback_url``, else "STREAM" if ``version`` has a request button, else None."""
        if self.callback_url:
            self.callback_type = "HTTP"
        else:
            self.callback_type = "STREAM" if has_request_button(version.card_data) else None

    def buttons(self) -> list[Button]:
        return request_buttons(self.current) if self.kind == "interactive" else []


def request_buttons(card_data: dict[str, Any]) -> list[Button]:
    """The request buttons of an ordinary card's data: action blocks' buttons and sections'
    side buttons."""
    contents = card_data.get("contents")
    if not isinstance(contents, list):
        return []
    found: list[Button] = []
    for block in contents:
        if not isinstance(block, dict):
            continue
        candidates: list[Any] = []
        if block.get("type") == "action" and isinstance(block.get("actions"), list):
            candidates.extend(block["actions"])
        if isinstance(block.get("extra"), dict):  # a section's side button
            candidates.append(block["extra"])
        for item in candidates:
            button = _request_button(item)
            if button is not None:
                found.append(button)
    return found


def has_request_button(card_data: dict[str, Any]) -> bool:
    """Whether ``request_buttons(card_data)`` finds any, without building them: every send
    and update asks, and a streamed answer is updated many times."""
    contents = card_data.get("contents")
    if not isinstance(contents, list):
        return False
    for block in contents:
        if not isinstance(block, dict):
            continue
        actions = block.get("actions") if block.get("type") == "action" else None
        if isinstance(actions, list) and any(map(_is_request_button, actions)):
            return True
        if _is_request_button(block.get("extra")):  # a section's side button
            return True
    return False


def _is_request_button(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") == "button" and item.get("actionType") == "request"


def _request_button(item: Any) -> Button | None:
    if not _is_request_button(item):
        return None
    label = item.get("label")
    text = label.get("text", "") if isinstance(label, dict) else label
    value = item.get("value", {})
    return Button(id=str(item.get("id", "")), label="" if text is None else str(text), value=value)


@dataclass
class Deck:
    """Every card in creation order, with what the rules read: settings and the id source."""

    settings: Settings
    ids: IdFactory
    cards: dict[str, Card] = field(default_factory=dict)
    templates: TemplateRegistry = field(default_factory=TemplateRegistry)

    def value_limit(self) -> int | None:
        """The cardParamMap value size refused: the documented 1 KB only with strict_limits
        (DingTalk's own examples exceed it; otherwise it is a warning)."""
        s = self.settings
        return s.card_param_value_max_bytes if s.strict_limits else None

    def stream_limit(self) -> int | None:
        s = self.settings
        return s.stream_content_max_bytes if s.strict_limits else None

    def owned(self, card_id: str, client_id: str) -> Card | None:
        """The card if the app ``client_id`` made it: another app's card is as good as absent."""
        card = self.cards.get(card_id)
        return card if card is not None and card.client_id == client_id else None

    def whose(self, card_id: str) -> str:
        """How an error names a card the caller cannot see."""
        card = self.cards.get(card_id)
        if card is None:
            return "no such card"
        return (
            f"a card of app {card.client_id!r} (cards belong to the app whose token made "
            "them: update it with that app's token)"
        )

    def foreign(self, card_id: str, client_id: str) -> bool:
        """Another app made this card: touching it is a robot mixing up identities."""
        card = self.cards.get(card_id)
        return card is not None and card.client_id != client_id

    def get(self, card_id: str) -> Card:
        card = self.cards.get(card_id)
        if card is None:
            known = list(self.cards)
            listing = ", ".join(known[:10]) + (f" (and {len(known) - 10} more)" if len(known) > 10 else "")
            raise KeyError(
                f"no card {card_id!r}: expected a cardBizId or outTrackId the bot has used, "
                f"found {len(known)} card(s)" + (f": {listing}" if known else "")
            )
        return card


def drawn_data(card: Card) -> dict[str, Any]:
    """The data the client draws: a streaming update to a card still "processing"
    (flowStatus 1) shows it inputting, as DingTalk's own example relies on (it streams ''
    to switch to inputting, and the official tutorial never sets flowStatus 2)."""
    data = card.current
    if data.get("flowStatus") == "1" and any(v.source == "stream" for v in card.versions):
        return {**data, "flowStatus": FLOW_INPUTTING}
    return data


def drawn_at(card: Card, index: int) -> dict[str, Any]:
    """Version ``index``'s data as the client drew it then (``drawn_data``'s rule, applied
    to the versions up to it)."""
    data = card.versions[index].card_data
    if data.get("flowStatus") == "1" and any(v.source == "stream" for v in card.versions[: index + 1]):
        return {**data, "flowStatus": FLOW_INPUTTING}
    return data


def merge(current: dict[str, Any], new: dict[str, Any], by_key: bool) -> dict[str, Any]:
    return {**current, **new} if by_key else dict(new)


def private_now(private: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A copy of the per-user private data for a version (later changes replace a user's
    map, so copying each map is enough)."""
    return {user: dict(values) for user, values in private.items()}


def apply_private(card: Card, private: dict[str, dict[str, Any]], by_key: bool) -> None:
    """Private data is kept per user: an update replaces (or merges) only the users it names."""
    for user, values in private.items():
        card.private_data[user] = merge(card.private_data.get(user, {}), values, by_key)


def sync_flow(card: Card, data: dict[str, Any], extra: dict[str, Any]) -> None:
    """Follow ``flowStatus``: "3" finished, "5" failed, anything else open again."""
    status = data.get("flowStatus")
    if status is None:
        return
    card.flow_status = status
    was_closed = card.finalized or card.failed
    card.finalized = status == FLOW_FINISHED
    card.failed = status == FLOW_FAILED
    if was_closed and not (card.finalized or card.failed):
        extra["reopened"] = True
