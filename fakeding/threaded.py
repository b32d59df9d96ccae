"""``ThreadedFakeDing``: the fake on a background thread, driven from ordinary sync code.

The fake owns its loop; each method hops onto that loop and waits for the answer, so sync
tests, the CLI and robots that use the SDK's blocking ``requests`` helpers all work.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fakeding.core.api import SentMessage
from fakeding.core.cards import Card
from fakeding.core.exceptions import WaitTimeout
from fakeding.core.faults import Fault
from fakeding.core.messages import Conversation
from fakeding.core.platform import TranscriptEntry
from fakeding.core.recorder import Record, Recorder
from fakeding.core.settings import Settings
from fakeding.core.templates import Template
from fakeding.core.waiting import describe_predicate
from fakeding.server import FakeDing

if TYPE_CHECKING:
    from fakeding.tls.front import TlsSide

T = TypeVar("T")


class ThreadedFakeDing:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        port: int = 0,
        sock: socket.socket | None = None,
        apps: Iterable[tuple[str, str]] | None = None,
        control_token: str | None = None,
    ) -> None:
        self.fake = FakeDing(settings, apps=apps, control_token=control_token)
        self._port = port
        self._sock = sock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tls_side: TlsSide | None = None

    def start(self) -> ThreadedFakeDing:
        ready = threading.Event()
        error: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.fake.start(port=self._port, sock=self._sock))
            except BaseException as exc:  # surfaced to the starting thread below
                error.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.fake.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="fakeding", daemon=True)
        self._thread.start()
        ready.wait()
        if error:
            raise error[0]
        return self

    def stop(self) -> None:
        side, self._tls_side = self._tls_side, None
        if side is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(side.stop(), self._loop).result(timeout=10)
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = None

    def __enter__(self) -> ThreadedFakeDing:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the fake's loop and return its result (exceptions re-raised here).

        Called from the fake's own loop (a ``wait_until`` predicate calling ``cards()``), ``fn``
        runs at once: waiting for the loop from inside it would block the fake for good.
        """
        assert self._loop is not None, "ThreadedFakeDing is not started"
        if threading.current_thread() is self._thread:
            return fn(*args, **kwargs)

        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def tls_side(self) -> TlsSide:
        """TLS fronts and a CONNECT proxy beside this plain fake (started on first use, kept
        until ``stop``): what a robot whose SDK speaks only https to DingTalk hosts needs."""
        assert self._loop is not None, "ThreadedFakeDing is not started"
        if self._tls_side is None:
            from fakeding.tls.front import start_tls_side

            fake = self.fake
            self._tls_side = asyncio.run_coroutine_threadsafe(
                start_tls_side(fake.settings.host, fake.http_port, fake.stream.port), self._loop
            ).result(timeout=30)
        return self._tls_side

    # -- the FakeDing API, from any thread ----------------------------------------------------
    @property
    def http_url(self) -> str:
        return self.fake.http_url

    @property
    def control_token(self) -> str | None:
        """What control requests send (``Authorization: Bearer``); None: none needed."""
        return self.fake.control_token

    @property
    def endpoint(self) -> str:
        return self.fake.http_url

    @property
    def recorder(self) -> Recorder:
        """The fake's recorder (read its records through ``timeline()`` for a settled view)."""
        return self.fake.recorder

    @property
    def settings(self) -> Settings:
        return self.fake.settings

    def send_message(self, text: str | None = None, **kwargs: Any) -> SentMessage:
        return self.call(self.fake.send_message, text, **kwargs)

    def click(
        self, card_id: str, *, staff_id: str, button_id: str, params: dict[str, Any] | None = None
    ) -> str:
        return self.call(self.fake.click, card_id, staff_id=staff_id, button_id=button_id, params=params)

    def push(self, topic: str, data: dict[str, Any], **kwargs: Any) -> str:
        return self.call(self.fake.push, topic, data, **kwargs)

    def push_event(self, event_type: str, data: dict[str, Any], **kwargs: Any) -> str:
        return self.call(self.fake.push_event, event_type, data, **kwargs)

    def graph_request(self, text: str, **kwargs: Any) -> str:
        return self.call(self.fake.graph_request, text, **kwargs)

    def fault(self, spec: dict[str, Any]) -> Fault:
        return self.call(self.fake.fault, spec)

    def reset(self, seed: int | None = None, *, sessions: bool = False) -> None:
        """Forget what happened; connected robots and their tokens stay unless ``sessions``."""
        self.call(self.fake.reset, seed, sessions=sessions)

    def add_app(self, client_id: str, client_secret: str, **kwargs: Any) -> Any:
        return self.call(self.fake.add_app, client_id, client_secret, **kwargs)

    def add_custom_robot(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A custom group robot (``{accessToken, conversationId, secret?, keywords?,
        ipAllowlist?, name?}``); tools post to ``{http_url}/robot/send?access_token=…``."""
        return self.call(self.fake.add_custom_robot, spec)

    def custom_robots(self) -> list[dict[str, Any]]:
        return self.call(self.fake.custom_robots)

    def join_group(self, conversation_id: str, client_id: str) -> list[str]:
        """Add the app's robot to a group: a robot posts only to groups it is in."""
        return self.call(self.fake.join_group, conversation_id, client_id)

    def cross_talk(self) -> list[dict[str, Any]]:
        """Answers delivered to the wrong conversation or person so far (empty: none)."""
        return self.call(self.fake.cross_talk)

    def add_template(self, template_id: str, path: str | Path, *, keep: bool = False) -> dict[str, Any]:
        """Register the card-platform export at ``path`` as ``template_id`` (see
        ``FakeDing.add_template``)."""
        return self.call(self.fake.add_template, template_id, path, keep=keep)

    def register_template(self, template_id: str, export: Any) -> dict[str, Any]:
        """Register a card-platform export (the decoded JSON) as ``template_id``."""
        return self.call(self.fake.register_template, template_id, export)

    def templates(self) -> list[dict[str, Any]]:
        return self.call(self.fake.templates)

    def card_view(
        self,
        card_id: str,
        *,
        user: str | None = None,
        local: dict[str, Any] | None = None,
        version: int | None = None,
    ) -> dict[str, Any] | None:
        """What ``user`` sees of a template card (None when its template is not registered);
        ``version`` (1 = the first): as it was then."""
        return self.call(self.fake.card_view, card_id, user=user, local=local, version=version)

    def doctor(self) -> list[dict[str, Any]]:
        """Likely misconfigurations so far, in DingTalk's words, errors first."""
        return self.call(self.fake.doctor)

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change settings by name now, keeping what happened (``reset()`` starts afresh); the
        pytest fixture restores them after the test."""
        return self.call(self.fake.update_settings, changes)

    def configure(self, **changes: Any) -> None:
        """Deprecated: ``update_settings({...})`` then ``reset()``."""
        warnings.warn(
            "ThreadedFakeDing.configure(**changes) is deprecated; use update_settings({...}) then reset()",
            DeprecationWarning,
            stacklevel=2,
        )
        self.update_settings(changes)
        self.reset()

    def apps(self) -> list[dict[str, Any]]:
        return self.call(self.fake.apps)

    def timeline(self, kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
        return self.call(self.fake.timeline, list(kinds) if kinds else None)

    def cards(self) -> list[dict[str, Any]]:
        return self.call(self.fake.cards)

    def card(self, card_id: str) -> Card:
        return self.call(self.fake.card, card_id)

    def transcript(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        return self.call(self.fake.transcript, conversation_id)

    def card_objects(self) -> list[Card]:
        return self.call(self.fake.card_objects)

    def transcript_entries(self) -> Sequence[TranscriptEntry]:
        return self.call(self.fake.transcript_entries)

    def conversation(self, conversation_id: str) -> Conversation | None:
        return self.call(self.fake.conversation, conversation_id)

    def direct_conversations(self) -> dict[str, str]:
        return self.call(self.fake.direct_conversations)

    def template_objects(self) -> list[Template]:
        return self.call(self.fake.template_objects)

    def use_template(self, template: Template, *, keep: bool = False) -> dict[str, Any]:
        return self.call(self.fake.use_template, template, keep=keep)

    def armed_faults(self) -> list[dict[str, Any]]:
        return self.call(self.fake.armed_faults)

    def disarm_fault(self, fault_id: int) -> bool:
        return self.call(self.fake.disarm_fault, fault_id)

    def keep_file(self, name: str, data: bytes) -> str:
        return self.call(self.fake.keep_file, name, data)

    def session_scenario(self, name: str = "emulator session") -> dict[str, Any]:
        return self.call(self.fake.session_scenario, name)

    def held_secrets(self) -> list[str]:
        return self.call(self.fake.held_secrets)

    @property
    def violations(self) -> list[Record]:
        return self.call(lambda: self.fake.violations)

    @property
    def fake_errors(self) -> list[Record]:
        """Failures of the fake itself (fakeding bugs); ``check()`` fails on any."""
        return self.call(lambda: self.fake.fake_errors)

    def check(self) -> None:
        self.call(self.fake.check)

    def expect_violation(self, pattern: str) -> None:
        """This test expects a violation matching ``pattern``; teardown requires it."""
        self.call(self.fake.expect_violation, pattern)

    def wait_until(
        self, predicate: Callable[[], Any], *, timeout: float = 10.0, what: str | None = None
    ) -> Any:
        """Poll ``predicate`` (run on the fake's loop, one short call at a time, so the fake
        keeps serving between polls) until truthy; after ``timeout`` raise ``WaitTimeout``
        naming what was awaited (``what``, else the predicate's source) and its last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.call(predicate)
            if value:
                return value
            if time.monotonic() >= deadline:
                raise WaitTimeout(what or describe_predicate(predicate), value, timeout)
            time.sleep(0.01)

    def wait_for(
        self,
        kind: str,
        *,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Wait until the timeline holds ``count`` records of ``kind`` (matching ``where``)."""

        def found() -> list[dict[str, Any]] | None:
            rows = [r for r in self.fake.timeline([kind]) if where is None or where(r)]
            return rows if len(rows) >= count else None

        result: list[dict[str, Any]] = self.wait_until(
            found, timeout=timeout, what=f"{count} '{kind}' record(s)"
        )
        return result
