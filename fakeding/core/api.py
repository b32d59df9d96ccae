"""``FakeDingAPI``: the one surface every way in uses — the control API, ``ThreadedFakeDing``,
the pytest fixtures and the scenario runner all call these methods, so they cannot drift.

``FakeDing`` (``fakeding.server``) implements it on its own event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fakeding.core.cards import Card
from fakeding.core.faults import Fault
from fakeding.core.messages import Conversation
from fakeding.core.platform import TranscriptEntry
from fakeding.core.recorder import Record, Recorder
from fakeding.core.settings import Settings
from fakeding.core.templates import Template


@dataclass(frozen=True)
class SentMessage:
    msg_id: str
    message_id: str | None  # frame messageId of the first push (None while queued or not pushed)
    conversation_id: str
    delivered: bool


class FakeDingAPI(Protocol):
    @property
    def recorder(self) -> Recorder:
        """Every record of the run, in order (for JSON lines and live views)."""

    def send_message(
        self,
        text: str | None = None,
        *,
        conversation_id: str = ...,
        conversation_type: str = ...,
        title: str | None = ...,
        staff_id: str = ...,
        nick: str | None = ...,
        msgtype: str = ...,
        content: dict[str, Any] | None = ...,
        at_bot: bool = ...,
        client_id: str | None = ...,
        at_users: tuple[str, ...] = ...,
    ) -> SentMessage:
        """A user writes in a conversation."""

    def click(
        self, card_id: str, *, staff_id: str, button_id: str, params: dict[str, Any] | None = None
    ) -> str:
        """A user clicks a card button; returns the callback frame's messageId ('' if queued)."""

    def push(
        self,
        topic: str,
        data: dict[str, Any],
        *,
        type_: str = ...,
        client_id: str | None = ...,
        headers: dict[str, str] | None = ...,
        key: str | None = ...,
    ) -> str:
        """Any CALLBACK or EVENT frame; returns its messageId ('' while queued)."""

    def push_event(
        self, event_type: str, data: dict[str, Any], *, client_id: str | None = ..., corp_id: str = ...
    ) -> str:
        """An EVENT with the real event headers (topic ``*``)."""

    def fault(self, spec: dict[str, Any]) -> Fault:
        """Inject a fault now or later."""

    def reset(self, seed: int | None = None, *, sessions: bool = False) -> None:
        """Forget what happened; ``sessions`` also drops connections and tokens."""

    def timeline(self, kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The records as dicts, optionally only some kinds."""

    def cards(self) -> list[dict[str, Any]]:
        """Every card with its versions."""

    def transcript(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        """What was said, in order."""

    @property
    def violations(self) -> list[Record]:
        """Protocol violations recorded so far."""

    @property
    def fake_errors(self) -> list[Record]:
        """Failures of the fake itself (fakeding bugs, not the robot's) so far."""

    @property
    def settings(self) -> Settings:
        """The settings in force."""

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change settings by name now (JSON values, checked); answers every setting."""

    def add_app(
        self,
        client_id: str,
        client_secret: str,
        *,
        scopes: Iterable[str] | None = None,
        robot_code: str | None = None,
        callback_url: str | None = None,
    ) -> Any:
        """Register an app (HTTP mode with ``callback_url``)."""

    def apps(self) -> list[dict[str, Any]]:
        """Every registered app as the control API shows it."""

    def add_custom_robot(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A custom group robot (``{accessToken, conversationId, secret?, keywords?,
        ipAllowlist?, name?}``) that tools post to at ``/robot/send``; answers it, masked."""

    def custom_robots(self) -> list[dict[str, Any]]:
        """Every custom group robot, masked (no secret, a token prefix)."""

    def join_group(self, conversation_id: str, client_id: str) -> list[str]:
        """Add an app's robot to a group; answers the group's robots."""

    def cross_talk(self) -> list[dict[str, Any]]:
        """Answers delivered to the wrong conversation or person so far (``fakeding.core.oracles``)."""

    def doctor(self) -> list[dict[str, Any]]:
        """Likely misconfigurations so far (``fakeding.core.doctor``), errors first."""

    def register_template(self, template_id: str, export: Any) -> dict[str, Any]:
        """Register a card-platform export (the decoded JSON) as ``template_id``."""

    def templates(self) -> list[dict[str, Any]]:
        """Registered card templates."""

    def card_view(
        self,
        card_id: str,
        *,
        user: str | None = None,
        local: dict[str, Any] | None = None,
        version: int | None = None,
    ) -> dict[str, Any] | None:
        """What ``user`` sees of a card of a registered template (None for other cards);
        ``version`` (1 = the first): as it was then."""

    # -- typed views and the emulator's actions (the runner, the live view, reports) --------------
    def card(self, card_id: str) -> Card:
        """One card as the platform keeps it (``KeyError`` naming the known ones)."""

    def card_objects(self) -> list[Card]:
        """Every card as the platform keeps it (versions, private data), in the order made."""

    def transcript_entries(self) -> Sequence[TranscriptEntry]:
        """What was said, as the platform keeps it: the run's own list, to read (a reset
        starts a new one)."""

    def conversation(self, conversation_id: str) -> Conversation | None:
        """A conversation's type and title (None before anyone spoke in it)."""

    def direct_conversations(self) -> dict[str, str]:
        """Each user's 1:1 conversation with a robot: staff id -> conversation id."""

    def template_objects(self) -> list[Template]:
        """Registered card templates, parsed."""

    def use_template(self, template: Template, *, keep: bool = False) -> dict[str, Any]:
        """Register a parsed template; ``keep``: it survives resets."""

    def armed_faults(self) -> list[dict[str, Any]]:
        """Faults still to come: waiting for their time or armed and not used up."""

    def disarm_fault(self, fault_id: int) -> bool:
        """Take back a fault that has not fired; False if none has that id."""

    def keep_file(self, name: str, data: bytes) -> str:
        """Keep a file a user sends; answers its download code (``ControlError`` beyond
        ``media_max_bytes``)."""

    def session_scenario(self, name: str = ...) -> dict[str, Any]:
        """The run so far as a scenario file's content ("Save as scenario")."""

    def held_secrets(self) -> list[str]:
        """Every secret the fake holds now (app secrets, tokens, tickets), to mask in logs."""
