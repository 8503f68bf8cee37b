"""A web request waiting for SQLite's write lock leaves the rest of its worker serving.

A real ``serve`` (one gevent web worker) on SQLite. The test itself takes the lock a web write
transaction needs, either SQLite's own (the request then waits in SQLite's busy handler) or the
writers' turnstile file (it waits in ``flock``), sends a staff API write, and checks from the
outside that the request is stuck in that wait. While it is, a gate and ``/healthz`` must be
answered; before the fix both waits ran in C on the gevent hub and froze the whole worker
(webhooks and gates stalled, then gunicorn's WORKER TIMEOUT). Bounded: every request has a
timeout, the lock is released in ``finally``."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import TEST_SECRET, TEST_TOKEN
from tests.receiver.conftest import envelope
from tests.worker.procs import running_serve, wait_for
from whmcs_bridge.signing import signed_headers

pytestmark = pytest.mark.slow


def signed(raw: bytes) -> dict[str, str]:
    return {**signed_headers(TEST_SECRET, f"msg_{uuid.uuid4().hex}", raw),
            "Content-Type": "application/json"}


@contextmanager
def sqlite_lock_held(db: Path, lock_file: Path) -> Iterator[Callable[[], bool]]:
    """Hold SQLite's write lock; yields "is a server writer waiting for it?": the waiting
    writer has passed the turnstile and holds the lock file meanwhile."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    probe = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)

    def writer_waiting() -> bool:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False
    try:
        yield writer_waiting
    finally:
        conn.rollback()
        conn.close()
        os.close(probe)


@contextmanager
def turnstile_held(db: Path, lock_file: Path) -> Iterator[Callable[[], bool]]:
    """Hold the writers' lock file; yields "is a server writer queued behind us?" (the
    kernel lists a blocked ``flock`` waiter in /proc/locks with ``->``)."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    inode = os.fstat(fd).st_ino

    def writer_waiting() -> bool:
        lines = Path("/proc/locks").read_text().splitlines()
        return any("->" in ln and "FLOCK" in ln and ln.split()[6].endswith(f":{inode}")
                   for ln in lines)
    try:
        yield writer_waiting
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class Pending:
    """A request sent from a thread; ``result`` once answered."""

    def __init__(self, send: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(send,), daemon=True)
        self._thread.start()

    def _run(self, send: Callable[[], Any]) -> None:
        try:
            self.result = send()
        except BaseException as exc:  # reported by the test
            self.error = exc

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, timeout: float) -> Any:
        self._thread.join(timeout)
        assert self.done, "the request is still waiting"
        assert self.error is None, repr(self.error)
        return self.result


@pytest.mark.parametrize("blocker", [sqlite_lock_held, turnstile_held],
                         ids=["sqlite-busy-handler", "writer-lock-file"])
def test_a_blocked_writer_leaves_other_requests_served(tmp_path: Path, blocker: Any) -> None:
    db = tmp_path / "bridge.db"
    with running_serve(f"sqlite:///{db}", tmp_path, "--workers", "1", "--no-worker",
                       WHMCS_BRIDGE_API_TOKEN=TEST_TOKEN,
                       WHMCS_BRIDGE_LOG__LEVEL="WARNING") as (base, logs):
        gate_raw = json.dumps({"type": "PreModuleCustom", "timestamp": "2026-11-25T10:00:00Z",
                               "data": {"params": {"serviceid": 7, "userid": 42}}}).encode()
        event_raw = json.dumps(envelope()).encode()
        with blocker(db, Path(f"{db}-ingest.lock")) as writer_waiting:
            # a staff API write: its transaction begins by waiting for the lock we hold
            writer = Pending(lambda: requests.post(
                f"{base}/api/tickets/1/verification", json={"method": "link", "admin": "alice"},
                headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=60).status_code)
            wait_for(writer_waiting, 20, f"the staff write to wait for the lock; {logs.tail()}")
            event = Pending(lambda: requests.post(f"{base}/webhooks/whmcs", data=event_raw,
                                                  headers=signed(event_raw),
                                                  timeout=60).status_code)

            gate = requests.post(f"{base}/gates/PreModuleCustom", data=gate_raw,
                                 headers=signed(gate_raw), timeout=15)
            health = requests.get(f"{base}/healthz", timeout=15)

            assert (gate.status_code, gate.json()) == (200, {"allow": True})
            assert health.status_code == 200
            # answered while the writer was still waiting, not after it gave up
            assert writer_waiting() and not writer.done
        # released: the writer goes on (no such ticket: 404) and the event is stored
        assert writer.wait(30) == 404
        assert event.wait(30) == 202
        assert "WORKER TIMEOUT" not in "".join(logs.raw)
