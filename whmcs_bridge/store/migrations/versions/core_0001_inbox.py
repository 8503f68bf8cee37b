"""core: events inbox, handler outcomes, audit log, periodic job runs

Revision ID: core_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from whmcs_bridge.store.base import UTCDateTime

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("worker_id", sa.String(100), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("processed_at", UTCDateTime, nullable=True),
        sa.Column("source", sa.String(100), nullable=True),
    )
    op.create_index("ix_events_status_next", "events", ["status", "next_attempt_at"])
    op.create_index("ix_events_received", "events", ["received_at"])
    op.create_table(
        "handler_outcomes",
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("handler", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("event_id", "handler", name="pk_handler_outcomes"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("event_id", sa.String(255), nullable=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("ticket_id", sa.Integer, nullable=True),
        sa.Column("client_id", sa.Integer, nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_audit_ticket", "audit_log", ["ticket_id"])
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("last_started_at", UTCDateTime, nullable=True),
        sa.Column("last_finished_at", UTCDateTime, nullable=True),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_index("ix_audit_ticket", "audit_log")
    op.drop_table("audit_log")
    op.drop_table("handler_outcomes")
    op.drop_index("ix_events_received", "events")
    op.drop_index("ix_events_status_next", "events")
    op.drop_table("events")
