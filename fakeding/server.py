"""``FakeDing``: the whole fake platform in one event loop, and its Python API.

It wires the pure cores (``Platform``, ``CardStore``, ``Recorder``) to the I/O edges (aiohttp for
HTTP and for the Stream websocket). Every public method is meant to run on the fake's own loop;
``ThreadedFakeDing`` (``fakeding.threaded``) offers the same API from any thread.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import socket
import ssl
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from fakeding.aio.control import add_control_routes
from fakeding.aio.control_guard import guard, is_loopback
from fakeding.aio.control_lane import control_cores
from fakeding.aio.fast_lane import FastSite
from fakeding.aio.http_callbacks import HttpCallbacks
from fakeding.aio.live import add_live_routes
from fakeding.aio.middleware import internal_errors
from fakeding.aio.openapi.routes import OpenApi
from fakeding.aio.stream_ws import StreamServer
from fakeding.aio.tls_route import add_env_route
from fakeding.core import control_settings, template_files, users
from fakeding.core.api import SentMessage
from fakeding.core.cards import Card
from fakeding.core.cards.model import CardVersion, drawn_at
from fakeding.core.clock import LoopClock
from fakeding.core.custom_robots import CustomRobot
from fakeding.core.doctor import diagnose
from fakeding.core.exceptions import ControlError, UnmetExpectation, WaitTimeout
from fakeding.core.export import session_scenario
from fakeding.core.faults import Fault, check_route, parse_fault
from fakeding.core.messages import Conversation, Sender
from fakeding.core.oracles import cross_talk
from fakeding.core.platform import App, Platform, TranscriptEntry, session_tag
from fakeding.core.record_kinds import BUG_REPORT, RecordKind
from fakeding.core.recorder import Record, Recorder
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings, changed_settings
from fakeding.core.stream import protocol
from fakeding.core.templates import Template, parse_export
from fakeding.core.templates import render as render_template
from fakeding.core.templates.markdown import to_html
from fakeding.core.tls.env import Facts, Tls
from fakeding.core.waiting import describe_predicate


class FakeDing:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: LoopClock | None = None,
        apps: Iterable[tuple[str, str]] | None = None,
        incarnation: str | None = None,
        control_token: str | None = None,
    ) -> None:
        self.settings = settings or Settings()
        # Required beyond loopback: one is made when none is given (see control_guard).
        if control_token is None and not is_loopback(self.settings.host):
            control_token = secrets.token_urlsafe(24)
        self.control_token = control_token
        self.clock = clock or LoopClock()
        # A fresh name per fake unless given: a restarted fake never repeats an id (see ids.py).
        self.platform = Platform(self.settings, incarnation=incarnation or secrets.token_hex(8))
        self.stream = StreamServer(self.platform, self.clock)
        self.openapi = OpenApi(self.platform, self.clock)
        self.http_callbacks = HttpCallbacks(self.platform, self.clock)
        self.http_port = 0
        self.tls: Tls | None = None  # set by TLS mode (``fakeding.tls.serve``) for /_fakeding/env
        self.scenarios_dir: Path | None = None  # ``serve --scenarios DIR``: the Replay pane lists it
        self._scheme = "http"
        self._stream_endpoint: str | None = None
        self._runner: web.AppRunner | None = None
        self._pinger: asyncio.Task[None] | None = None
        self.expected_violations: list[str] = []  # patterns, until the next reset
        self.reset_t = 0.0  # when the last reset was (clock time): the emulator shows times from it
        for client_id, secret in apps or [(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)]:
            self.platform.add_app(client_id, secret)

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(
        self,
        *,
        port: int = 0,
        ws_port: int = 0,
        sock: socket.socket | None = None,
        ssl_context: ssl.SSLContext | None = None,
        stream_endpoint: str | None = None,
    ) -> None:
        """Listen; ``ssl_context`` serves HTTPS and WSS, ``stream_endpoint`` is what the gateway
        advertises instead of this host's ``ws(s)://HOST:PORT/connect`` (``{port}``: the Stream port)."""
        self.clock.bind(asyncio.get_running_loop())
        self._scheme = "https" if ssl_context else "http"
        self._stream_endpoint = stream_endpoint
        app = web.Application(middlewares=[guard(self), internal_errors(self.platform, self.clock)])
        self.openapi.add_routes(app)
        add_control_routes(app, self)
        add_env_route(app, lambda: Facts(self.http_url, self.ws_endpoint, self.tls))
        add_live_routes(app, self)  # the emulator page at /, live events, settings, export
        # Last: anything no route matched gets DingTalk's 404 and a recorded violation.
        app.router.add_route("*", "/{tail:.*}", self._unmatched)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site: web.BaseSite
        # the platform's own calls skip aiohttp's machinery (fast_lane); the rest is aiohttp's
        cores = {**self.openapi.table, **control_cores(self)}
        site = FastSite(
            self._runner,
            cores,
            self.platform,
            self.clock,
            host=self.settings.host,
            port=port,
            sock=sock,
            ssl_context=ssl_context,
        )
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.http_port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        await self.stream.start(self.settings.host, ws_port, ssl_context=ssl_context)
        self.platform.http_url = self.http_url
        self.platform.ws_endpoint = self.ws_endpoint
        self._restart_pinger()

    def _restart_pinger(self) -> None:
        if self._pinger:
            self._pinger.cancel()
            self._pinger = None
        if self.settings.system_ping_interval:
            self._pinger = asyncio.ensure_future(self._ping_loop(self.settings.system_ping_interval))

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change settings by name now, keeping everything that happened (``reset()`` starts
        afresh): the one verb for changing settings. Every value is checked (``ControlError``
        naming the setting); answers every setting."""
        self._change_settings(**control_settings.check_changes(changes))
        return control_settings.view(self.settings)

    def _change_settings(self, **changes: Any) -> None:
        self.settings = self.settings.replace(**changes)
        self.platform.use_settings(self.settings)
        if "system_ping_interval" in changes:
            self._restart_pinger()

    def change_settings(self, **changes: Any) -> None:
        """Deprecated: ``update_settings({...})``."""
        warnings.warn(
            "FakeDing.change_settings(**changes) is deprecated; use update_settings({...})",
            DeprecationWarning,
            stacklevel=2,
        )
        self._change_settings(**changes)

    def apply_settings(self, settings: Settings) -> None:
        """Deprecated: ``update_settings({...})`` then ``reset()``."""
        warnings.warn(
            "FakeDing.apply_settings(settings) is deprecated; use update_settings({...}) then reset()",
            DeprecationWarning,
            stacklevel=2,
        )
        self.settings = settings
        self.platform.settings = settings
        self.reset()
        self._restart_pinger()

    def apps(self) -> list[dict[str, Any]]:
        return [app.describe() for app in self.platform.apps.values()]

    @property
    def web_app(self) -> web.Application | None:
        """The aiohttp application serving HTTP (None before ``start``)."""
        return self._runner.app if self._runner is not None else None

    async def stop(self) -> None:
        if self._pinger:
            self._pinger.cancel()
        await self.stream.stop()
        await self.http_callbacks.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeDing:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def http_url(self) -> str:
        return f"{self._scheme}://{self.settings.host}:{self.http_port}"

    @property
    def ws_endpoint(self) -> str:
        if self._stream_endpoint:
            return self._stream_endpoint.replace("{port}", str(self.stream.port))
        scheme = "wss" if self._scheme == "https" else "ws"
        return f"{scheme}://{self.settings.host}:{self.stream.port}/connect"

    async def _unmatched(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/_fakeding/"):
            known = sorted(
                {
                    str(r.resource.canonical)
                    for r in request.app.router.routes()
                    if r.resource is not None and str(r.resource.canonical).startswith("/_fakeding/")
                }
            )
            return web.json_response(
                {
                    "error": f"no control route {request.method} {request.path}; known: {', '.join(known)}",
                    "field": "path",
                },
                status=404,
            )
        return await self.openapi.not_found(request)

    async def _ping_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            for conn in self.stream.live_connections():
                self.stream.ping(conn)

    # -- configuration -------------------------------------------------------------------------
    def add_app(
        self,
        client_id: str,
        client_secret: str,
        *,
        scopes: Iterable[str] | None = None,
        robot_code: str | None = None,
        callback_url: str | None = None,
    ) -> App:
        """Register an app; with ``callback_url`` its robot messages are POSTed (HTTP mode)."""
        return self.platform.add_app(
            client_id,
            client_secret,
            scopes=set(scopes) if scopes is not None else None,
            robot_code=robot_code,
            callback_url=callback_url,
        )

    def add_custom_robot(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A custom group robot that tools post to at ``/robot/send?access_token=…``; bad
        specs raise ``ControlError`` naming the field."""
        return self.platform.add_custom_robot(CustomRobot.from_json(spec)).to_json()

    def custom_robots(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.platform.custom_robots.robots.values()]

    def join_group(self, conversation_id: str, client_id: str) -> list[str]:
        """Add the app's robot to a group (it may then post there); answers the group's robots."""
        self.platform.join_group(conversation_id, client_id)
        return sorted(self.platform.robots_in(conversation_id))

    def cross_talk(self) -> list[dict[str, Any]]:
        """Answers delivered to the wrong conversation or person so far (``fakeding.core.oracles``)."""
        p = self.platform
        return [c.to_dict() for c in cross_talk(p.recorder.records, p.transcript, p.cards.all())]

    # -- card templates -------------------------------------------------------------------------
    def add_template(self, template_id: str, path: str | Path, *, keep: bool = False) -> dict[str, Any]:
        """Register the card-platform export at ``path`` as ``template_id``: its cards are drawn
        and checked, and unknown template ids are refused from then on (``keep``: it survives
        resets, as ``serve --templates`` loads them). A bad export raises ``TemplateError``."""
        template = template_files.load_file(template_id, path)
        return template_summary(self.platform.templates.add(template, keep=keep))

    def register_template(self, template_id: str, export: Any) -> dict[str, Any]:
        """``PUT /_fakeding/templates/{id}``: the export itself as the body."""
        template = parse_export(
            export, template_id=template_id, source=f"PUT /_fakeding/templates/{template_id}"
        )
        return template_summary(self.platform.templates.add(template))

    def templates(self) -> list[dict[str, Any]]:
        return [template_summary(t) for t in self.platform.templates.all()]

    def card_view(
        self,
        card_id: str,
        *,
        user: str | None = None,
        local: dict[str, Any] | None = None,
        version: int | None = None,
    ) -> dict[str, Any] | None:
        """What ``user`` sees of a card of a registered template (None for other cards):
        its nodes (markdown also as the client's HTML) and its flow state; ``version`` (1 =
        the first): as it was then, with the user's private data of then."""
        card = self.platform.cards.get(card_id)
        template = self.platform.templates.get(card.template_id)
        if template is None:
            return None
        if version is not None and not 1 <= version <= len(card.versions):
            raise ControlError("version", f"expected 1 to {len(card.versions)}, found {version}")
        index = len(card.versions) - 1 if version is None else version - 1
        private = card.versions[index].private.get(user or "", {})
        data = drawn_at(card, index)
        view = render_template(template, data, private, local, card_id=card.id)
        surface = "ai" if template.is_ai else "card"
        nodes = []
        for node in view.nodes:
            out = node.to_dict()
            if node.kind == "markdown":
                out["html"] = to_html(node.text, surface)
            nodes.append(out)
        return {
            "templateId": template.id,
            "nodes": nodes,
            "unknown": view.unknown,
            "flowStatus": data.get("flowStatus") if template.is_ai else None,
        }

    def doctor(self) -> list[dict[str, Any]]:
        """Likely misconfigurations so far, errors first (``fakeding.core.doctor``)."""
        found = diagnose(self.platform, self.stream.connections.values(), self.now)
        return [f.to_dict() for f in found]

    def reset(self, seed: int | None = None, *, sessions: bool = False) -> None:
        """Forget what happened (records, cards, transcripts, faults, queued and un-acked
        deliveries); apps, live connections, their subscriptions and issued tokens stay, so a
        connected robot serves the next test too. ``sessions=True`` also closes every
        connection and forgets tokens and tickets."""
        self.stream.reset(sessions=sessions)
        self.platform.reset(seed, sessions=sessions)
        self.expected_violations = []
        self.reset_t = self.now  # the emulator shows times from here

    @property
    def recorder(self) -> Recorder:
        return self.platform.recorder

    @property
    def now(self) -> float:
        return self.clock.monotonic()

    def record(self, kind: str, **fields: Any) -> Record:
        return self.platform.recorder.add(self.now, kind, **fields)

    # -- acting as users -------------------------------------------------------------------------
    def send_message(
        self,
        text: str | None = None,
        *,
        conversation_id: str = "cidGroup001",
        conversation_type: str = "group",
        title: str | None = None,
        staff_id: str = "user001",
        nick: str | None = None,
        msgtype: str = "text",
        content: dict[str, Any] | None = None,
        at_bot: bool = True,
        client_id: str | None = None,
        at_users: tuple[str, ...] = (),
    ) -> SentMessage:
        """A user writes in a conversation; the robot gets it as the platform would deliver it.
        ``at_users``: staff ids the user @mentioned besides the robot (groups only)."""
        m = users.write_message(
            self.platform,
            self.now,
            now_ms=self.clock.time_ms(),
            text=text,
            conversation_id=conversation_id,
            conversation_type=conversation_type,
            title=title,
            staff_id=staff_id,
            nick=nick,
            msgtype=msgtype,
            content=content,
            at_bot=at_bot,
            client_id=client_id,
            at_users=tuple(at_users),
        )
        if not m.deliver:
            return SentMessage(m.msg_id, None, m.conversation_id, False)
        if m.app.callback_url is not None:  # HTTP mode: POSTed, not pushed
            self.http_callbacks.robot_message(m)
            return SentMessage(m.msg_id, None, m.conversation_id, True)
        d = self.stream.push(m.app.client_id, protocol.TOPIC_BOT_MESSAGE, m.data, key=m.msg_id)
        return SentMessage(m.msg_id, d.message_ids[0] if d.message_ids else None, m.conversation_id, True)

    def click(
        self, card_id: str, *, staff_id: str, button_id: str, params: dict[str, Any] | None = None
    ) -> str:
        """A user clicks a card button; the robot gets the card callback over Stream."""
        c = users.click_button(
            self.platform, self.now, card_id, staff_id=staff_id, button_id=button_id, params=params
        )
        if c.card.callback_type == "HTTP":  # POSTed to the card's registered callback route
            self.http_callbacks.card_click(c)
            return ""

        def on_ack(ack: protocol.Ack, after: float) -> None:
            response = ack.data.get("response") if isinstance(ack.data, dict) else None
            users.answer_click(self.platform, self.now, c, response, after)

        d = self.stream.push(c.card.client_id, protocol.TOPIC_CARD_CALLBACK, c.data, key=c.key, on_ack=on_ack)
        return d.message_ids[0] if d.message_ids else ""

    def push(
        self,
        topic: str,
        data: dict[str, Any],
        *,
        type_: str = "CALLBACK",
        client_id: str | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> str:
        """Any frame the platform may push (``type_`` CALLBACK or EVENT) to the app's robot;
        returns the frame's messageId ('' while queued)."""
        if type_ not in ("CALLBACK", "EVENT"):
            raise ValueError(f"type_ must be CALLBACK or EVENT, found {type_!r}")
        app = self.platform.app(client_id)
        key = key or f"{type_.lower()}:{self.platform.ids.uuid()}"
        d = self.stream.push(app.client_id, topic, data, key=key, type_=type_, headers=headers)
        return d.message_ids[0] if d.message_ids else ""

    def push_event(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        client_id: str | None = None,
        corp_id: str = "dingfakecorp0001",
    ) -> str:
        """An EVENT frame with the real event headers (topic ``*``); an ack with status LATER or
        code != 200 is redelivered, not a violation."""
        app = self.platform.app(client_id)
        event_id = self.platform.ids.uuid().replace("-", "")
        headers = {
            "eventType": event_type,
            "eventId": event_id,
            "eventCorpId": corp_id,
            "eventBornTime": str(self.clock.time_ms()),
            "eventUnifiedAppId": app.app_id,
        }
        return self.push(
            "*", data, type_="EVENT", client_id=app.client_id, headers=headers, key=f"event:{event_id}"
        )

    def graph_request(
        self,
        text: str,
        *,
        conversation_id: str = "cidGroup001",
        conversation_type: str = "group",
        staff_id: str = "user001",
        nick: str | None = None,
        uri: str = "/v1/actions/ask",
        client_id: str | None = None,
    ) -> str:
        """A user asks the AI assistant: a graph request on ``/v1.0/graph/api/invoke`` whose
        body carries the text and a session webhook the robot answers on."""
        t = self.now
        app = self.platform.app(client_id)
        conv = self.platform.conversation(conversation_id, conversation_type, None)
        session = self.platform.new_session(t, app.client_id, conv, Sender(staff_id, nick))
        body = {
            "input": text,
            "conversationId": conv.id,
            "senderStaffId": staff_id,
            "sessionWebhook": f"{self.platform.http_url}/robot/sendBySession?session={session.key}",
        }
        self.platform.note(t, conv.id, f"user:{staff_id}", "graph", text)
        data = {
            "requestLine": {"method": "POST", "uri": uri},
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body, ensure_ascii=False),
        }
        key = f"graph:{self.platform.ids.uuid()}"
        # what a reply on its session webhook answers (``answers`` in a scenario report)
        self.platform.recorder.add(
            t,
            RecordKind.GRAPH,
            client=app.client_id,
            conversation=conv.id,
            sender=staff_id,
            key=key,
            session=session_tag(session.key),
        )
        return self.push(protocol.TOPIC_GRAPH, data, client_id=app.client_id, key=key)

    # -- faults ---------------------------------------------------------------------------------
    def fault(self, spec: dict[str, Any]) -> Fault:
        """Inject a fault now, or ``at`` seconds from now (see ``fakeding.core.faults``)."""
        f = parse_fault(spec)
        if f.route is not None:
            check_route(f.route, self.openapi.routes())
        if f.client_id is not None:
            self.platform.app(f.client_id)  # a clear error for an unknown app
        if f.at:
            at, f.at = f.at, None
            self.platform.faults.later.append(self.platform.faults.number(f))
            self.clock.call_later(at, lambda: self._apply_fault(f))
        else:
            self._apply_fault(f)
        return f

    def _apply_fault(self, f: Fault) -> None:
        if f in self.platform.faults.later:
            self.platform.faults.later.remove(f)
        if f.disarmed:  # taken back (the emulator's disarm) before its time came
            return
        self.record(
            RecordKind.FAULT, fault=f.kind, **{k: v for k, v in f.spec.items() if k not in ("at", "kind")}
        )
        if f.kind in ("frame", RecordKind.API):
            self.platform.faults.arm(f)
            return
        if f.kind == "expire_token":
            self.platform.expire_tokens(self.now, f.client_id)
            return
        if f.kind == "refuse_ticket":
            self.platform.faults.arm(f)
            return
        if f.kind == "stale_channel":
            self.stream.engine.stale_next[f.client_id] = f.seconds
            return
        if f.kind == "clock_jump":
            self.stream.sleep(f.seconds, f.client_id)
            return
        conns = self.stream.live_connections(f.client_id)
        for conn in conns:
            if f.kind == "drop_connection":
                self.stream.drop(conn)
            elif f.kind == RecordKind.DISCONNECT:
                self.stream.disconnect(conn)
            elif f.kind == "zombie":
                self.stream.zombie(conn)

    # -- observing --------------------------------------------------------------------------------
    def timeline(self, kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
        wanted = set(kinds) if kinds else None
        return [r.to_dict() for r in self.platform.recorder if wanted is None or r.kind in wanted]

    def cards(self) -> list[dict[str, Any]]:
        return [card_summary(c) for c in self.platform.cards.all()]

    def card(self, card_id: str) -> Card:
        return self.platform.cards.get(card_id)

    def transcript(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        return [
            dict(e.to_dict(), conversation=e.conversation_id)
            for e in self.platform.transcript
            if conversation_id is None or e.conversation_id == conversation_id
        ]

    # -- typed views: what the scenario runner, the live view and reports read -----------------
    def card_objects(self) -> list[Card]:
        """Every card as the platform keeps it (versions, private data), in the order made."""
        return self.platform.cards.all()

    def transcript_entries(self) -> Sequence[TranscriptEntry]:
        """What was said, as the platform keeps it: the run's own list, to read (a reset starts
        a new one, which is how a follower notices it)."""
        return self.platform.transcript

    def conversation(self, conversation_id: str) -> Conversation | None:
        """A conversation's type and title (None before anyone spoke in it)."""
        return self.platform.conversations.get(conversation_id)

    def direct_conversations(self) -> dict[str, str]:
        """Each user's 1:1 conversation with a robot: staff id -> conversation id."""
        return {staff: cid for (_, staff), cid in self.platform.direct.items()}

    def template_objects(self) -> list[Template]:
        """Registered card templates, parsed."""
        return self.platform.templates.all()

    def use_template(self, template: Template, *, keep: bool = False) -> dict[str, Any]:
        """Register a parsed template (a scenario's ``templates:``, ``serve --templates``);
        ``keep``: it survives resets."""
        return template_summary(self.platform.templates.add(template, keep=keep))

    def armed_faults(self) -> list[dict[str, Any]]:
        """Faults still to come: waiting for their time or armed and not used up."""
        return self.platform.faults.listing()

    def disarm_fault(self, fault_id: int) -> bool:
        """Take back a fault that has not fired (all its count); False if none has that id."""
        return self.platform.faults.disarm(fault_id)

    def keep_file(self, name: str, data: bytes) -> str:
        """Keep a file a user sends; answers the download code a message's content carries
        (the robot downloads it through /v1.0/robot/messageFiles/download)."""
        limit = self.platform.settings.media_max_bytes
        if limit is not None and len(data) > limit:
            raise ControlError("data", f"expected at most {limit} bytes (media_max_bytes), found {len(data)}")
        code = self.platform.ids.code("dl")
        self.platform.files[code] = (name, data)
        return code

    def session_scenario(self, name: str = "emulator session") -> dict[str, Any]:
        """The run so far as a scenario file's content ("Save as scenario"): who said what,
        where, and every setting that differs from its default."""
        p = self.platform
        nicks = {s.sender.staff_id: s.sender.nick for s in p.sessions.values()}
        return session_scenario(
            p.recorder,
            p.transcript,
            p.cards.all(),
            p.conversations,
            nicks,
            self.direct_conversations(),
            name=name,
            settings=changed_settings(self.settings),
        )

    def held_secrets(self) -> list[str]:
        """Every secret the fake holds now (app secrets, tokens, tickets), to mask in what a
        robot printed."""
        p = self.platform
        return [app.client_secret for app in p.apps.values()] + [*p.tokens, *p.tickets, *p.used_tickets]

    @property
    def violations(self) -> list[Record]:
        return self.platform.recorder.violations

    @property
    def fake_errors(self) -> list[Record]:
        return self.platform.recorder.fake_errors

    def expect_violation(self, pattern: str) -> None:
        """A violation whose reason matches ``pattern`` (a regex) is expected until the next
        reset: ``check()`` then requires it and ignores it."""
        re.compile(pattern)
        self.expected_violations.append(pattern)

    def check(self) -> None:
        """Raise ``UnmetExpectation`` listing every failure of the fake itself (a fakeding bug),
        else every unexpected protocol violation (and every expected one that did not happen)."""
        if self.fake_errors:
            lines = "\n".join(f"  {r}" for r in self.fake_errors)
            raise UnmetExpectation(
                f"fakeding itself failed {len(self.fake_errors)} time(s), {BUG_REPORT}:\n{lines}"
            )
        expected = self.expected_violations
        found = [
            r
            for r in self.violations
            if not any(re.search(p, str(r.fields.get("reason", ""))) for p in expected)
        ]
        missing = [
            p
            for p in expected
            if not any(re.search(p, str(r.fields.get("reason", ""))) for r in self.violations)
        ]
        if found:
            lines = "\n".join(f"  {r}" for r in found)
            raise UnmetExpectation(f"expected no protocol violations, found {len(found)}:\n{lines}")
        if missing:
            raise UnmetExpectation(f"expected violations matching {missing}, found none")

    async def wait_until(
        self, predicate: Callable[[], Any], *, timeout: float = 5.0, what: str | None = None
    ) -> Any:
        """Poll ``predicate`` on the loop until it returns something truthy (the loop serves
        between polls); after ``timeout`` raise ``WaitTimeout`` naming what was awaited."""
        deadline = self.now + timeout
        while True:
            value = predicate()
            if value:
                return value
            if self.now >= deadline:
                raise WaitTimeout(what or describe_predicate(predicate), value, timeout)
            await asyncio.sleep(0.01)


def card_summary(card: Card) -> dict[str, Any]:
    return {
        "cardBizId": card.id,
        "kind": card.kind,
        "conversationId": card.conversation_id,
        "user": card.single_user,
        "clientId": card.client_id,
        "callbackType": card.callback_type,
        "privateData": card.private_data,
        "versions": [_version_summary(v) for v in card.versions],
        # what the load oracles read from afar (fakeding.testing.load.remote): whom it @-mentions and
        # whether it ended
        "atUsers": list(card.at_users),
        "flowStatus": None if card.flow_status is None else str(card.flow_status),
        "finalized": card.finalized,
        "failed": card.failed,
    }


def _version_summary(v: CardVersion) -> dict[str, Any]:
    out = {"t": round(v.t, 6), "cardData": v.card_data, "via": v.source}
    if v.source == "stream" and "key" in v.extra:
        out["key"] = v.extra["key"]  # the key a streamed version wrote
    return out


def template_summary(template: Template) -> dict[str, Any]:
    """How the control API shows a registered template."""
    return {
        "templateId": template.id,
        "type": template.type,
        "variables": [
            {"name": v.name, "type": v.type, "private": v.private} for v in template.variables.values()
        ],
        "locals": sorted(template.locals),
        "aiStatuses": list(template.ai_statuses),
    }
