"""The receiver's write path: insert events into the inbox, detect duplicates, group commit.

A durable commit costs one fsync (SQLite WAL with ``synchronous=FULL``) or one WAL flush
(PostgreSQL). Paying it once per request caps ingest at the disk's fsync rate, so
:class:`GroupCommitter` lets one writer thread per process collect the rows that concurrent
request threads hand it and commit them together: while one commit is in flight the next
requests queue up and go out in the following batch, so batches grow with load and latency
stays one or two commits. Every request still waits for *its* commit before answering, so
nothing is acknowledged that is not on disk, and learns whether its id was new or a duplicate.

Duplicates are detected by the database (``INSERT … ON CONFLICT (id) DO NOTHING RETURNING id``
on SQLite ≥ 3.35 and PostgreSQL), so two processes receiving the same ``webhook-id`` at once
still store it once.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import fields, validate
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from whmcs_bridge.settings import StrictSchema
from whmcs_bridge.store.tables import IGNORED, PENDING, events

log = logging.getLogger(__name__)

#: Rows per transaction at most (keeps SQLite's bound-parameter count and the lock time small).
MAX_BATCH = 256
#: A writer thread with nothing to do for this long exits; the next submit starts a new one.
IDLE_EXIT_SECONDS = 5.0


class IngestSettings(StrictSchema):
    """``[ingest]``: how the receiver commits events (defaults suit every deployment)."""

    #: Batch concurrent requests into shared commits (one writer thread per process).
    #: ``false`` commits each request on its own: simpler, about half the throughput.
    group_commit = fields.Boolean(load_default=True)
    max_batch = fields.Integer(load_default=MAX_BATCH, validate=validate.Range(min=1, max=1000))
    #: A request waits at most this long for its commit, then answers 503 (WHMCS retries).
    commit_timeout_seconds = fields.Float(load_default=30.0,
                                          validate=validate.Range(min=0.1, max=600))


class StoreUnavailable(Exception):
    """The event could not be committed; the receiver answers 503 so WHMCS retries."""


@dataclass(frozen=True)
class NewEvent:
    """One validated event as the receiver hands it to the store."""

    id: str
    type: str
    payload: dict[str, Any]
    received_at: datetime
    source: str | None = None
    ignored: bool = False

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "payload": self.payload,
            "received_at": self.received_at,
            "status": IGNORED if self.ignored else PENDING,
            "attempts": 0,
            "next_attempt_at": None if self.ignored else self.received_at,
            "source": self.source,
        }


def _insert_new(conn: Connection, rows: Sequence[NewEvent]) -> set[str]:
    """Insert rows whose id is not stored yet; return the ids actually inserted."""
    if not rows:
        return set()
    name = conn.dialect.name
    if name == "postgresql":
        stmt: Any = postgresql.insert(events).on_conflict_do_nothing(index_elements=["id"])
    elif name == "sqlite":
        stmt = sqlite.insert(events).on_conflict_do_nothing(index_elements=["id"])
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
        raise RuntimeError(f"unsupported database {name!r}")
    result = conn.execute(stmt.returning(events.c.id), [r.row() for r in rows])
    return {row[0] for row in result}


def store_batch(engine: Engine, batch: Sequence[NewEvent]) -> list[bool | Exception]:
    """Commit ``batch`` in one transaction; per row: True new, False duplicate, or the error.

    Several rows with the same id in one batch: the first decides, the rest are duplicates.
    If the one-statement insert fails (one bad row), each row is retried in its own savepoint
    inside one transaction, so a bad row fails alone. If the commit itself fails, the
    exception propagates: no row of the batch may be acknowledged.
    """
    first: dict[str, int] = {}
    unique: list[NewEvent] = []
    for i, ev in enumerate(batch):
        if ev.id not in first:
            first[ev.id] = i
            unique.append(ev)
    try:
        with engine.begin() as conn:
            inserted = _insert_new(conn, unique)
        outcome: dict[str, bool | Exception] = {ev.id: ev.id in inserted for ev in unique}
    except Exception as exc:
        if len(unique) == 1:
            outcome = {unique[0].id: exc}
        else:
            log.warning("batch insert of %d events failed (%s); retrying row by row",
                        len(unique), type(exc).__name__)
            outcome = {}
            with engine.begin() as conn:
                for ev in unique:
                    try:
                        with conn.begin_nested():
                            outcome[ev.id] = bool(_insert_new(conn, [ev]))
                    except Exception as row_exc:
                        outcome[ev.id] = row_exc
    results: list[bool | Exception] = []
    for i, ev in enumerate(batch):
        value = outcome[ev.id]
        results.append(value if i == first[ev.id] or isinstance(value, Exception) else False)
    return results


def store_one(engine: Engine, event: NewEvent) -> bool:
    """Commit one event by itself; True if new, False if the id was already stored."""
    result = store_batch(engine, [event])[0]
    if isinstance(result, Exception):
        raise StoreUnavailable(f"could not store event: {type(result).__name__}") from result
    return result


class GroupCommitter:
    """Batches concurrent :meth:`submit` calls of one process into shared transactions.

    The writer thread is started on first use and exits after :data:`IDLE_EXIT_SECONDS`
    without work, so the object is safe to create before gunicorn forks (a forked child
    starts its own thread) and leaves no thread behind in tests. ``commits`` and ``rows``
    count what was done, for tests and the benchmark.
    """

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH,
                 idle_exit: float = IDLE_EXIT_SECONDS) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.idle_exit = idle_exit
        self.commits = 0
        self.rows = 0
        self._queue: queue.SimpleQueue[tuple[NewEvent, Future[bool]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, event: NewEvent, timeout: float | None = 60.0) -> bool:
        """Queue ``event`` and wait for its commit: True new, False duplicate.

        Raises :class:`StoreUnavailable` when the batch could not be committed (or the wait
        timed out: the request must not be acknowledged).
        """
        future: Future[bool] = Future()
        self._queue.put((event, future))
        self._ensure_thread()
        try:
            return future.result(timeout=timeout)
        except StoreUnavailable:
            raise
        except Exception as exc:  # TimeoutError or anything the batch raised
            raise StoreUnavailable(f"could not store event: {type(exc).__name__}") from exc

    def _ensure_thread(self) -> None:
        with self._lock:
            if os.getpid() != self._pid:  # forked: the parent's thread does not exist here
                self._pid, self._thread = os.getpid(), None
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ingest-writer",
                                                daemon=True)
                self._thread.start()

    def _take_batch(self) -> list[tuple[NewEvent, Future[bool]]] | None:
        try:
            batch = [self._queue.get(timeout=self.idle_exit)]
        except queue.Empty:
            return None
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                with self._lock:
                    if self._queue.empty():  # nothing slipped in between: safe to stop
                        self._thread = None
                        return
                continue
            self._commit(batch)

    def _commit(self, batch: list[tuple[NewEvent, Future[bool]]]) -> None:
        try:
            results = store_batch(self.engine, [ev for ev, _ in batch])
        except Exception as exc:
            log.error("group commit of %d events failed: %s", len(batch), type(exc).__name__)
            for _, future in batch:
                future.set_exception(StoreUnavailable(f"commit failed: {type(exc).__name__}"))
            return
        self.commits += 1
        self.rows += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                future.set_exception(
                    StoreUnavailable(f"could not store event: {type(result).__name__}"))
            else:
                future.set_result(result)
