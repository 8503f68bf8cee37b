"""Tables of the tickets room (Alembic branch ``tickets``).

``tickets`` is one row per WHMCS ticket (WHMCS's database id is the key); ``ticket_messages``
the replies and notes that matter to the SLA (kind only, never the text); ``ticket_history``
priority/status/department changes with who made them; ``ticket_pauses`` clock pauses by
reason; ``ticket_escalations`` what the bridge did (once per cycle, enforced by a unique key);
``bridge_replies`` what the bridge itself posted (so its replies never meet an SLA);
``piped_mail`` recently piped e-mails (channel detection); ``sync_state`` named rows: the
resumable sync checkpoint (``tickets``) and the go-live time (``go_live``); ``sla_schedule``
the policy the next-transition times were computed under.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
    UniqueConstraint,
)

from whmcs_bridge.store.base import UTCDateTime, metadata

_ID = BigInteger().with_variant(Integer, "sqlite")
#: ``tickets.sla_next_at`` of a ticket whose SLA inputs changed since it was last evaluated
SLA_DIRTY = datetime(1970, 1, 1, tzinfo=UTC)

tickets = Table(
    "tickets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tid", String(64), nullable=False, default=""),
    Column("subject", Text, nullable=False, default=""),
    Column("priority", String(20), nullable=False, default="Medium"),
    Column("opened_priority", String(20), nullable=True),
    Column("status", String(64), nullable=False, default="Open"),
    Column("department_id", Integer, nullable=True),
    Column("client_id", Integer, nullable=True),
    Column("channel", String(20), nullable=True),
    Column("opened_by_admin", Boolean, nullable=False, default=False),
    Column("requestor_type", String(50), nullable=True),
    Column("piped", Boolean, nullable=False, default=False),
    Column("logged_call", Boolean, nullable=False, default=False),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("last_reply_at", UTCDateTime, nullable=True),
    Column("flag_admin_id", Integer, nullable=True),
    Column("contact_preference", String(50), nullable=True),
    Column("language", String(30), nullable=True),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # sync bookkeeping: what the last GetTicket saw; pending = the listing saw something newer
    Column("fetched_signature", String(200), nullable=True),
    Column("sync_pending", Boolean, nullable=False, default=False),
    Column("synced_at", UTCDateTime, nullable=True),
    # cached evaluation (for listings and the sweep's cheap pre-filter)
    Column("sla_state", String(20), nullable=True),
    Column("sla_due_at", UTCDateTime, nullable=True),
    # the earliest instant the cached evaluation can change with no event (at-risk time, due
    # time, a recorded item not yet reached); NULL: never without an event. The sweep reads
    # only rows whose time has come (ix_tickets_sla_next_at). A write that changes the SLA's
    # inputs sets it to SLA_DIRTY (the epoch: "due at once"), so a row inserted with no value
    # is due too (the default).
    Column("sla_next_at", UTCDateTime, nullable=True, default=SLA_DIRTY),
    Index("ix_tickets_status", "status"),
    Index("ix_tickets_pending", "sync_pending"),
    Index("ix_tickets_sla_next_at", "sla_next_at"),
)

#: the policy the stored ``sla_next_at`` times were computed under (one row, name "sweep"):
#: when the ``[sla]``/``[escalation]`` settings change, every open ticket is due again.
sla_schedule = Table(
    "sla_schedule", metadata,
    Column("name", String(40), primary_key=True),
    Column("policy_digest", String(64), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

ticket_messages = Table(
    "ticket_messages", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False),
    Column("source_key", String(80), nullable=False),  # open | reply:<id> | note:<id> | …
    Column("kind", String(20), nullable=False),  # customer|staff|note|bridge|auto
    Column("at", UTCDateTime, nullable=False),
    Column("author", String(200), nullable=True),
    UniqueConstraint("ticket_id", "source_key", name="uq_ticket_messages_key"),
)

ticket_history = Table(
    "ticket_history", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(20), nullable=False),  # priority | status | department
    Column("old_value", String(100), nullable=True),
    Column("value", String(100), nullable=True),
    Column("actor", String(20), nullable=False),  # bridge | whmcs
    Column("source", String(20), nullable=False),  # event | sync | bridge
    Index("ix_ticket_history_ticket", "ticket_id", "at"),
)

ticket_pauses = Table(
    "ticket_pauses", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Index("ix_ticket_pauses_ticket", "ticket_id"),
)

ticket_escalations = Table(
    "ticket_escalations", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False),
    Column("cycle_key", String(60), nullable=False),
    Column("trigger", String(20), nullable=False),  # at_risk | breached | external
    Column("action", String(40), nullable=False),
    Column("outcome", String(20), nullable=False),  # done | skipped | failed | observed
    Column("detail", Text, nullable=True),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("ticket_id", "cycle_key", "trigger", "action",
                     name="uq_ticket_escalations_once"),
)

bridge_replies = Table(
    "bridge_replies", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False),
    Column("kind", String(10), nullable=False),  # reply | note
    Column("dedupe_key", String(200), nullable=True, unique=True),
    Column("message_hash", String(64), nullable=False),
    Column("posted_at", UTCDateTime, nullable=False),
    Index("ix_bridge_replies_ticket", "ticket_id"),
)

piped_mail = Table(
    "piped_mail", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("subject_hash", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_piped_mail_subject", "subject_hash"),
)

sync_state = Table(
    "sync_state", metadata,
    Column("name", String(40), primary_key=True),
    Column("mode", String(20), nullable=True),  # full | incremental
    Column("phase", String(20), nullable=False),  # listing | fetching | done
    Column("next_offset", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
    Column("last_completed_at", UTCDateTime, nullable=True),
    Column("last_full_at", UTCDateTime, nullable=True),
    Column("stats", JSON, nullable=True),
)
