"""tickets: tickets, messages, history, pauses, escalations, bridge replies, sync state

Revision ID: tickets_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from whmcs_bridge.store.base import UTCDateTime

revision = "tickets_0001"
down_revision = None
branch_labels = ("tickets",)
depends_on = "core_0001"

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("tid", sa.String(64), nullable=False, server_default=""),
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("priority", sa.String(20), nullable=False, server_default="Medium"),
        sa.Column("opened_priority", sa.String(20), nullable=True),
        sa.Column("status", sa.String(64), nullable=False, server_default="Open"),
        sa.Column("department_id", sa.Integer, nullable=True),
        sa.Column("client_id", sa.Integer, nullable=True),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("opened_by_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("requestor_type", sa.String(50), nullable=True),
        sa.Column("piped", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("logged_call", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("opened_at", UTCDateTime, nullable=True),
        sa.Column("last_reply_at", UTCDateTime, nullable=True),
        sa.Column("flag_admin_id", sa.Integer, nullable=True),
        sa.Column("contact_preference", sa.String(50), nullable=True),
        sa.Column("language", sa.String(30), nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("fetched_signature", sa.String(200), nullable=True),
        sa.Column("sync_pending", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("synced_at", UTCDateTime, nullable=True),
        sa.Column("sla_state", sa.String(20), nullable=True),
        sa.Column("sla_due_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_tickets_status", "tickets", ["status"])
    op.create_index("ix_tickets_pending", "tickets", ["sync_pending"])
    op.create_table(
        "ticket_messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("source_key", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("author", sa.String(200), nullable=True),
        sa.UniqueConstraint("ticket_id", "source_key", name="uq_ticket_messages_key"),
    )
    op.create_table(
        "ticket_history",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("old_value", sa.String(100), nullable=True),
        sa.Column("value", sa.String(100), nullable=True),
        sa.Column("actor", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
    )
    op.create_index("ix_ticket_history_ticket", "ticket_history", ["ticket_id", "at"])
    op.create_table(
        "ticket_pauses",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_ticket_pauses_ticket", "ticket_pauses", ["ticket_id"])
    op.create_table(
        "ticket_escalations",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("cycle_key", sa.String(60), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("ticket_id", "cycle_key", "trigger", "action",
                            name="uq_ticket_escalations_once"),
    )
    op.create_table(
        "bridge_replies",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("message_hash", sa.String(64), nullable=False),
        sa.Column("posted_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_bridge_replies_dedupe_key"),
    )
    op.create_index("ix_bridge_replies_ticket", "bridge_replies", ["ticket_id"])
    op.create_table(
        "piped_mail",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_piped_mail_subject", "piped_mail", ["subject_hash"])
    op.create_table(
        "sync_state",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("mode", sa.String(20), nullable=True),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("next_offset", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.Integer, nullable=True),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=True),
        sa.Column("last_completed_at", UTCDateTime, nullable=True),
        sa.Column("last_full_at", UTCDateTime, nullable=True),
        sa.Column("stats", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    for name in ("sync_state", "piped_mail", "bridge_replies", "ticket_escalations",
                 "ticket_pauses", "ticket_history", "ticket_messages", "tickets"):
        op.drop_table(name)
