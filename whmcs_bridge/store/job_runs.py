"""Cluster-wide leases for periodic jobs: each job runs at most once at a time, on any worker.

A job may start when it is due (``last_started_at`` at least ``every`` ago) and no other worker
holds its lease. Starting is one conditional ``UPDATE`` of the job's row: on PostgreSQL a
concurrent starter blocks on the row lock and then re-checks the condition against the new row
(READ COMMITTED), on SQLite the write transaction runs alone; either way one starter wins. A
worker killed mid-job leaves the lease to expire. ``finish`` is fenced by the start time so a
run that outlived its lease cannot clear the lease of the run that took over.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, update

from whmcs_bridge.store.base import dialect_insert
from whmcs_bridge.store.inbox import MAX_ERROR_CHARS
from whmcs_bridge.store.tables import job_runs


def try_start(engine: Engine, name: str, *, now: datetime, every_seconds: float,
              lease_seconds: float) -> datetime | None:
    """Take the job's lease if it is due and free; returns the start time (the fence) or None."""
    c = job_runs.c
    with engine.begin() as conn:
        conn.execute(dialect_insert(conn)(job_runs).values(name=name)
                     .on_conflict_do_nothing(index_elements=["name"]))
        row = conn.execute(
            update(job_runs)
            .where(c.name == name,
                   or_(c.lease_until.is_(None), c.lease_until <= now),
                   or_(c.last_started_at.is_(None),
                       c.last_started_at <= now - timedelta(seconds=every_seconds)))
            .values(last_started_at=now, lease_until=now + timedelta(seconds=lease_seconds))
            .returning(c.name)
        ).first()
    return now if row is not None else None


def finish(engine: Engine, name: str, *, started_at: datetime, now: datetime,
           error: str | None) -> bool:
    """Release the lease of the run that started at ``started_at``; False if it was lost."""
    c = job_runs.c
    with engine.begin() as conn:
        result = conn.execute(
            update(job_runs).where(c.name == name, c.last_started_at == started_at)
            .values(last_finished_at=now, lease_until=None,
                    last_error=error[:MAX_ERROR_CHARS] if error else None)
        )
    return result.rowcount == 1
