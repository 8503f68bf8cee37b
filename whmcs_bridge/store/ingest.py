"""The receiver's write path: insert events into the inbox, detect duplicates, group commit.

A durable commit costs one fsync (SQLite WAL with ``synchronous=FULL``) or one WAL flush
(PostgreSQL). Paying it once per request caps ingest at the disk's fsync rate, so
:class:`GroupCommitter` lets one writer thread per process collect the rows that concurrent
request threads hand it and commit them together: while one commit is in flight the next
requests queue up and go out in the following batch, so batches grow with load and latency
stays one or two commits. Every request still waits for *its* commit before answering, so
nothing is acknowledged that is not on disk, and learns whether its id was new or a duplicate.

Duplicates are detected by the database with ``INSERT … ON CONFLICT (id) DO NOTHING`` (on
PostgreSQL with ``RETURNING id``; on SQLite from the row count, see
:func:`_sqlite_one_statement`), so two processes receiving the same ``webhook-id`` at once
still store it once. On SQLite the writers of several gunicorn processes take turns on a lock
file (:class:`WriterLock`) instead of SQLite's sleep-and-retry busy handler.

Under gunicorn's gevent workers (what ``serve`` runs, see :mod:`whmcs_bridge.webhooks.receiver`) the
requests are greenlets of one OS thread: the writer is a greenlet too, and the calls that
block in C (taking the lock file, the insert and its fsync) are sent to the hub's thread pool,
so the other requests of the process keep running meanwhile, and a waiting request is a parked
greenlet instead of a sleeping OS thread (:mod:`whmcs_bridge.store.cooperative`).
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from marshmallow import fields, validate
from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql

from whmcs_bridge.errors import Unavailable
from whmcs_bridge.settings import StrictSchema
from whmcs_bridge.store.cooperative import Mode, Waiter, current_mode
from whmcs_bridge.store.tables import IGNORED, PENDING, events
from whmcs_bridge.store.writer_lock import WriterLock, lock_path_for_url

log = logging.getLogger(__name__)

#: Rows per transaction at most (keeps SQLite's bound-parameter count and the lock time small).
MAX_BATCH = 256
#: A writer thread with nothing to do for this long exits; the next submit starts a new one.
IDLE_EXIT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """``[ingest]``: how the receiver commits events."""

    group_commit: bool
    max_batch: int
    commit_timeout_seconds: float


class IngestSettings(StrictSchema):
    """``[ingest]``: how the receiver commits events (defaults suit every deployment)."""

    config = IngestConfig

    #: Batch concurrent requests into shared commits (one writer thread per process).
    #: ``false`` commits each request on its own: simpler, about half the throughput.
    group_commit = fields.Boolean(load_default=True)
    max_batch = fields.Integer(load_default=MAX_BATCH, validate=validate.Range(min=1, max=1000))
    #: A request waits at most this long for its commit, then answers 503 (WHMCS retries).
    commit_timeout_seconds = fields.Float(load_default=30.0,
                                          validate=validate.Range(min=0.1, max=600))


class StoreUnavailable(Unavailable):
    """The event could not be committed; the receiver answers 503 so WHMCS retries."""

    retry_after = 5

    def public_message(self) -> str:
        return "the event could not be stored; retry"


@dataclass(frozen=True)
class NewEvent:
    """One validated event as the receiver hands it to the store."""

    id: str
    type: str
    payload: dict[str, Any]
    received_at: datetime
    source: str | None = None
    ignored: bool = False
    #: SQLite bound values, prepared by the request thread (see :meth:`GroupCommitter.submit`)
    bound: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)

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


COLUMNS = ("id", "type", "payload", "received_at", "status", "attempts", "next_attempt_at",
           "source")


def sqlite_bound(engine: Engine, event: NewEvent) -> tuple[Any, ...]:
    """One row's values for SQLite, converted by the columns' own SQLAlchemy types (JSON
    text, SQLite datetime strings)."""
    values = event.row()
    return tuple(p(values[name]) if p else values[name]
                 for name, p in zip(COLUMNS, _processors(engine.dialect), strict=True))


@functools.lru_cache(maxsize=8)
def _processors(dialect: Any) -> tuple[Any, ...]:
    return tuple(events.c[name].type.bind_processor(dialect) for name in COLUMNS)


def _sqlite_params(engine: Engine, rows: Sequence[NewEvent]) -> list[Any]:
    """Bound values for a multi-row insert, flattened row after row."""
    flat: list[Any] = []
    for row in rows:
        flat.extend(row.bound if row.bound is not None else sqlite_bound(engine, row))
    return flat


def _insert_sql(n_rows: int) -> str:
    one = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    # only constant column names and "?" placeholders go into the text; values are bound
    return (f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES "  # noqa: S608
            + ", ".join([one] * n_rows) + " ON CONFLICT (id) DO NOTHING")


def _insert_sqlite(conn: Connection, rows: Sequence[NewEvent], params: list[Any]) -> set[str]:
    """Inside a ``BEGIN IMMEDIATE`` transaction (write lock held, so the read cannot go
    stale): read which ids are stored, insert the others; return those."""
    ids = [r.id for r in rows]
    stored = set(conn.execute(select(events.c.id).where(events.c.id.in_(ids))).scalars())
    width = len(COLUMNS)
    keep = [i for i, r in enumerate(rows) if r.id not in stored]
    if not keep:
        return set()
    conn.exec_driver_sql(_insert_sql(len(keep)),
                         tuple(v for i in keep for v in params[i * width:(i + 1) * width]))
    return {rows[i].id for i in keep}


def _sqlite_one_statement(engine: Engine, rows: Sequence[NewEvent],
                          params: list[Any]) -> set[str]:
    """The SQLite fast path: the whole batch as ONE autocommit statement; the new ids.

    A multi-row ``INSERT … ON CONFLICT DO NOTHING`` outside ``BEGIN``/``COMMIT`` is its own
    atomic, durable transaction (one fsync), and it is one call into SQLite. That matters:
    every call hands Python's GIL back, and while request threads keep the interpreter busy
    the writer waits to get it again each time, *holding the database's write lock*;
    ``BEGIN IMMEDIATE`` + insert + ``COMMIT`` measured several times slower per batch under
    load. When the row count says some ids were already stored (a WHMCS retry: rare), the
    others are committed and are told apart by their ``received_at``, stamped per request to
    the microsecond.
    """
    raw = engine.raw_connection()  # autocommit: the engine sets isolation_level=None
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(_insert_sql(len(rows)), params)
            count = cursor.rowcount
        finally:
            cursor.close()
    finally:
        raw.close()
    if count == len(rows):
        return {r.id for r in rows}
    ours = {r.id: r.received_at for r in rows}
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_readonly=True)
        stored = conn.execute(select(events.c.id, events.c.received_at)
                              .where(events.c.id.in_(list(ours)))).all()
    return {msg_id for msg_id, at in stored if at == ours[msg_id]}


def _insert_postgres(conn: Connection, rows: Sequence[NewEvent]) -> set[str]:
    """``INSERT … ON CONFLICT (id) DO NOTHING RETURNING id``: the ids that went in."""
    stmt = (postgresql.insert(events).on_conflict_do_nothing(index_elements=["id"])
            .returning(events.c.id))
    return set(conn.execute(stmt, [r.row() for r in rows]).scalars())


def _insert_new(engine: Engine, conn: Connection, rows: Sequence[NewEvent]) -> set[str]:
    """Insert in the caller's transaction; the ids that went in."""
    if engine.dialect.name == "postgresql":
        return _insert_postgres(conn, rows) if rows else set()
    if engine.dialect.name != "sqlite":  # pragma: no cover - only the two supported stores
        raise RuntimeError(f"unsupported database {engine.dialect.name!r}")
    return _insert_sqlite(conn, rows, _sqlite_params(engine, rows))


def store_batch(engine: Engine, batch: Sequence[NewEvent]) -> list[bool | Exception]:
    """Commit ``batch`` in one transaction; per row: True new, False duplicate, or the error.

    On SQLite the transaction is a single statement (:func:`_sqlite_one_statement`); on
    PostgreSQL ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` and a commit.

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
        if engine.dialect.name == "sqlite":
            inserted = _sqlite_one_statement(engine, unique, _sqlite_params(engine, unique))
        else:
            with engine.begin() as conn:
                inserted = _insert_new(engine, conn, unique)
        outcome: dict[str, bool | Exception] = {ev.id: ev.id in inserted for ev in unique}
    except Exception as exc:
        outcome = _row_by_row(engine, unique, exc)
    results: list[bool | Exception] = []
    for i, ev in enumerate(batch):
        value = outcome[ev.id]
        results.append(value if i == first[ev.id] or isinstance(value, Exception) else False)
    return results


def _row_by_row(engine: Engine, rows: Sequence[NewEvent],
                exc: Exception) -> dict[str, bool | Exception]:
    """After a failed batch: each row in its own savepoint, one commit for those that work.

    Also a second chance for a batch of one after a transient error (a lock timeout): this
    path takes the write lock first (``BEGIN IMMEDIATE``)."""
    log.warning("batch insert of %d events failed (%s); retrying row by row",
                len(rows), type(exc).__name__)
    outcome: dict[str, bool | Exception] = {}
    with engine.begin() as conn:
        for ev in rows:
            try:
                with conn.begin_nested():
                    outcome[ev.id] = bool(_insert_new(engine, conn, [ev]))
            except Exception as row_exc:
                outcome[ev.id] = row_exc
    return outcome


def store_one(engine: Engine, event: NewEvent) -> bool:
    """Commit one event by itself; True if new, False if the id was already stored."""
    result = store_batch(engine, [event])[0]
    if isinstance(result, Exception):
        raise StoreUnavailable(f"could not store event: {type(result).__name__}") from result
    return result


class GroupCommitter:
    """Batches concurrent :meth:`submit` calls of one process into shared transactions.

    The writer thread is started on first use and exits after :data:`IDLE_EXIT_SECONDS`
    without work, so a forked child starts its own and tests are left with none. Under gevent
    create it after gevent has patched (its queue and lock must be gevent's): the receiver
    builds it with the app, in each gunicorn worker. ``commits`` and ``rows`` count what was
    done, for tests and the benchmark.
    """

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH,
                 idle_exit: float = IDLE_EXIT_SECONDS, mode: Mode | None = None) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.idle_exit = idle_exit
        self.commits = 0
        self.rows = 0
        self._queue: queue.SimpleQueue[tuple[NewEvent, Waiter]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._writer_lock = WriterLock(lock_path_for_url(engine.url))
        self._sqlite = engine.dialect.name == "sqlite"
        #: threads or gevent: chosen on first use, in the serving process (gevent patches
        #: after gunicorn forks), unless given
        self._mode = mode

    def submit(self, event: NewEvent, timeout: float | None = 60.0) -> bool:
        """Queue ``event`` and wait for its commit: True new, False duplicate.

        Raises :class:`StoreUnavailable` when the batch could not be committed (or the wait
        timed out: the request must not be acknowledged).
        """
        if self._sqlite and event.bound is None:
            # converting to SQL values here keeps that work out of the writer, which holds
            # the database's write lock while it runs
            try:
                event = replace(event, bound=sqlite_bound(self.engine, event))
            except Exception as exc:
                raise StoreUnavailable(f"could not store event: {type(exc).__name__}") from exc
        if self._mode is None:
            self._mode = current_mode()
        waiter = self._mode.waiter()
        self._queue.put((event, waiter))
        self._ensure_thread()
        if not waiter.wait(timeout):
            raise StoreUnavailable("could not store event: TimeoutError")
        if waiter.error is not None:
            raise waiter.error
        return waiter.result

    def _ensure_thread(self) -> None:
        with self._lock:
            if os.getpid() != self._pid:  # forked: the parent's thread does not exist here
                self._pid, self._thread = os.getpid(), None
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ingest-writer",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        assert self._mode is not None  # set by submit(), which starts this thread
        call = self._mode.call
        while True:
            try:
                first = self._queue.get(timeout=self.idle_exit)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():  # nothing slipped in between: safe to stop
                        self._thread = None
                        return
                continue
            batch = self._drain([first])
            try:
                outcome: list[bool | Exception] | Exception = call(self._store_locked, batch)
            except Exception as exc:  # the commit or the runner failed: answer every request
                log.error("group commit of %d events failed: %s", len(batch),
                          type(exc).__name__)
                outcome = exc
            self._answer(batch, outcome)

    def _drain(self, batch: list[tuple[NewEvent, Waiter]]) -> list[tuple[NewEvent, Waiter]]:
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store_locked(self, batch: list[tuple[NewEvent, Waiter]]) -> list[bool | Exception]:
        """Commit the batch holding the writer lock; per row the outcome. One blocking call,
        so under gevent one trip to the thread pool, and the lock is held for the database
        work alone (the batch is collected before: what arrives meanwhile goes in the next)."""
        with self._writer_lock.held():
            return store_batch(self.engine, [ev for ev, _ in batch])

    def _answer(self, batch: list[tuple[NewEvent, Waiter]],
                outcome: list[bool | Exception] | Exception) -> None:
        if isinstance(outcome, Exception):
            for _, waiter in batch:
                waiter.set(error=StoreUnavailable(f"commit failed: {type(outcome).__name__}"))
            return
        self.commits += 1
        self.rows += len(batch)
        for (_, waiter), result in zip(batch, outcome, strict=True):
            if isinstance(result, Exception):
                waiter.set(error=StoreUnavailable(
                    f"could not store event: {type(result).__name__}"))
            else:
                waiter.set(result)
