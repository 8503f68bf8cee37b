"""Outbox tables: one row per notification, one row per delivery of it.

``notify_notifications`` holds what happened (kind + JSON payload) under the producer's
``dedupe_key``, which is UNIQUE: a retried handler inserts nothing the second time, in the same
transaction as its decision. ``notify_deliveries`` holds one row per (channel, recipient) the
routes resolved at enqueue time; the delivery loop works on these. Customer deliveries keep the
recipient as ``client:<id>`` and resolve the address on file at delivery time, so a link is
never sent to an address taken from an event payload.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from whmcs_bridge.store.base import UTCDateTime, metadata

# Delivery status values.
PENDING = "pending"  # waiting for its first attempt (or held for a digest / rate limit)
SENDING = "sending"  # claimed by a worker until lease_until
FAILED = "failed"  # an attempt failed; retried at next_attempt_at
SENT = "sent"
DEAD = "dead"  # gave up (max attempts or a permanent error); replayable
STATUSES = (PENDING, SENDING, FAILED, SENT, DEAD)

_id = BigInteger().with_variant(Integer, "sqlite")

notifications = Table(
    "notify_notifications",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("notification", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("dedupe_key", String(255), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

deliveries = Table(
    "notify_deliveries",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("notification_id", _id, ForeignKey("notify_notifications.id", ondelete="CASCADE"),
           nullable=False),
    Column("notification", String(64), nullable=False),  # copied: digests group on it
    Column("channel", String(32), nullable=False),
    Column("recipient", String(255), nullable=False),  # e-mail, client:<id>, or the channel
    Column("language", String(8), nullable=True),  # None: resolved at delivery (customers)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("digest_id", _id, nullable=True),  # the delivery that carried this one's digest
    Index("ix_notify_deliveries_due", "status", "next_attempt_at"),
    Index("ix_notify_deliveries_group", "channel", "recipient", "notification", "sent_at"),
    Index("ix_notify_deliveries_notification", "notification_id"),
)
