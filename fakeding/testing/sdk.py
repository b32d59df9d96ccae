"""Run the official, unmodified ``dingtalk_stream`` client on its own thread, as a robot would
(``with SdkRobot().on_messages(MyHandler()): ...`` inside a test using the ``fakeding`` fixture)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import dingtalk_stream
from dingtalk_stream import AckMessage, ChatbotHandler, ChatbotMessage, Credential

from fakeding.core.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

OnMessage = Callable[["RecordingHandler", ChatbotMessage], Any]


class RecordingHandler(ChatbotHandler):  # type: ignore[misc]
    """Keeps every robot message; ``on_message`` (run in a worker thread) may reply."""

    def __init__(self, on_message: OnMessage | None = None) -> None:
        super().__init__()
        self.messages: list[ChatbotMessage] = []
        self.raw: list[dict[str, Any]] = []
        self.on_message = on_message

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, str]:
        msg = ChatbotMessage.from_dict(callback.data)
        self.raw.append(callback.data)
        self.messages.append(msg)
        if self.on_message is not None:
            await asyncio.to_thread(self.on_message, self, msg)
        return AckMessage.STATUS_OK, "OK"


class CardCallbackRecorder(dingtalk_stream.CallbackHandler):  # type: ignore[misc]
    def __init__(self, response: Any = None, before: Callable[[], Awaitable[None]] | None = None) -> None:
        super().__init__()
        self.callbacks: list[dingtalk_stream.CardCallbackMessage] = []
        self.response = response
        self.before = before

    async def process(self, callback: dingtalk_stream.CallbackMessage) -> tuple[int, Any]:
        self.callbacks.append(dingtalk_stream.CardCallbackMessage.from_dict(callback.data))
        if self.before is not None:
            await self.before()
        return AckMessage.STATUS_OK, self.response


class SdkRobot:
    """A ``DingTalkStreamClient`` started on a background thread; ``stop()`` ends it."""

    def __init__(
        self, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET
    ) -> None:
        self.client = dingtalk_stream.DingTalkStreamClient(Credential(client_id, client_secret))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[Any] | None = None

    def on_messages(self, handler: ChatbotHandler) -> SdkRobot:
        self.client.register_callback_handler(ChatbotMessage.TOPIC, handler)
        return self

    def on_card_callbacks(self, handler: dingtalk_stream.CallbackHandler) -> SdkRobot:
        self.client.register_callback_handler(dingtalk_stream.CallbackHandler.TOPIC_CARD_CALLBACK, handler)
        return self

    def start(self) -> SdkRobot:
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._task = loop.create_task(self.client.start())
            started.set()
            try:
                loop.run_until_complete(self._task)
            except (asyncio.CancelledError, Exception):
                pass
            finally:
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                loop.run_until_complete(asyncio.sleep(0))
                loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="sdk-robot")
        self._thread.start()
        started.wait()
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        # The SDK catches one CancelledError and sleeps; keep cancelling until it ends.
        while self._thread.is_alive():
            if self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)
            self._thread.join(timeout=0.2)

    def __enter__(self) -> SdkRobot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
