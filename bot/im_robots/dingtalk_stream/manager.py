"""``ClientManager``: run an async robot on a background thread with its own event loop.

``start`` warns instead of starting a second client; ``stop`` asks the robot to close, then
cancels what is left, and returns within its timeout (default 5 s) in every case.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("bot.manager")


class ClientManager:
    def __init__(
        self,
        run: Callable[[], Coroutine[Any, Any, None]],
        close: Callable[[], Coroutine[Any, Any, None]],
        *,
        name: str = "robot",
    ) -> None:
        self._run = run
        self._close = close
        self.name = name
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[Any] | None = None
        self.error: BaseException | None = None

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.is_running:
            log.warning("%s is already running; not starting a second client", self.name)
            return
        ready = threading.Event()
        self.error = None

        def target() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._main = loop.create_task(self._run())
            ready.set()
            try:
                loop.run_until_complete(self._main)
            except asyncio.CancelledError:
                pass
            except BaseException as exc:
                self.error = exc
                log.error("%s stopped with an error: %s", self.name, exc)
            finally:
                try:
                    loop.run_until_complete(asyncio.wait_for(self._close(), 4.0))
                except BaseException as exc:  # closing must never hang the thread
                    log.warning("%s did not close cleanly: %s", self.name, exc)
                loop.close()

        self._thread = threading.Thread(target=target, name=self.name, daemon=True)
        self._thread.start()
        ready.wait()

    def stop(self, timeout: float = 5.0) -> None:
        thread, loop, main = self._thread, self._loop, self._main
        if thread is None or loop is None or main is None or not thread.is_alive():
            return
        with contextlib.suppress(RuntimeError):  # the loop may have finished already
            loop.call_soon_threadsafe(main.cancel)
        thread.join(timeout)
        if thread.is_alive():
            log.warning("%s did not stop within %.1f s; leaving its daemon thread", self.name, timeout)
