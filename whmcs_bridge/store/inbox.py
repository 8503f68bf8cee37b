"""The events inbox as a work queue: claim with a lease, settle, list and replay.

A claim moves due events to ``processing`` under a lease in one statement. On PostgreSQL the
candidate rows are picked with ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent workers never
claim the same event; on SQLite the engine opens every write transaction with ``BEGIN
IMMEDIATE``, so the single ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING`` runs alone.

While an event is ``processing``, ``next_attempt_at`` holds its lease expiry (``lease_until``
too, for people reading the table): the claim predicate is then one range over the
``(status, next_attempt_at)`` index, and an event whose worker was killed becomes claimable
again when its lease runs out, with no sweeper process.

Every settle statement is fenced by ``worker_id``: a worker that outlived its lease cannot
overwrite what the worker that re-claimed the event decided. Per-handler exactly-once is not
the inbox's job: the worker records each handler's outcome in the handler's own transaction
(see :mod:`whmcs_bridge.worker`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, delete, func, select, update

from whmcs_bridge.errors import Conflict
from whmcs_bridge.store.base import dialect_insert
from whmcs_bridge.store.tables import (
    DEAD,
    DONE,
    FAILED,
    IGNORED,
    PENDING,
    PROCESSING,
    events,
    handler_outcomes,
)

#: Where a statement runs: an engine (its own pooled connection) or a held connection.
Bind = Engine | Connection
#: Statuses a claim may pick up (``processing`` only once its lease has expired).
CLAIMABLE = (PENDING, FAILED, PROCESSING)
#: Handler outcome statuses.
SUCCEEDED = "succeeded"
HANDLER_FAILED = "failed"
#: Longest ``last_error`` kept (the full traceback goes to the log, not the table).
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class ClaimedEvent:
    """One event leased to a worker. ``attempts`` already counts this attempt."""

    id: str
    type: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int
    source: str | None = None


@dataclass(frozen=True)
class EventRow:
    """An inbox row as ``events list`` shows it."""

    id: str
    type: str
    status: str
    attempts: int
    received_at: datetime
    next_attempt_at: datetime | None
    processed_at: datetime | None
    last_error: str | None
    source: str | None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(vars(self))
        for key in ("received_at", "next_attempt_at", "processed_at"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        return out


@contextmanager
def transaction(bind: Bind) -> Iterator[Connection]:
    """A transaction on an engine (pooled connection) or on a connection the caller holds.

    A worker holds one connection for a whole batch so each handler transaction costs no
    pool checkout (and no pre-ping round trip).
    """
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    else:
        with bind.begin():
            yield bind


class ReplayRefused(Conflict):
    """An event that cannot be replayed (unknown id, in flight, or of an ignored type)."""


def claim(bind: Bind, *, worker_id: str, now: datetime, limit: int,
          lease_seconds: float) -> list[ClaimedEvent]:
    """Lease up to ``limit`` due events to ``worker_id``; oldest due first.

    The attempt is counted here, at claim time, so an event that kills its worker every time
    still reaches ``max_attempts`` and is dead-lettered instead of looping forever.
    """
    lease_until = now + timedelta(seconds=lease_seconds)
    picked = (
        select(events.c.id)
        .where(events.c.status.in_(CLAIMABLE), events.c.next_attempt_at <= now)
        .order_by(events.c.next_attempt_at, events.c.received_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL, nothing on SQLite
    )
    stmt = (
        update(events)
        .where(events.c.id.in_(picked.scalar_subquery()))
        .values(status=PROCESSING, worker_id=worker_id, lease_until=lease_until,
                next_attempt_at=lease_until, attempts=events.c.attempts + 1)
        .returning(events.c.id, events.c.type, events.c.payload, events.c.received_at,
                   events.c.attempts, events.c.source)
    )
    with transaction(bind) as conn:
        rows = conn.execute(stmt).all()
    claimed = [ClaimedEvent(r.id, r.type, r.payload, r.received_at, r.attempts, r.source)
               for r in rows]
    claimed.sort(key=lambda e: (e.received_at, e.id))  # RETURNING order is unspecified
    return claimed


def _mine(ids: Iterable[str], worker_id: str) -> Any:
    return (events.c.id.in_(list(ids)), events.c.worker_id == worker_id,
            events.c.status == PROCESSING)


def extend_lease(bind: Bind, ids: Sequence[str], *, worker_id: str, now: datetime,
                 lease_seconds: float) -> int:
    """Push the lease of events still held by ``worker_id`` forward; returns rows extended."""
    if not ids:
        return 0
    until = now + timedelta(seconds=lease_seconds)
    with transaction(bind) as conn:
        result = conn.execute(update(events).where(*_mine(ids, worker_id))
                              .values(lease_until=until, next_attempt_at=until))
    return result.rowcount


def mark_done(bind: Bind, ids: Sequence[str], *, worker_id: str, now: datetime) -> int:
    """Settle events whose every handler succeeded (one statement for a whole batch)."""
    if not ids:
        return 0
    with transaction(bind) as conn:
        result = conn.execute(
            update(events).where(*_mine(ids, worker_id))
            .values(status=DONE, processed_at=now, next_attempt_at=None, lease_until=None,
                    last_error=None)
        )
    return result.rowcount


def mark_failed(conn: Connection, event_id: str, *, worker_id: str, error: str,
                retry_at: datetime) -> bool:
    """Schedule a retry at ``retry_at``; False when the lease was lost to another worker."""
    result = conn.execute(
        update(events).where(*_mine([event_id], worker_id))
        .values(status=FAILED, next_attempt_at=retry_at, lease_until=None,
                last_error=error[:MAX_ERROR_CHARS])
    )
    return result.rowcount == 1


def mark_dead(conn: Connection, event_id: str, *, worker_id: str, error: str,
              now: datetime) -> bool:
    """Give up on the event (replayable); False when the lease was lost to another worker."""
    result = conn.execute(
        update(events).where(*_mine([event_id], worker_id))
        .values(status=DEAD, next_attempt_at=None, lease_until=None, processed_at=now,
                last_error=error[:MAX_ERROR_CHARS])
    )
    return result.rowcount == 1


def release(bind: Bind, ids: Sequence[str], *, worker_id: str, now: datetime) -> int:
    """Hand back claimed events not started (graceful shutdown): due now, attempt uncounted."""
    if not ids:
        return 0
    with transaction(bind) as conn:
        result = conn.execute(
            update(events).where(*_mine(ids, worker_id))
            .values(status=case((events.c.last_error.is_(None), PENDING), else_=FAILED),
                    attempts=events.c.attempts - 1, next_attempt_at=now, lease_until=None)
        )
    return result.rowcount


def succeeded_handlers(engine: Engine, ids: Sequence[str]) -> dict[str, set[str]]:
    """``event id -> names of handlers already recorded as succeeded`` (never re-run)."""
    out: dict[str, set[str]] = {}
    if not ids:
        return out
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        rows = conn.execute(
            select(handler_outcomes.c.event_id, handler_outcomes.c.handler).where(
                handler_outcomes.c.event_id.in_(list(ids)),
                handler_outcomes.c.status == SUCCEEDED,
            )
        )
        for event_id, handler in rows:
            out.setdefault(event_id, set()).add(handler)
    return out


def list_events(engine: Engine, *, statuses: Sequence[str] = (), types: Sequence[str] = (),
                limit: int = 50) -> list[EventRow]:
    """Newest first, optionally filtered by status and hook name."""
    stmt = select(events.c.id, events.c.type, events.c.status, events.c.attempts,
                  events.c.received_at, events.c.next_attempt_at, events.c.processed_at,
                  events.c.last_error, events.c.source)
    if statuses:
        stmt = stmt.where(events.c.status.in_(list(statuses)))
    if types:
        stmt = stmt.where(events.c.type.in_(list(types)))
    stmt = stmt.order_by(events.c.received_at.desc(), events.c.id.desc()).limit(limit)
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        return [EventRow(*row) for row in conn.execute(stmt)]


def status_counts(engine: Engine) -> dict[str, int]:
    """How many events are in each status (queue depth, dead letters)."""
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        rows = conn.execute(select(events.c.status, func.count()).group_by(events.c.status))
        return {status: count for status, count in rows}


def _reset(conn: Connection, ids: Sequence[str], now: datetime) -> int:
    """Back to pending with a fresh attempt budget; failed outcomes go, succeeded ones stay."""
    conn.execute(delete(handler_outcomes).where(handler_outcomes.c.event_id.in_(list(ids)),
                                                handler_outcomes.c.status != SUCCEEDED))
    result = conn.execute(
        update(events).where(events.c.id.in_(list(ids)))
        .values(status=PENDING, attempts=0, next_attempt_at=now, lease_until=None,
                worker_id=None, last_error=None, processed_at=None)
    )
    return result.rowcount


def replay(engine: Engine, event_id: str, *, now: datetime) -> None:
    """Queue one event again. Handlers that already succeeded on it will not run again."""
    with engine.begin() as conn:
        row = conn.execute(select(events.c.status, events.c.type, events.c.lease_until)
                           .where(events.c.id == event_id)).first()
        if row is None:
            raise ReplayRefused(f"no event with id {event_id!r}")
        if row.status == IGNORED:
            raise ReplayRefused(f"event {event_id} has type {row.type!r}, which the bridge "
                                "does not handle; nothing to replay")
        if row.status == PROCESSING and row.lease_until and row.lease_until > now:
            raise ReplayRefused(f"event {event_id} is being processed (lease until "
                                f"{row.lease_until.isoformat()}); try again later")
        _reset(conn, [event_id], now)


def replay_dead(engine: Engine, *, now: datetime) -> int:
    """Queue every dead-lettered event again; returns how many."""
    with engine.begin() as conn:
        ids = [r[0] for r in conn.execute(select(events.c.id).where(events.c.status == DEAD))]
        total = 0
        for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            total += _reset(conn, ids[start:start + 500], now)
        return total


def _upsert_outcome(conn: Connection, event_id: str, handler: str, *, status: str,
                    error: str | None, now: datetime) -> Any:
    """Insert or update one handler outcome, counting the attempt; a ``succeeded`` row is
    never touched again (the rule that keeps each handler exactly-once)."""
    values = {"status": status, "last_error": error, "finished_at": now}
    return (
        dialect_insert(conn)(handler_outcomes)
        .values(event_id=event_id, handler=handler, attempts=1, **values)
        .on_conflict_do_update(
            index_elements=["event_id", "handler"],
            set_={**values, "attempts": handler_outcomes.c.attempts + 1},
            where=handler_outcomes.c.status != SUCCEEDED,
        )
    )


def claim_outcome(conn: Connection, event_id: str, handler: str, *, now: datetime) -> bool:
    """Record ``handler`` as succeeded on ``event_id`` in the caller's transaction, first.

    Returns False when it already succeeded (the handler must not run). Written *before* the
    handler runs and committed with its effects, so the two are atomic; on PostgreSQL the
    row lock also makes a second worker that re-claimed the event after a lease expiry wait
    for this transaction and then skip the handler instead of running it alongside.
    """
    stmt = _upsert_outcome(conn, event_id, handler, status=SUCCEEDED, error=None, now=now)
    return conn.execute(stmt.returning(handler_outcomes.c.handler)).first() is not None


def record_failure(bind: Bind, event_id: str, handler: str, *, error: str,
                   now: datetime) -> None:
    """Record a failed handler run (its own transaction; the handler's was rolled back)."""
    with transaction(bind) as conn:
        conn.execute(_upsert_outcome(conn, event_id, handler, status=HANDLER_FAILED,
                                     error=error[:MAX_ERROR_CHARS], now=now))
