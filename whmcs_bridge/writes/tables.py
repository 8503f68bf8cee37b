"""The ``whmcs_writes`` table (Alembic branch ``writes``): one row per intended WHMCS write.

``key`` is the producer's idempotency key and is UNIQUE: a retried handler inserts nothing the
second time, in the same transaction as its decision. ``outcome_unknown`` is set when an
attempt ended without telling whether WHMCS applied it (a timeout, a reset connection, a 5xx,
a crash while ``sending``); the next attempt of a reply or note first looks for it in the
ticket (GetTicket) instead of posting it again.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from whmcs_bridge.store.base import UTCDateTime, metadata

# Status values (as the notifications outbox's deliveries).
PENDING = "pending"  # waiting for its first attempt
SENDING = "sending"  # claimed by a sender until lease_until
FAILED = "failed"  # an attempt failed; retried at next_attempt_at
SENT = "sent"
DEAD = "dead"  # gave up (max attempts or a permanent WHMCS error); replayable
STATUSES = (PENDING, SENDING, FAILED, SENT, DEAD)

# Actions: what the sender calls.
REPLY = "reply"  # AddTicketReply (not idempotent at WHMCS: looked for before a re-send)
NOTE = "note"  # AddTicketNote (not idempotent: looked for before a re-send)
UPDATE_TICKET = "update_ticket"  # UpdateTicket (idempotent: sets fields)
UPDATE_REPLY = "update_reply"  # UpdateTicketReply (idempotent: replaces a text)
ACTIONS = (REPLY, NOTE, UPDATE_TICKET, UPDATE_REPLY)

# Ranks: lower leaves first. What a customer waits for leaves before escalation bookkeeping.
CUSTOMER = 10
STAFF = 20
ESCALATION = 50

_id = BigInteger().with_variant(Integer, "sqlite")

whmcs_writes = Table(
    "whmcs_writes",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("action", String(20), nullable=False),
    Column("ticket_id", Integer, nullable=False),
    Column("params", JSON, nullable=False),
    Column("rank", Integer, nullable=False, default=STAFF),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("outcome_unknown", Boolean, nullable=False, default=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Index("ix_whmcs_writes_due", "status", "rank", "next_attempt_at"),
    Index("ix_whmcs_writes_sent", "sent_at"),
)
