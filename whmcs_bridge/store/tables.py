"""Core tables: the events inbox, per-handler outcomes, the audit trail and scheduled jobs.

Other rooms declare their own tables on the same metadata in their own modules.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from whmcs_bridge.store.base import UTCDateTime, metadata

# Event status values.
PENDING = "pending"
PROCESSING = "processing"
DONE = "done"
FAILED = "failed"  # will be retried
DEAD = "dead"  # gave up after max attempts; replayable
IGNORED = "ignored"  # unknown hook type; stored, never processed

events = Table(
    "events",
    metadata,
    Column("id", String(255), primary_key=True),  # the webhook-id
    Column("type", String(100), nullable=False),
    Column("payload", JSON, nullable=False),  # the whole envelope as received (parsed)
    Column("received_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("worker_id", String(100), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("source", String(100), nullable=True),  # e.g. whmcs addon version / simulator
    Index("ix_events_status_next", "status", "next_attempt_at"),
    Index("ix_events_received", "received_at"),
)

handler_outcomes = Table(
    "handler_outcomes",
    metadata,
    Column("event_id", String(255), nullable=False),
    Column("handler", String(200), nullable=False),
    Column("status", String(20), nullable=False),  # succeeded | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("event_id", "handler"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("event_id", String(255), nullable=True),
    Column("type", String(100), nullable=False),
    Column("ticket_id", Integer, nullable=True),
    Column("client_id", Integer, nullable=True),
    Column("summary", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_audit_ticket", "ticket_id"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(100), primary_key=True),  # periodic job name
    Column("last_started_at", UTCDateTime, nullable=True),
    Column("last_finished_at", UTCDateTime, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
)
