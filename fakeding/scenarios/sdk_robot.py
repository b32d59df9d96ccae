"""``robot: {handler: "module:attr", path: [...]}``: an official-SDK robot in virtual time.

``attr`` is a ``dingtalk_stream`` handler class, an instance, or a zero-argument factory
returning one (or a dict topic → handler). The SDK's own ``DingTalkStreamClient`` connects it
(gateway, token, websocket, its frame handling and acks) on the scenario's loop. Its blocking
``requests`` calls are answered in-process by the fake's HTTP core (``fakeding.inprocess``),
``time.sleep`` advances virtual time and ``time.time()`` reads it (``blocking``), so a robot
written like the tutorials runs unchanged, a 60-second redelivery included, in milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..sdk_endpoint import point_sdk_at
from ..settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from . import generic
from .blocking import advance, loop_time_for_blocking_code
from .robots import RobotAdapterError, RobotContext

if TYPE_CHECKING:
    from ..server import FakeDing

log = logging.getLogger("fakeding.robot")  # the SDK client's log: quiet unless configured
log.addHandler(logging.NullHandler())
CONNECT_WALL_SECONDS = 20.0
QUIET = 1.0  # virtual seconds without robot work before the run calls the robot idle
FIELD = ("robot", "handler")

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["handler"],
    "properties": {
        "handler": {"type": "string", "pattern": "^[A-Za-z_][\\w.]*:[A-Za-z_]\\w*$"},
        "path": {"type": "array", "items": {"type": "string"}},
        "clientId": {"type": "string"}, "clientSecret": {"type": "string"},
    },
}
HOW = ("expected module:attr naming a dingtalk_stream handler class (ChatbotHandler, "
       "CallbackHandler, GraphHandler, EventHandler), an instance, a zero-argument factory "
       "returning one, or a dict topic → handler")


@contextlib.contextmanager
def on_sys_path(entries: list[Path]) -> Iterator[None]:
    added = [str(e) for e in entries if str(e) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


def _fresh_import(module_name: str, roots: list[Path]) -> Any:
    """Import ``module_name`` anew (a robot module's globals start clean in every run)."""
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        if name == module_name or (origin and any(str(r) in origin for r in roots)):
            del sys.modules[name]
    return importlib.import_module(module_name)


def topic_of(handler: Any) -> str:
    """The topic an SDK handler instance serves ("*" for events)."""
    import dingtalk_stream as ds

    if isinstance(handler, ds.EventHandler):
        return "*"
    if isinstance(handler, ds.GraphHandler):
        return str(ds.GraphMessage.TOPIC)
    if isinstance(handler, ds.ChatbotHandler | ds.AsyncChatbotHandler):
        return str(ds.ChatbotMessage.TOPIC)
    if isinstance(handler, ds.CallbackHandler):
        topic = getattr(handler, "topic", None)
        return topic if isinstance(topic, str) else str(ds.CallbackHandler.TOPIC_CARD_CALLBACK)
    raise RobotAdapterError(f"found {type(handler).__name__}, not a dingtalk_stream handler; "
                            f"{HOW}", FIELD)


def load_handlers(spec: str, paths: list[Path]) -> dict[str, Any]:
    """topic → handler instance, from ``module:attr`` (a class, instance, factory or dict)."""
    import dingtalk_stream as ds

    module_name, _, attr = spec.partition(":")
    with on_sys_path(paths):
        try:
            obj = getattr(_fresh_import(module_name, paths), attr)
        except ImportError as exc:
            raise RobotAdapterError(f"{spec!r} does not import ({exc}); check the module name "
                                    f"and `path:` (searched {[str(p) for p in paths]})",
                                    FIELD) from None
        except AttributeError:
            raise RobotAdapterError(f"module {module_name!r} has no {attr!r}; {HOW}",
                                    FIELD) from None
        handler_types = (ds.CallbackHandler, ds.EventHandler)
        if isinstance(obj, type) or (callable(obj) and not isinstance(obj, handler_types)):
            what = "class" if isinstance(obj, type) else "factory"
            try:
                obj = obj()
            except Exception as exc:  # the robot's own code failed: say where
                raise RobotAdapterError(f"calling {what} {spec} with no arguments failed "
                                        f"({type(exc).__name__}: {exc}); {HOW}", FIELD) from None
    found = obj.items() if isinstance(obj, Mapping) else [(None, obj)]
    out: dict[str, Any] = {}
    for topic, handler in found:
        if not isinstance(handler, (ds.CallbackHandler, ds.EventHandler)):
            raise RobotAdapterError(f"{spec} gave {type(handler).__name__}, not a handler; {HOW}",
                                    FIELD)
        out[str(topic) if topic is not None else topic_of(handler)] = handler
    return out


class SdkSession:
    """The SDK's ``DingTalkStreamClient`` running the handlers on the scenario's loop."""

    def __init__(self, fake: FakeDing, handlers: dict[str, Any], client_id: str,
                 client_secret: str, epoch: float) -> None:
        self.fake = fake
        self.handlers = handlers
        self.credential = (client_id, client_secret)
        self.epoch = epoch
        self.tasks: set[asyncio.Task[Any]] = set()
        self.last_work = 0.0
        self.task: asyncio.Task[Any] | None = None
        self.client: Any = None
        self._stack = contextlib.ExitStack()

    def _build_client(self) -> Any:
        import dingtalk_stream as ds

        tasks = self.tasks
        session = self

        class Client(ds.DingTalkStreamClient):  # type: ignore[misc]
            """The SDK's client; only the host-ip probe (a UDP socket) is skipped, and the tasks
            handling frames are tracked so that the run knows when the robot is idle."""

            def get_host_ip(self) -> str:
                return "127.0.0.1"

            async def background_task(self, json_message: Any) -> None:
                task = asyncio.current_task()
                if task is not None:
                    tasks.add(task)
                try:
                    await super().background_task(json_message)
                finally:
                    session.last_work = asyncio.get_running_loop().time()

        client = Client(ds.Credential(*self.credential), logger=log)
        for topic, handler in self.handlers.items():
            if topic == "*":
                client.register_all_event_handler(handler)
            else:
                client.register_callback_handler(topic, handler)
        return client

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        stack = self._stack
        stack.enter_context(loop_time_for_blocking_code(loop, self.epoch))
        patch = point_sdk_at(self.fake.http_url)
        stack.callback(patch.undo)
        from .. import inprocess

        stack.enter_context(inprocess.serving(self.fake.openapi, self.fake.http_url,
                                              lambda s: advance(loop, s)))
        self.client = self._build_client()
        self.task = asyncio.ensure_future(self.client.start())
        started = time.perf_counter()
        client_id = self.credential[0]
        while not self.fake.stream.live_connections(client_id):
            if self.task.done():
                self.task.result()
            if time.perf_counter() - started > CONNECT_WALL_SECONDS:
                raise RobotAdapterError(
                    f"the SDK client did not connect within {CONNECT_WALL_SECONDS:g} s; last "
                    f"platform calls: {self._last_calls()}", FIELD)
            await asyncio.sleep(0)

    def _last_calls(self) -> str:
        calls = [f"{r.fields['route']} → {r.fields['status']}"
                 for r in self.fake.platform.recorder.records if r.kind == "api"][-3:]
        return "; ".join(calls) or "none"

    def busy(self) -> bool:
        """Handling a frame, or less than ``QUIET`` s since the last one was handled (a
        redelivered frame may still sit in the socket when the ack is in)."""
        if any(not t.done() for t in self.tasks):
            return True
        return asyncio.get_running_loop().time() - self.last_work < QUIET

    def pending(self) -> list[asyncio.Future[Any]]:
        return [t for t in self.tasks if not t.done()]

    async def aclose(self) -> None:
        try:
            for task in [*self.tasks, *([self.task] if self.task else [])]:
                # The SDK catches CancelledError once in start() and sleeps: cancel until done.
                for _ in range(5):
                    if task.done():
                        break
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await asyncio.wait([task], timeout=0)
                        await asyncio.sleep(0)
            ws = getattr(self.client, "websocket", None)
            if ws is not None:
                with contextlib.suppress(Exception):
                    await ws.close()
        finally:
            self._stack.close()


class HandlerAdapter(generic.GenericVoice):
    """The scenario engine's view of any official-SDK handler."""

    name = "handler"
    options_schema: dict[str, Any] = OPTIONS_SCHEMA
    answer_schema: dict[str, Any] | None = None
    expectation_schema: Mapping[str, dict[str, Any]] = {}
    record_prefix = "robot."
    summary_kinds: Mapping[str, str] = {}

    def check(self, options: Mapping[str, Any], folder: Path) -> None:
        """Load the handlers once at load time: a bad path fails before anything runs."""
        load_handlers(str(options["handler"]), _paths(options, folder))

    def open(self, fake: FakeDing, ctx: RobotContext) -> SdkSession:
        handlers = load_handlers(str(ctx.options["handler"]),
                                 _paths(ctx.options, ctx.folder or Path.cwd()))
        from .harness import EPOCH

        return SdkSession(fake, handlers, str(ctx.options.get("clientId", DEFAULT_CLIENT_ID)),
                          str(ctx.options.get("clientSecret", DEFAULT_CLIENT_SECRET)), EPOCH)



def _paths(options: Mapping[str, Any], folder: Path) -> list[Path]:
    return [(folder / p).resolve() for p in options.get("path", [])]
