"""The socket watcher of a virtual-time run must survive a socket closed inside its own
bookkeeping: the garbage collector runs finalisers (urllib3 closing a forgotten pool's
connections) on whatever thread allocates, including one that is noting a connection. With a
plain lock that thread waited for itself and the whole run hung (seen once in CI, under
coverage)."""

from __future__ import annotations

import socket
import threading

import pytest

from fakeding.testing.vtime.coordinator import Coordinator
from fakeding.testing.vtime.outside import OutsideIO, watching


def test_a_socket_closed_while_a_connection_is_noted_does_not_deadlock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    outside = OutsideIO(Coordinator())
    forgotten = socket.socket()
    real_connecting = OutsideIO.connecting

    def connecting_with_a_finaliser(self: OutsideIO, sock: object, address: object) -> float:
        forgotten.close()  # what a finaliser run by the collector at this moment does
        return real_connecting(self, sock, address)

    monkeypatch.setattr(OutsideIO, "connecting", connecting_with_a_finaliser)
    done = threading.Event()

    def connect() -> None:
        with socket.socket() as client:
            client.connect(("127.0.0.1", port))
        done.set()

    with watching(outside):
        thread = threading.Thread(target=connect, daemon=True)
        thread.start()
        finished = done.wait(10)
    server.close()
    assert finished, "the thread noting a connection waited forever for its own lock"


def test_a_frame_without_a_line_yet_counts_as_busy_not_as_an_error() -> None:
    """``sys._current_frames()`` can hand over a frame another thread is still entering, whose
    ``f_lineno`` is None (CPython 3.11): judging it raised a TypeError from ``linecache``
    inside a run's settle (seen once in CI). Such a thread is running: busy, not reading."""
    from types import SimpleNamespace

    from fakeding.testing.vtime import waits

    entering = SimpleNamespace(
        f_code=SimpleNamespace(co_name="urlopen", co_filename="/usr/lib/python3.11/urllib/request.py"),
        f_lineno=None,
        f_locals={},
    )
    assert waits.reading(entering) is False  # type: ignore[arg-type]
    assert waits.blocked_idle(entering, lambda sock: False) is False  # type: ignore[arg-type]
