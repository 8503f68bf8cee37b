"""notify: the notifications outbox (notifications + deliveries)

Revision ID: notify_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from whmcs_bridge.store.base import UTCDateTime

revision = "notify_0001"
down_revision = None
branch_labels = ("notify",)
depends_on = "core_0001"

_id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "notify_notifications",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("notification", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_notify_notifications_dedupe_key"),
    )
    op.create_table(
        "notify_deliveries",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("notification_id", _id,
                  sa.ForeignKey("notify_notifications.id", ondelete="CASCADE",
                                name="fk_notify_deliveries_notification_id_notify_notifications"),
                  nullable=False),
        sa.Column("notification", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(255), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.Column("digest_id", _id, nullable=True),
    )
    op.create_index("ix_notify_deliveries_due", "notify_deliveries",
                    ["status", "next_attempt_at"])
    op.create_index("ix_notify_deliveries_group", "notify_deliveries",
                    ["channel", "recipient", "notification", "sent_at"])
    op.create_index("ix_notify_deliveries_notification", "notify_deliveries",
                    ["notification_id"])


def downgrade() -> None:
    op.drop_table("notify_deliveries")
    op.drop_table("notify_notifications")
