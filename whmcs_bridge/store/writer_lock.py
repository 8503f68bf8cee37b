"""Fair turns at SQLite's single write lock, for every process and thread of the bridge.

SQLite lets one writer in at a time; a writer that finds the database locked *sleeps and
polls* (1, 2, 5, 10 … up to 100 ms), and gets in only if the lock happens to be free when it
looks. Against a writer that commits back to back, such as the worker running one handler
transaction after another, it can lose for seconds: measured with ``serve`` on SQLite, of
2,000 webhooks sent one after another while the worker drained them, eleven waited 0.2-2.8 s
(and the PHP module's forwards, p50 1.3 ms, had a max of 1.3-1.7 s).

So writers queue in the kernel on an ``flock`` of one lock file beside the database, which
wakes the next waiter the moment it is released:

- the receiver's group commit holds the lock for its whole (short) batch insert
  (:class:`WriterLock`);
- every other write transaction on the engine (worker, jobs, CLI, staff API) holds it only
  until ``BEGIN IMMEDIATE`` has taken SQLite's own lock (:class:`Turnstile`). Once the
  receiver is queued, the worker's next transaction waits behind it, so the receiver waits
  for one transaction at most, not a whole backlog.

PostgreSQL needs none of this (row locks, and its waits are queued).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator

from sqlalchemy.engine import URL, make_url

log = logging.getLogger(__name__)

#: The lock files this thread holds through :class:`WriterLock` (the turnstile then stands
#: aside: flock on a second descriptor of the same file would wait for itself).
_held = threading.local()


def lock_path_for_url(url: str | URL) -> str | None:
    """The lock file of a SQLite database file; None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{os.path.expanduser(database)}-ingest.lock"


def _holding() -> set[str]:
    paths: set[str] | None = getattr(_held, "paths", None)
    if paths is None:
        paths = _held.paths = set()
    return paths


class _LockFile:
    """An open descriptor of the lock file, reopened after a fork (an ``flock`` belongs to the
    open file, which fork shares)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def lock(self) -> bool:
        try:
            if self._fd is None or self._pid != os.getpid():
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError as exc:
            # a read-only folder: SQLite's own locking still keeps the data right, only
            # without the fair turns
            log.warning("SQLite writer lock %s unavailable (%s)", self.path, exc)
            return False
        return True

    def unlock(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)


class WriterLock:
    """Held around a whole write (the receiver's batch insert). One per group committer, so
    one descriptor per process: a single writer thread uses it."""

    def __init__(self, path: str | None) -> None:
        self._file = _LockFile(path) if path else None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if self._file is None:  # PostgreSQL, in-memory SQLite
            yield
            return
        locked = self._file.lock()
        holding = _holding()
        holding.add(self._file.path)
        try:
            yield
        finally:
            holding.discard(self._file.path)
            if locked:
                self._file.unlock()


class Turnstile:
    """Passed through on the way into a write transaction: wait for the turn, take SQLite's
    lock, let the next one queue.

    Each passage borrows a descriptor of its own from a free list (an ``flock`` does not
    exclude a second user of the *same* descriptor, so threads of one process queue too), and
    gives it back: one per thread would leak a descriptor for every request greenlet under
    gevent, where thread-locals are per greenlet.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._free: list[_LockFile] = []  # list.pop/append are atomic: no lock needed

    @contextlib.contextmanager
    def passing(self) -> Iterator[None]:
        if self.path in _holding():  # inside the receiver's WriterLock: already our turn
            yield
            return
        try:
            lock_file = self._free.pop()
        except IndexError:
            lock_file = _LockFile(self.path)
        locked = lock_file.lock()
        try:
            yield
        finally:
            if locked:
                lock_file.unlock()
            self._free.append(lock_file)
