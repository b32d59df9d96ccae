"""``robot: {handler: "module:attr", path: [...]}``: an official-SDK robot in virtual time.

``attr`` is a ``dingtalk_stream`` handler class, an instance, or a zero-argument factory
returning one (or a dict topic → handler). The SDK's own ``DingTalkStreamClient`` runs it as in
production: on its own thread and event loop, talking to the fake (on the run's thread and
loop) over real loopback sockets, so ``requests``, ``http.client``/urllib, aiohttp, httpx and
websockets all reach it the same way, and a blocking handler holds the robot's loop, never the
fake's. All threads share one virtual clock (``fakeding.testing.vtime``): ``time.sleep`` and timers
cost virtual seconds only, a 60-second redelivery included, in milliseconds.

The robot is done when no frame is being handled, no task it spawned is pending and none of
the threads it made is busy or sleeping; then the run ends. Threads left running are stopped
and reported; the SDK stays pointed at loopback after the run (never the real DingTalk).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import random
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakeding.core.record_kinds import RecordKind
from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from fakeding.testing.scenarios import generic
from fakeding.testing.scenarios.robots import RobotAdapterError, RobotContext
from fakeding.testing.sdk_endpoint import point_sdk_at

if TYPE_CHECKING:
    from fakeding.server import FakeDing

log = logging.getLogger("fakeding.robot")  # the SDK client's log: quiet unless configured
log.addHandler(logging.NullHandler())
CONNECT_WALL_SECONDS = 20.0
FIELD = ("robot", "handler")

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["handler"],
    "properties": {
        "handler": {"type": "string", "pattern": "^[A-Za-z_][\\w.]*:[A-Za-z_]\\w*$"},
        "path": {"type": "array", "items": {"type": "string"}},
        "clientId": {"type": "string"},
        "clientSecret": {"type": "string"},
    },
}
HOW = (
    "expected module:attr naming a dingtalk_stream handler class (ChatbotHandler, "
    "CallbackHandler, GraphHandler, EventHandler), an instance, a zero-argument factory "
    "returning one, or a dict topic → handler"
)


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


def _installed() -> tuple[str, ...]:
    """Folders of installed packages (the SDK, site-packages, the kit): never purged."""
    import sysconfig

    kit = str(Path(__file__).resolve().parents[2])  # fakeding/ (this is fakeding/testing/scenarios/)
    found = {sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")}
    return (*sorted(found), kit, sys.prefix, sys.base_prefix)


def _fresh_import(module_name: str, roots: list[Path]) -> Any:
    """Import ``module_name`` anew (a robot module's globals start clean in every run): the
    robot's own modules are dropped, never an installed package (a root may be the project's,
    holding the venv)."""
    keep = _installed()
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        robot = (
            origin
            and any(origin.startswith(str(r) + os.sep) for r in roots)
            and not origin.startswith(keep)
            and f"{os.sep}site-packages{os.sep}" not in origin
        )
        if name == module_name or robot:
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
    raise RobotAdapterError(f"found {type(handler).__name__}, not a dingtalk_stream handler; {HOW}", FIELD)


def load_handlers(spec: str, paths: list[Path]) -> dict[str, Any]:
    """topic → handler instance, from ``module:attr`` (a class, instance, factory or dict)."""
    import dingtalk_stream as ds

    module_name, _, attr = spec.partition(":")
    with on_sys_path(paths):
        try:
            obj = getattr(_fresh_import(module_name, paths), attr)
        except ImportError as exc:
            raise RobotAdapterError(
                f"{spec!r} does not import ({exc}); check the module name "
                f"and `path:` (searched {[str(p) for p in paths]})",
                FIELD,
            ) from None
        except AttributeError:
            raise RobotAdapterError(f"module {module_name!r} has no {attr!r}; {HOW}", FIELD) from None
        handler_types = (ds.CallbackHandler, ds.EventHandler)
        if isinstance(obj, type) or (callable(obj) and not isinstance(obj, handler_types)):
            what = "class" if isinstance(obj, type) else "factory"
            try:
                obj = obj()
            except Exception as exc:  # the robot's own code failed: say where
                raise RobotAdapterError(
                    f"calling {what} {spec} with no arguments failed ({type(exc).__name__}: {exc}); {HOW}",
                    FIELD,
                ) from None
    found = obj.items() if isinstance(obj, Mapping) else [(None, obj)]
    out: dict[str, Any] = {}
    for topic, handler in found:
        if not isinstance(handler, (ds.CallbackHandler, ds.EventHandler)):
            raise RobotAdapterError(f"{spec} gave {type(handler).__name__}, not a handler; {HOW}", FIELD)
        out[str(topic) if topic is not None else topic_of(handler)] = handler
    return out


_INFRA_CORO = ("DingTalkStreamClient.start", "DingTalkStreamClient.keepalive")


def _robot_work(task: asyncio.Task[Any]) -> bool:
    """A task of the robot's (frame handling, what handlers spawn), not the SDK's connection."""
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", "")
    code = getattr(coro, "cr_code", None)
    module = code.co_filename if code is not None else ""
    return name not in _INFRA_CORO and "websockets" not in module


class SdkSession:
    """The SDK's ``DingTalkStreamClient`` running the handlers on their own thread and loop."""

    def __init__(
        self, fake: FakeDing, handlers: dict[str, Any], client_id: str, client_secret: str, seed: int = 0
    ) -> None:
        self.fake = fake
        self.handlers = handlers
        self.credential = (client_id, client_secret)
        self.seed = seed
        self.client: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None  # the robot's
        self.thread: threading.Thread | None = None
        self.clock: Any = None
        self.infra: set[int] = set()
        self._fake_loop: asyncio.AbstractEventLoop | None = None
        self._stack = contextlib.ExitStack()

    def record(self, kind: str, **fields: Any) -> None:
        """Add a record from any thread (on the fake's loop, where records are made)."""
        fake, loop = self.fake, self._fake_loop

        def add() -> None:
            fake.recorder.add(fake.clock.monotonic(), kind, **fields)

        if loop is None or loop.is_closed():
            return
        if threading.current_thread() is threading.main_thread() or _on(loop):
            add()
        else:
            loop.call_soon_threadsafe(add)

    def exception(self, where: str, exc: BaseException) -> None:
        self.record(
            RecordKind.ROBOT_EXCEPTION,
            where=where,
            type=type(exc).__name__,
            message=str(exc),
            traceback="".join(traceback.format_exception(exc))[-2000:],
        )

    def _build_client(self) -> Any:
        import dingtalk_stream as ds

        session = self

        class Client(ds.DingTalkStreamClient):  # type: ignore[misc]
            """The SDK's client; only the host-ip probe (a UDP socket) is skipped, and a
            handler's exception is recorded (the SDK only logs it)."""

            def get_host_ip(self) -> str:
                return "127.0.0.1"

            async def background_task(self, json_message: Any) -> None:
                try:
                    result = await self.route_message(json_message)
                    if result == ds.DingTalkStreamClient.TAG_DISCONNECT:
                        await self.websocket.close()
                except Exception as exc:  # the SDK logs and drops it: the report shows it
                    session.exception(f"handling {json_message.get('headers', {}).get('topic')}", exc)

        client = Client(ds.Credential(*self.credential), logger=log)
        for topic, handler in self.handlers.items():
            if isinstance(handler, ds.AsyncChatbotHandler):
                _record_worker_exceptions(handler, self)
            if topic == "*":
                client.register_all_event_handler(handler)
            else:
                client.register_callback_handler(topic, handler)
        return client

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        clock = getattr(loop, "_vclock", None)
        if clock is None:
            raise RobotAdapterError(
                "a handler robot runs only under the threaded virtual clock "
                "(run_virtual(..., threads=True)); run it with "
                "`fakeding scenario run`",
                FIELD,
            )
        self.clock, self._fake_loop = clock, loop
        random.seed(self.seed)
        saved_env = dict(os.environ)
        self._stack.callback(_restore_env, saved_env)
        patch = point_sdk_at(self.fake.http_url)
        self._stack.callback(_back_to_loopback, patch)
        previous_hook = threading.excepthook

        def hook(args: threading.ExceptHookArgs) -> None:
            if isinstance(args.exc_value, SystemExit):
                return  # a thread the run stopped, or one that exited on purpose
            if args.exc_value is not None:
                name = args.thread.name if args.thread is not None else "?"
                self.exception(f"thread {name}", args.exc_value)
            else:
                previous_hook(args)

        threading.excepthook = hook
        self._stack.callback(setattr, threading, "excepthook", previous_hook)
        self.client = self._build_client()
        started = threading.Event()
        self.thread = threading.Thread(
            target=self._run_robot, args=(started,), name="robot-sdk-client", daemon=True
        )
        self.thread.start()
        started.wait()
        waited = time.perf_counter()
        client_id = self.credential[0]
        clock.hold()  # connecting takes no virtual time
        try:
            await self._connected(client_id, waited)
        finally:
            clock.release()
        self.infra = {t.ident for t in threading.enumerate() if t.ident is not None}

    async def _connected(self, client_id: str, waited: float) -> None:
        assert self.thread is not None
        while not self.fake.stream.live_connections(client_id):
            if not self.thread.is_alive():
                raise RobotAdapterError(
                    f"the SDK client stopped before connecting; last platform calls: {self._last_calls()}",
                    FIELD,
                )
            if time.perf_counter() - waited > CONNECT_WALL_SECONDS:
                raise RobotAdapterError(
                    f"the SDK client did not connect within {CONNECT_WALL_SECONDS:g} s; last "
                    f"platform calls: {self._last_calls()}",
                    FIELD,
                )
            await asyncio.sleep(0)
            _real_pause(0.0005)

    def _run_robot(self, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()  # virtual: the run's policy makes every loop so
        self.loop = loop
        asyncio.set_event_loop(loop)
        main = loop.create_task(self.client.start())
        started.set()
        try:
            loop.run_forever()
        finally:
            for _ in range(5):  # the SDK catches CancelledError once in start() and sleeps
                tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
                if not tasks:
                    break
                for task in tasks:
                    task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(asyncio.wait(tasks, timeout=0.1))
            ws = getattr(self.client, "websocket", None)
            if ws is not None:
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(asyncio.wait_for(ws.close(), 1))
                transport = getattr(ws, "transport", None)
                if transport is not None and not transport.is_closing():
                    transport.abort()  # the close handshake did not finish: nothing leaks
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(asyncio.sleep(0))
            del main
            asyncio.set_event_loop(None)
            loop.close()

    def _last_calls(self) -> str:
        calls = [
            f"{r.fields['route']} → {r.fields['status']}"
            for r in self.fake.recorder.records
            if r.kind == RecordKind.API
        ][-3:]
        return "; ".join(calls) or "none"

    def pending_work(self) -> list[str]:
        """What of the robot's is unfinished: tasks, busy or sleeping threads."""
        out: list[str] = []
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                tasks = [t for t in asyncio.all_tasks(loop) if not t.done() and _robot_work(t)]
            except RuntimeError:
                tasks = []
            out += [f"task {getattr(t.get_coro(), '__qualname__', t.get_name())}" for t in tasks]
            ws = getattr(self.client, "websocket", None)
            if ws is not None and getattr(getattr(ws, "state", None), "name", "OPEN") != "OPEN":
                out.append(f"the SDK client's reconnection (its websocket is {ws.state.name.lower()})")
        if self.clock is not None:
            mine = {threading.get_ident()}
            if (
                self.thread is not None
                and self.thread.ident is not None
                and not any(o.startswith("task") for o in out)
            ):
                mine.add(self.thread.ident)  # its loop's work is judged by its tasks
            out += self.clock.pending_threads(infra=mine)
        return out

    def settled(self) -> None:
        """Record, once the run has waited for the robot, what is still pending (the cap was
        reached) and the calls made to hosts outside the run."""
        left = self.pending_work()
        if left:
            self.record(RecordKind.ROBOT_UNFINISHED, pending=left)
        outside = getattr(self.clock, "outside", None)
        for call in list(outside.calls.values()) if outside is not None else []:
            assert outside is not None
            self.record(
                RecordKind.ROBOT_OUTSIDE,
                host=call.host,
                connections=call.count,
                real_seconds=round(call.real_seconds, 3),
                advice=outside.advice_for(call),
            )
        self._stop_threads()

    def busy(self) -> bool:
        return bool(self.pending_work())

    def pending(self) -> list[asyncio.Future[Any]]:
        return []

    async def aclose(self) -> None:
        try:
            await self._stop_robot()
        finally:
            self._stack.close()

    async def _stop_robot(self) -> None:
        import dingtalk_stream as ds

        loop, thread = self.loop, self.thread
        for handler in self.handlers.values():
            if isinstance(handler, ds.AsyncChatbotHandler):
                handler.async_executor.shutdown(wait=False, cancel_futures=True)
        if loop is not None and thread is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
            for _ in range(2000):
                if not thread.is_alive():
                    break
                await asyncio.sleep(0)
                _real_pause(0.001)
        self._stop_threads()

    def _stop_threads(self) -> None:
        """Stop the threads the robot left working or sleeping, and report them; threads idle
        in a wait (a pool worker with no work) are left alone: nothing wakes them."""
        if self.clock is None:
            return
        left = [
            (ident, what)
            for ident, what in self.clock.pending(infra=self.infra | {threading.get_ident()})
            if ident not in self.clock.doomed
        ]
        threads = {t.ident: t for t in threading.enumerate()}
        for ident, what in left:
            asleep = self.clock.sleeping(ident)
            self.clock.doom(ident)  # a virtual sleep raises SystemExit at once
            thread = threads.get(ident)
            if not asleep and thread is not None:
                _stop_thread(thread)  # elsewhere: SystemExit at its next Python instruction
            self.record(
                RecordKind.ROBOT_THREAD_STOPPED,
                thread=thread.name if thread is not None else str(ident),
                reason="still running when the run ended",
                doing=what,
            )
        for ident, _ in left:
            thread = threads.get(ident)
            if thread is not None:
                thread.join(timeout=2)


def _real_pause(seconds: float) -> None:
    """A real pause (the run's ``time.sleep`` is virtual)."""
    threading.Event().wait(seconds)


def _on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _back_to_loopback(patch: Any) -> None:
    """Give the SDK back the endpoint it had before the run (a test session's own fake).
    Robot threads that outlive the run are stopped first (``_stop_threads``)."""
    patch.undo(sdk=True)


def _restore_env(saved: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(saved)


def _stop_thread(thread: threading.Thread) -> None:
    """Raise SystemExit in a thread the robot left running (at its next Python instruction)."""
    import ctypes

    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(SystemExit))


def _record_worker_exceptions(handler: Any, session: SdkSession) -> None:
    """``AsyncChatbotHandler`` runs ``process`` on its pool and only logs what it raises."""
    process = handler.process

    def recorded(message: Any) -> Any:
        try:
            return process(message)
        except Exception as exc:
            session.exception(f"{type(handler).__name__}.process (worker thread)", exc)
            raise

    handler.process = recorded


class HandlerAdapter(generic.GenericVoice):
    """The scenario engine's view of any official-SDK handler."""

    name = "handler"
    threads = True  # run under the threaded virtual clock (``run_virtual(threads=True)``)
    options_schema: dict[str, Any] = OPTIONS_SCHEMA
    answer_schema: dict[str, Any] | None = None
    expectation_schema: Mapping[str, dict[str, Any]] = {}
    record_prefix = "robot."
    summary_kinds: Mapping[str, str] = {}

    def check(self, options: Mapping[str, Any], folder: Path) -> None:
        """Load the handlers once at load time: a bad path fails before anything runs."""
        load_handlers(str(options["handler"]), _paths(options, folder))

    def open(self, fake: FakeDing, ctx: RobotContext) -> SdkSession:
        handlers = load_handlers(str(ctx.options["handler"]), _paths(ctx.options, ctx.folder or Path.cwd()))
        return SdkSession(
            fake,
            handlers,
            str(ctx.options.get("clientId", DEFAULT_CLIENT_ID)),
            str(ctx.options.get("clientSecret", DEFAULT_CLIENT_SECRET)),
            ctx.seed,
        )


def _paths(options: Mapping[str, Any], folder: Path) -> list[Path]:
    return [(folder / p).resolve() for p in options.get("path", [])]
