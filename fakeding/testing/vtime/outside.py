"""Network calls to anything but the fake, during a virtual-time run: named, never free.

While a run lasts, ``socket.connect`` (blocking, and asyncio's through ``VirtualLoop``) notes
every connection whose peer is not a port of the run (the fake's, or a server a participant
started during the run): host, count, real seconds the connection stayed open. A host given a
latency in the scenario (``latency: {"llm.local": 3.0}``, matched against the name the robot
resolved, the address, or ``host:port``) costs that many virtual seconds per connection, spent
before connecting; while the real exchange runs the clock holds still (``waits``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from freezegun import api as _freezegun

from fakeding.testing.vtime.coordinator import Coordinator

_REAL = (_freezegun.real_perf_counter,)  # in a tuple: freezegun rebinds module-level clocks


@dataclass
class OutsideCall:
    host: str
    count: int = 0
    real_seconds: float = 0.0
    virtual_cost: float | None = None  # the latency declared for it, None: none declared


@dataclass
class OutsideIO:
    """What the robot asked of hosts outside the run, and what each costs in virtual time."""

    coordinator: Coordinator
    latency: Mapping[str, float] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # address → the name resolved to it
    calls: dict[str, OutsideCall] = field(default_factory=dict)
    _open: dict[int, tuple[str, float]] = field(default_factory=dict)  # id(sock) → host, start

    def local(self, address: Any) -> bool:
        if not isinstance(address, tuple) or len(address) < 2:
            return True  # unix sockets and the like: not network calls
        return int(address[1]) in self.coordinator.local_ports and _loopback(str(address[0]))

    def host_of(self, address: Any) -> str:
        ip, port = str(address[0]), int(address[1])
        return f"{self.names.get(ip, ip)}:{port}"

    def cost(self, address: Any) -> float | None:
        ip, port = str(address[0]), int(address[1])
        name = self.names.get(ip, ip)
        for key in (f"{name}:{port}", name, f"{ip}:{port}", ip):
            if key in self.latency:
                return float(self.latency[key])
        return None

    def connecting(self, sock: Any, address: Any) -> float:
        """Note a connection about to open; return its virtual cost (0 when none declared)."""
        if self.local(address) or not self.coordinator.in_run():
            return 0.0
        host = self.host_of(address)
        call = self.calls.setdefault(host, OutsideCall(host))
        call.count += 1
        call.virtual_cost = self.cost(address)
        self._open[id(sock)] = (host, _REAL[0]())
        return call.virtual_cost or 0.0

    def closed(self, sock: Any) -> None:
        opened = self._open.pop(id(sock), None)
        if opened is not None:
            self.calls[opened[0]].real_seconds += _REAL[0]() - opened[1]

    def finish(self) -> None:
        for key in list(self._open):
            host, start = self._open.pop(key)
            self.calls[host].real_seconds += _REAL[0]() - start

    def advice_for(self, call: OutsideCall) -> str:
        """What a call to an outside host cost, and what to do about it."""
        if call.virtual_cost is not None:
            return f"{call.virtual_cost:g} virtual s each (latency:)"
        return (
            f'cost 0 virtual s: declare `latency: {{"{call.host}": SECONDS}}` in the '
            f"scenario, or run the robot in real time (`robot: {{command: [...]}}`)"
        )


def _loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip in ("::1", "localhost")


@contextlib.contextmanager
def watching(outside: OutsideIO) -> Iterator[None]:
    """Patch ``socket`` while a run lasts: connections noted, resolved names and listening
    ports of servers started during the run remembered, sends from threads that run no loop
    counted as activity (``Coordinator.touch``)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_close = socket.socket.close
    real_send = socket.socket.send
    real_sendall = socket.socket.sendall
    real_listen = socket.socket.listen
    real_getaddrinfo = socket.getaddrinfo
    clock = outside.coordinator
    # reentrant: the garbage collector may close a forgotten socket (urllib3's pool finaliser)
    # on the thread that holds the lock inside ``before``; a plain Lock deadlocked that thread
    # and, waiting on it, the run (seen once under coverage in CI)
    lock = threading.RLock()

    def before(sock: socket.socket, address: Any) -> None:
        with lock:
            cost = outside.connecting(sock, address)
        if cost > 0 and sock.gettimeout() != 0.0 and clock.running:
            clock.sleep(cost)

    def connect(self: socket.socket, address: Any) -> None:
        before(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        before(self, address)
        return real_connect_ex(self, address)

    def send(self: socket.socket, *args: Any) -> int:
        sent: int = real_send(self, *args)
        clock.touch()
        return sent

    def sendall(self: socket.socket, *args: Any) -> None:
        real_sendall(self, *args)
        clock.touch()

    def close(self: socket.socket) -> None:
        with lock:
            outside.closed(self)
        real_close(self)

    def listen(self: socket.socket, *args: Any) -> None:
        real_listen(self, *args)
        with contextlib.suppress(OSError, IndexError, TypeError):
            if clock.in_run():
                clock.local_ports.add(int(self.getsockname()[1]))

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        found = real_getaddrinfo(host, *args, **kwargs)
        if isinstance(host, str):
            for *_, sockaddr in found:
                ip = str(sockaddr[0])
                if ip != host:
                    outside.names.setdefault(ip, host)
        return found

    patched = {
        "connect": connect,
        "connect_ex": connect_ex,
        "close": close,
        "listen": listen,
        "send": send,
        "sendall": sendall,
    }
    originals = {name: getattr(socket.socket, name) for name in patched}
    for name, fn in patched.items():
        setattr(socket.socket, name, fn)
    setattr(socket, "getaddrinfo", getaddrinfo)  # noqa: B010  (a module function, patched)
    try:
        yield
    finally:
        for name, fn in originals.items():
            setattr(socket.socket, name, fn)
        setattr(socket, "getaddrinfo", real_getaddrinfo)  # noqa: B010
        outside.finish()
