"""The live view of a running fake: the timeline as server-sent events, the emulator page, and
the control routes the page needs (settings at run time, connections, "Save as scenario").

Why: a robot developer wants to watch the robot work as it happens. The recorder calls ``Feed``
for each record (a list append, nothing more); the feed turns the batch into events on the next
loop turn and hands them to every follower: the page's ``EventSource`` at
``/_fakeding/events``, or the ``fakeding serve -v`` console.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import sys
import weakref
from collections import Counter
from collections.abc import Callable
from importlib import resources
from pathlib import Path, PurePath
from typing import Any, Protocol, TextIO

from aiohttp import web

from fakeding.aio import scenario_folder
from fakeding.aio.control_routes import body_of, clipped, register
from fakeding.aio.scenario_yaml import to_yaml
from fakeding.aio.stream_ws import StreamServer
from fakeding.core import control_settings, jsonsafe
from fakeding.core.api import FakeDingAPI
from fakeding.core.control_settings import knobs
from fakeding.core.describe import Refs, describe
from fakeding.core.exceptions import ConfigError, ControlError
from fakeding.core.inspector import frames_for
from fakeding.core.record_kinds import FAILING_KINDS, RecordKind
from fakeding.core.recorder import Record
from fakeding.core.terminal import printable


class FakeDing(FakeDingAPI, Protocol):
    """What the live view needs of the fake (``fakeding.server.FakeDing`` is one): the API every
    consumer uses, and the Stream server whose connections and frames it shows (the fake's own
    edge, not the platform's state: see docs/architecture.md)."""

    stream: StreamServer
    scenarios_dir: Path | None  # ``serve --scenarios DIR``, listed for the Replay pane


Event = dict[str, Any]
Sink = Callable[[list[Event]], None]
WEB_FILES = {"index.html": "text/html", "app.js": "text/javascript", "app.css": "text/css"}
QUEUE_LIMIT = 50_000  # a follower this far behind is cut off; its EventSource reconnects
SNAPSHOT_RECORDS = 500  # the first snapshot's latest records; older ones come from /records
PAGE_MAX = 5_000  # the most records one /_fakeding/records page answers


class Feed:
    """Follows one fake's recorder (across resets) and fans events out to sinks."""

    def __init__(self, fake: FakeDing) -> None:
        self.fake = fake
        self.sinks: list[Sink] = []
        self._pending: list[Record] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._recorder = fake.recorder
        self._transcript = fake.transcript_entries()
        self._said = len(self._transcript)
        self._refs: Any = None
        fake.recorder.listeners.append(self._on_record)

    # The listener: called by the recorder for every record, so it only queues.
    def _on_record(self, record: Record) -> None:
        if not self.sinks or self._loop is None:
            return
        self._pending.append(record)
        if len(self._pending) == 1:
            self._loop.call_soon_threadsafe(self._flush)

    def add_sink(self, sink: Sink) -> Callable[[], None]:
        """Follow from now on; returns the function that stops following."""
        self._loop = asyncio.get_running_loop()
        if not self.sinks:  # nothing was followed until now: start from here
            said = self.fake.transcript_entries()
            self._recorder, self._transcript, self._said = self.fake.recorder, said, len(said)
        self.sinks.append(sink)
        return lambda: self.sinks.remove(sink) if sink in self.sinks else None

    def _flush(self) -> None:
        records, self._pending = self._pending, []
        events: list[Event] = []
        recorder, transcript = self.fake.recorder, self.fake.transcript_entries()
        if recorder is not self._recorder or transcript is not self._transcript:  # a reset
            self._recorder, self._transcript, self._said, self._refs = recorder, transcript, 0, None
            events.append({"type": "reset"})
        for record in records:
            events.append(self.record_event(record, with_card=True))
        events.extend(self._new_sayings())
        for sink in list(self.sinks):
            sink(events)

    def _new_sayings(self) -> list[Event]:
        transcript = self.fake.transcript_entries()
        self._said = min(self._said, len(transcript))
        out = [self.say_event(e) for e in transcript[self._said :]]
        self._said = len(transcript)
        return out

    # -- event shapes ---------------------------------------------------------------------------
    def line(self, record: Record) -> str | None:
        """The record in the words of a scenario report (``card#1``, ``msg#2``, ...); None for
        what reports leave out (token and gateway calls, pings, ...)."""
        if self._refs is None:
            self._refs = Refs()
        cards = {c.id: c for c in self.fake.card_objects()} if record.kind.startswith("card.") else {}
        try:
            text = describe(record, self._refs, cards, {})
        except (KeyError, IndexError, TypeError, ValueError):
            text = f"{record.kind} {json.dumps(record.fields, default=str, ensure_ascii=False)}"
        if text == f"{record.kind} {record.fields}":  # describe's last resort: a Python repr
            text = readable(record, self._refs)
        return text

    def record_event(self, record: Record, *, with_card: bool = False) -> Event:
        """One record for followers; what reports leave out is marked ``quiet`` (the page
        shows it dimmed, with enough words to say what it was)."""
        event: Event = {
            "type": "record",
            "seq": record.seq,
            "t": round(record.t, 6),
            "kind": record.kind,
            "fields": record.fields,
        }
        line = self.line(record)
        event["line"] = _quiet_line(record) if line is None else line
        if line is None:
            event["quiet"] = True
        if with_card and record.kind in (RecordKind.CARD_SEND, RecordKind.CARD_UPDATE):
            try:
                card = self.fake.card(record.fields["card"])
                version = card.versions[record.fields["version"] - 1]
            except (KeyError, IndexError):
                return event
            event["card"] = dict(
                card_meta(card, card.template_id in _template_ids(self.fake)),
                version=record.fields["version"],
                t=round(version.t, 6),
                via=version.source,
                cardData=version.card_data,
            )
        return event

    def say_event(self, entry: Any) -> Event:
        conv = self.fake.conversation(entry.conversation_id)
        return {
            "type": "say",
            **entry.to_dict(),
            "conversation": entry.conversation_id,
            "conversationType": conv.type if conv else "single",
            "title": conv.title if conv else None,
        }

    def snapshot(self) -> Event:
        fake = self.fake
        transcript = fake.transcript_entries()
        drawn = _template_ids(fake)
        self._refs = None  # refs numbered from the start of the run, as the lines will be
        records = [self.record_event(r) for r in fake.recorder]
        older = max(0, len(records) - SNAPSHOT_RECORDS)  # paged on demand: /_fakeding/records
        records = records[older:]
        # While others follow, records not yet flushed come again as events (followers skip
        # seqs they have) and transcript lines after ``_said`` come only as events.
        following = bool(self.sinks) and transcript is self._transcript
        said = self._said if following else len(transcript)
        return {
            "type": "snapshot",
            "records": records,
            "older": older,
            "since": round(float(getattr(self.fake, "reset_t", 0.0)), 6),
            "transcript": [self.say_event(e) for e in transcript[:said]],
            "cards": [
                dict(
                    card_meta(c, c.template_id in drawn),
                    versions=[
                        {"t": round(v.t, 6), "via": v.source, "cardData": v.card_data} for v in c.versions
                    ],
                )
                for c in fake.card_objects()
            ],
            "connections": connections(self.fake),
            "settings": current_settings(self.fake),
        }

    def older(self, before: int, limit: int) -> list[Event]:
        """The ``limit`` records before seq ``before``, worded as the live lines are (refs
        numbered from the start of the run, without disturbing the followers' numbering)."""
        kept, self._refs = self._refs, None
        try:
            events = [self.record_event(r) for r in self.fake.recorder]
        finally:
            self._refs = kept
        events = [e for e in events if e["seq"] < before]
        return events[max(0, len(events) - limit) :]


REF_FIELDS = {"msg": "msg", "msgId": "msg", "card": "card", "connection": "conn"}


def readable(record: Record, refs: Refs) -> str:
    """A record describe has no words for (the robot's ``bot.*``), as ``kind key=value ...``:
    ids as the refs the other lines use (msg#1, card#2), values as JSON, long ones clipped."""
    parts = [record.kind]
    for key, value in record.fields.items():
        if key in REF_FIELDS and isinstance(value, str):
            shown = refs(REF_FIELDS[key], value)
        elif isinstance(value, str):
            shown = value if len(value) <= 60 else f"{value[:59]}…"
        else:
            shown = json.dumps(value, default=str, ensure_ascii=False)
            shown = shown if len(shown) <= 60 else f"{shown[:59]}…"
        parts.append(f"{key}={shown}")
    return " ".join(parts)


def card_meta(card: Any, drawn: bool = False) -> dict[str, Any]:
    """A card as the page knows it; ``drawn``: its template is registered (the page asks
    ``/_fakeding/cards/{id}/view`` for what each user sees)."""
    return {
        "id": card.id,
        "cardKind": card.kind,
        "conversation": card.conversation_id,
        "user": card.single_user,
        "client": card.client_id,
        "flowStatus": card.flow_status,
        "template": card.template_id,
        "drawn": drawn,
    }


def _quiet_line(record: Record) -> str:
    f = record.fields
    if record.kind == RecordKind.API:
        return f"api {f.get('route')} → {f.get('status')}"
    if record.kind in (RecordKind.PUSH, RecordKind.ACK) and f.get("topic"):
        return f"{record.kind} {f.get('type', 'SYSTEM')} {f.get('topic')}"
    return record.kind


def connections(fake: FakeDing) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "client": c.app.client_id, "state": c.state.value, "opened": round(c.opened_t, 6)}
        for c in fake.stream.connections.values()
    ]


def current_settings(fake: FakeDing) -> dict[str, Any]:
    """Every setting by name (the table of ``fakeding.core.settings``)."""
    return control_settings.view(fake.settings)


def change_settings(fake: FakeDing, changes: dict[str, Any]) -> dict[str, Any]:
    """Change rules and limits now, keeping what happened so far: the control API's checks."""
    return fake.update_settings(changes)


def export_scenario(fake: FakeDingAPI, name: str = "emulator session") -> dict[str, Any]:
    """ "Save as scenario": the run so far, with every setting that differs from its default."""
    return fake.session_scenario(name)


def _template_ids(fake: FakeDingAPI) -> set[str]:
    """The registered templates' ids: a card of one of them is drawn (``card_meta``)."""
    return {t.id for t in fake.template_objects()}


_FEEDS: weakref.WeakKeyDictionary[Any, Feed] = weakref.WeakKeyDictionary()


def feed_of(fake: FakeDing) -> Feed:
    """The feed of a started fake (``serve -v`` follows it)."""
    return _FEEDS[fake]


def add_live_routes(app: web.Application, fake: FakeDing) -> None:
    """The page at ``/``, its files, and the live control routes (before the catch-all)."""
    feed = Feed(fake)
    _FEEDS[fake] = feed
    followers: set[asyncio.Queue[str | None]] = set()

    async def page(_: web.Request) -> web.StreamResponse:
        return _web_file("index.html")

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in WEB_FILES:
            raise web.HTTPNotFound(
                text=json.dumps(
                    {"error": f"no emulator file {name!r}; known: {', '.join(WEB_FILES)}", "field": "name"}
                ),
                content_type="application/json",
            )
        return _web_file(name)

    async def no_icon(_: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async def events(request: web.Request) -> web.StreamResponse:
        """Server-sent events: a ``snapshot`` of the run so far, then every change as it comes."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)

        def sink(batch: list[Event]) -> None:
            text = "".join(f"data: {_dumps(e)}\n\n" for e in batch)
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:
                stop()
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)

        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        )
        try:
            await response.prepare(request)
        except ConnectionError:  # the tab closed before the stream began: nothing to send
            return response
        snapshot = feed.snapshot()  # then follow, with no await between: nothing falls between
        stop = feed.add_sink(sink)
        followers.add(queue)
        try:
            await response.write(f"retry: 500\ndata: {_dumps(snapshot)}\n\n".encode())
            while True:
                try:
                    text = await asyncio.wait_for(queue.get(), 15.0)
                except TimeoutError:
                    text = ": keep-alive\n\n"
                if text is None:
                    break
                await response.write(text.encode())
        except (ConnectionError, asyncio.CancelledError):
            pass  # the follower left (aiohttp says "Connection lost" mid-write): not a fake failure
        finally:
            stop()
            followers.discard(queue)
        return response

    async def on_shutdown(_: web.Application) -> None:
        for queue in list(followers):  # let open streams end so the server stops promptly
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    async def settings(request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            return _json(current_settings(fake))
        try:  # the body's shape is checked against the table's schema before this runs
            return _json(change_settings(fake, body_of(request)))
        except ControlError as exc:
            return _json({"error": clipped(str(exc)), "field": exc.field}, 400)
        except ConfigError as exc:
            return _json({"error": clipped(str(exc)), "field": "settings"}, 400)

    async def conns(_: web.Request) -> web.StreamResponse:
        return _json(connections(fake))

    async def older(request: web.Request) -> web.StreamResponse:
        try:
            before = _count(request, "before", 2**62)
            limit = min(_count(request, "limit", SNAPSHOT_RECORDS), PAGE_MAX)
        except ControlError as exc:
            return _json({"error": str(exc), "field": exc.field}, 400)
        return _json(feed.older(before, limit))

    async def knob_table(_: web.Request) -> web.StreamResponse:
        return _json([k.view() for k in knobs().values()])

    async def armed(_: web.Request) -> web.StreamResponse:
        return _json(fake.armed_faults())

    async def disarm(request: web.Request) -> web.StreamResponse:
        done = fake.disarm_fault(int(body_of(request)["id"]))  # a whole number, checked
        return _json({"disarmed": done, "armed": fake.armed_faults()})

    async def upload(request: web.Request) -> web.StreamResponse:
        """A file the page's user picked: kept as the platform keeps message files, so the
        robot downloads it through /v1.0/robot/messageFiles/download with the code."""
        try:
            code = store_upload(fake, body_of(request))
        except ControlError as exc:
            return _json({"error": clipped(str(exc)), "field": exc.field}, 400)
        return _json({"downloadCode": code})

    async def frames(request: web.Request) -> web.StreamResponse:
        key = request.query.get("key", "")
        if not key:
            return _json(
                {
                    "error": "key: expected the msgId of a message (the delivery key of "
                    "its push records), found nothing; add ?key=…",
                    "field": "key",
                },
                400,
            )
        app_ids = {a["clientId"]: a["appId"] for a in fake.apps()}
        return _json(frames_for(fake.stream.engine, app_ids, key))

    async def scenario(request: web.Request) -> web.StreamResponse:
        name = request.query.get("name") or "emulator session"
        text = to_yaml(export_scenario(fake, name))
        return web.Response(
            text=text,
            content_type="application/yaml",
            headers={"Content-Disposition": 'attachment; filename="emulator-session.yaml"'},
        )

    async def scenario_steps(request: web.Request) -> web.StreamResponse:
        """A scenario file's text, validated as ``fakeding scenario run`` does, as typed steps
        the page replays (``fakeding.aio.scenario_replay`` says why the page sends them)."""
        try:  # the body's shape is checked against the table's schema before this runs
            answer = typed_steps(body_of(request))
        except ControlError as exc:  # its problem names the file, line and field itself
            return _json({"error": clipped(exc.problem), "field": exc.field}, 400)
        return _json(answer)

    async def scenario_files(_: web.Request) -> web.StreamResponse:
        return _json(await asyncio.to_thread(scenario_folder.listing, fake.scenarios_dir))

    app.on_shutdown.append(on_shutdown)
    r = app.router
    r.add_get("/", page)
    r.add_get("/favicon.ico", no_icon)  # browsers ask for it; not a robot's mistake to record
    # the page's routes under /_fakeding/ come from the control API's table (fakeding.core.control_spec)
    handlers = {
        "static": static,
        "events": events,
        "settings": settings,
        "conns": conns,
        "older": older,
        "frames": frames,
        "knob_table": knob_table,
        "upload": upload,
        "armed": armed,
        "disarm": disarm,
        "scenario": scenario,
        "scenario_steps": scenario_steps,
        "scenario_files": scenario_files,
    }
    register(r, "live", handlers)


def typed_steps(body: dict[str, Any]) -> dict[str, Any]:
    """``{"yaml": TEXT, "name"?: FILE NAME}`` (strings, checked against the table's schema) as
    ``page_replay.page_steps`` types it; a file that does not validate is a ``ControlError``
    whose problem names the file, line, step and field (``scenario.yaml:12: steps[2].say.user:
    unknown user 'bob'; declared: ['alice']``)."""
    text, name = body["yaml"], body.get("name") or "scenario.yaml"
    if not text.strip():
        raise ControlError("yaml", f"yaml: expected the scenario file's text, found {jsonsafe.echo(text)}")
    try:
        from fakeding.aio.scenario_document import ScenarioError, check_any_robot
        from fakeding.aio.scenario_replay import page_steps
    except ImportError:
        need = "yaml: loading a scenario needs PyYAML: pip install 'fakeding[scenarios]'"
        raise ControlError("yaml", need) from None
    try:
        path = Path(PurePath(name.replace("\\", "/")).name or "scenario.yaml")
        scenario = check_any_robot(text, path)  # the connected robot answers: no adapter
    except ScenarioError as exc:
        raise ControlError(_where(str(exc)), str(exc)) from None
    return page_steps(scenario)


def _where(message: str) -> str:
    """The field a scenario error names (``file:12: steps[2].say.user: …`` → ``steps[2].say.user``)."""
    found = re.match(r"[^:]*:\d+: ([A-Za-z_][\w.\[\]-]*|\(top\)): ", message)
    return found.group(1) if found else "yaml"


def store_upload(fake: FakeDingAPI, body: dict[str, Any]) -> str:
    """``{"name", "base64"}`` (strings, checked against the table's schema) kept under a new
    download code; errors name the field."""
    name = body["name"]
    if not name.strip():
        raise ControlError(
            "name", f"expected the file's name (1-255 characters), found {jsonsafe.echo(name)}"
        )
    raw = body["base64"]
    try:
        data = base64.b64decode(raw, validate=True)
    except (ValueError, binascii.Error):
        raise ControlError(
            "base64", f"expected the file's bytes as base64 text, found {jsonsafe.echo(raw)}"
        ) from None
    try:
        return fake.keep_file(name.strip(), data)
    except ControlError as exc:  # too big: the bytes came as the base64 field
        raise ControlError("base64", exc.problem) from None


def _count(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise ControlError(name, f"expected a whole number >= 0, found {raw[:40]!r}")
    return int(raw)


def _dumps(obj: Any) -> str:
    return jsonsafe.dumps_readable(obj, compact=True)  # whatever was stored, never a 500


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def _web_file(name: str) -> web.Response:
    data = resources.files("fakeding.aio").joinpath("web", name).read_bytes()
    return web.Response(
        body=data, content_type=WEB_FILES[name], charset="utf-8", headers={"Cache-Control": "no-cache"}
    )


# -- the console: ``fakeding serve -v`` ------------------------------------------------------
class Console:
    """One line per record as it happens; violations stand out; a summary at the end."""

    def __init__(
        self,
        out: TextIO = sys.stdout,
        color: bool | None = None,
        doctor: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.out = out
        self.color = out.isatty() if color is None else color
        self.counts: Counter[str] = Counter()
        self.doctor = doctor  # asked when an app first connects, and for the summary
        self.connected: set[str] = set()
        self.told: set[tuple[str, str]] = set()  # (code, title) already printed

    def __call__(self, events: list[Event]) -> None:
        for e in events:
            if e["type"] == "reset":
                self.out.write("-- reset --\n")
            elif e["type"] == "record":
                self.count(e)
                if e.get("quiet"):
                    continue
                line = f"+{e['t']:.3f}s {printable(str(e['line']))}"  # robot data: inert
                if e["kind"] in FAILING_KINDS:
                    line = f"\x1b[1;31m!! {line}\x1b[0m" if self.color else f"!! {line}"
                elif e["kind"] == RecordKind.WARNING:
                    line = f"\x1b[33m~ {line}\x1b[0m" if self.color else f"~ {line}"
                elif self.color and e["kind"] == RecordKind.API and e["fields"].get("status", 200) >= 400:
                    line = f"\x1b[33m{line}\x1b[0m"  # a refused call: yellow
                self.out.write(line + "\n")
                client = e["fields"].get("client")
                if e["kind"] == RecordKind.CONNECT and client not in self.connected:
                    self.connected.add(str(client))
                    self.diagnose(first_connect=True)
            elif e["type"] == "say":
                if e["who"] == "bot":
                    self.counts["answers"] += 1
                who = str(e["who"]).removeprefix("user:") if e["who"] != "bot" else "robot"
                text = " ".join(str(e.get("text", "")).split())
                text = text if len(text) <= 100 else f"{text[:99]}…"
                where = e.get("conversation", "?")
                self.out.write(printable(f"         {who} in [{where}]: {text}") + "\n")
        self.out.flush()

    def count(self, e: Event) -> None:
        kind, f = e["kind"], e["fields"]
        if kind == RecordKind.MESSAGE:
            self.counts["messages"] += 1
        elif kind == RecordKind.CARD_SEND:
            self.counts["cards"] += 1
        elif kind == RecordKind.CARD_UPDATE:
            self.counts["updates"] += 1
        elif kind == RecordKind.API and f.get("status") != 200:
            self.counts["API errors"] += 1
        elif kind in FAILING_KINDS:
            self.counts["violations"] += 1
        elif kind == RecordKind.WARNING:
            self.counts["warnings"] += 1

    def diagnose(self, *, first_connect: bool = False) -> None:
        """The doctor's findings not printed yet (on a first connect: the errors only, such
        as a robot subscribed without the robot topic), as ``doctor:`` lines."""
        if self.doctor is None:
            return
        for f in self.doctor():
            key = (str(f["code"]), str(f["title"]))
            if key in self.told or (first_connect and f["severity"] != "error"):
                continue
            self.told.add(key)
            line = printable(f"doctor: [{f['severity']}] {f['code']}: {f['title']}. {f['fix']}")
            self.out.write((f"\x1b[33m{line}\x1b[0m" if self.color else line) + "\n")
        self.out.flush()

    def summary(self) -> str:
        self.diagnose()
        names: tuple[str, ...] = ("messages", "answers", "cards", "updates", "API errors", "violations")
        if self.counts["warnings"]:
            names += ("warnings",)
        return "summary: " + ", ".join(f"{self.counts[n]} {n}" for n in names)
