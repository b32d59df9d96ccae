"""Is a thread that blocks outside the kit's patches idle? Judged from its innermost frame.

A thread the robot made (a thread-pool worker, a thread reading an HTTP reply, one waiting on
an ``Event``) blocks in C code the kit does not patch. The rule: a thread is idle when its
innermost Python frame is one of the known blocking waits below *and* what it waits for is not
ready (the lock still held, the queue still empty, nothing readable on the socket); anything
else is busy, so virtual time cannot pass while it works. A socket read from a host that is not
part of the run (anything but the fake and servers started during the run) is an outside call
in flight: busy, so the clock holds still while it takes real time (see ``outside``).

Known waits: ``Condition.wait`` (``Event``, ``Queue``, futures), ``Thread.join``, a
``ThreadPoolExecutor`` worker waiting for work, socket and TLS reads and ``accept``, a
``selectors`` wait of a loop the kit did not make. A thread blocked anywhere else (a raw
``select.select``, a C extension's own wait) counts as busy: the run's cap then names it.
"""

from __future__ import annotations

import linecache
import os
import select
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

IsOutside = Callable[[socket.socket], bool]


# CPython 3.11's ``sys._current_frames()`` can hand over, for a thread, an object that is no
# frame at all ("'bool' object has no attribute 'f_code'": it ended the virtual clock's driver
# once in CI). Such a thread is moving: the judgements below call it busy, and name it.
_UNREADABLE = AttributeError


def where(frame: FrameType | None) -> str:
    """``file:line in function`` of a frame, for messages naming what is still pending."""
    if frame is None:
        return "?"
    try:
        code = frame.f_code
        return f"{os.path.basename(code.co_filename)}:{frame.f_lineno} in {code.co_name}"
    except _UNREADABLE as exc:
        return f"its frame could not be read: {type(exc).__name__}"


def _readable(sock: Any) -> bool:
    try:
        if hasattr(sock, "pending") and sock.pending() > 0:
            return True
        fd = sock.fileno()
        if fd < 0:
            return True
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True  # closed under us: the read returns at once


def _socket_of(value: Any) -> socket.socket | None:
    if isinstance(value, socket.socket):
        return value
    inner = getattr(value, "_sock", None)
    return inner if isinstance(inner, socket.socket) else None


def _socket_wait_idle(sock: socket.socket, is_outside: IsOutside) -> bool:
    return not is_outside(sock) and not _readable(sock)


def reading(frame: FrameType) -> bool:
    """True when the thread waits for a reply on a socket: a call in flight (for the rule
    that ends a run, it is still work pending, though the clock may move meanwhile)."""
    try:
        return _reading(frame)
    except _UNREADABLE:
        return False


def _reading(frame: FrameType) -> bool:
    code = frame.f_code
    name, base = code.co_name, os.path.basename(code.co_filename)
    if base in ("socket.py", "ssl.py") and name in ("readinto", "recv_into", "read", "recv"):
        return True
    lineno = frame.f_lineno
    if lineno is None:  # a frame another thread is still entering (CPython 3.11): not reading
        return False
    line = linecache.getline(code.co_filename, lineno)
    return (".recv" in line or ".read(" in line) and any(
        _socket_of(v) is not None for v in frame.f_locals.values()
    )


def blocked_idle(frame: FrameType, is_outside: IsOutside) -> bool:
    """True when the thread whose innermost frame is ``frame`` is idle (see module doc)."""
    try:
        return _blocked_idle(frame, is_outside)
    except _UNREADABLE:
        return False  # busy: judged again at the next look


def _blocked_idle(frame: FrameType, is_outside: IsOutside) -> bool:
    code = frame.f_code
    name, base = code.co_name, os.path.basename(code.co_filename)
    # ``f_locals`` only for the frames known to wait below: reading the locals of any other
    # thread's frame (one still starting a call, say ``socket.__init__``) crashed CPython 3.11
    # with a segmentation fault once in a full run
    if base == "threading.py":
        if name == "wait":
            waiter = frame.f_locals.get("waiter")
            return waiter is not None and waiter.locked()
        if name == "_wait_for_tstate_lock":
            lock = frame.f_locals.get("lock")
            return lock is not None and lock.locked()
        return False
    if base == "thread.py" and name == "_worker":
        queue = frame.f_locals.get("work_queue")
        return queue is not None and queue.empty()
    if base == "selectors.py" and name == "select":  # a loop the kit did not make, waiting
        local = frame.f_locals
        selector = local.get("self")
        return not getattr(selector, "fakeding_virtual", False) and local.get("timeout") != 0
    if base in ("socket.py", "ssl.py") and name in ("readinto", "recv_into", "read", "recv", "accept"):
        sock = _socket_of(frame.f_locals.get("self"))
        if sock is None:
            return False
        if name == "accept":
            return not _readable(sock)
        return _socket_wait_idle(sock, is_outside)
    lineno = frame.f_lineno
    if lineno is None:  # a frame another thread is still entering: it runs, so it is busy
        return False
    line = linecache.getline(code.co_filename, lineno)
    if ".recv" in line or ".read(" in line:  # a library reading its own socket (httpx, ...)
        for value in frame.f_locals.values():
            sock = _socket_of(value)
            if sock is not None:
                return _socket_wait_idle(sock, is_outside)
    return False
