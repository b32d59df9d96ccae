"""The virtual-time driver asks the kernel which threads are ready to run, through descriptors
it keeps open; they must say what the kernel says, and be given back."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from fakeding.testing.vtime.kernel import AVAILABLE, ThreadStates

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="no /proc/self/task (Linux only)")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_thread_at_work_is_runnable_and_a_waiting_one_is_not() -> None:
    stop = threading.Event()
    data = b"x" * 4_000_000

    def spin() -> None:  # hashing releases the GIL: this thread works while the test looks
        while not stop.is_set():
            hashlib.sha256(data).digest()

    waiter = threading.Thread(target=stop.wait, daemon=True)
    worker = threading.Thread(target=spin, daemon=True)
    waiter.start()
    worker.start()
    states = ThreadStates()
    try:
        assert waiter.native_id and worker.native_id
        deadline = time.monotonic() + 5  # (just started, the waiter may not be blocked yet)
        while waiter.native_id in states.runnable([waiter.native_id]) and time.monotonic() < deadline:
            time.sleep(0.001)
        seen_worker = seen_waiter = 0
        for _ in range(200):
            ready = states.runnable([waiter.native_id, worker.native_id])
            seen_worker += worker.native_id in ready
            seen_waiter += waiter.native_id in ready
        assert seen_worker > 0, "a spinning thread was never seen ready to run"
        assert seen_waiter == 0, f"a thread blocked on an event was seen ready {seen_waiter} times"
        assert states.open_descriptors == 2, "one descriptor a thread, kept between looks"
    finally:
        stop.set()
        worker.join()
        waiter.join()
        states.close()


def test_descriptors_of_threads_gone_are_given_back() -> None:
    before = open_fds()
    states = ThreadStates()
    go = threading.Event()
    threads = [threading.Thread(target=go.wait, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    natives = [t.native_id for t in threads if t.native_id]
    assert states.runnable(natives) == set()
    assert open_fds() == before + 3
    go.set()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/self/task/{natives[0]}") and time.monotonic() < deadline:
        time.sleep(0.01)
    # an ended thread asked about again is not ready, and its descriptor goes
    assert states.runnable(natives[:1]) == set()
    assert states.open_descriptors == 0, "the ended one dropped, the two not asked about closed"
    assert open_fds() == before
    states.runnable([threading.main_thread().native_id or 0])
    states.close()
    assert open_fds() == before and states.open_descriptors == 0
