"""writes: the WHMCS write outbox (replies, notes, ticket changes sent after commit)

Revision ID: writes_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from whmcs_bridge.store.base import UTCDateTime

revision = "writes_0001"
down_revision = None
branch_labels = ("writes",)
depends_on = "core_0001"

_id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "whmcs_writes",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("outcome_unknown", sa.Boolean, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("lease_until", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("key", name="uq_whmcs_writes_key"),
    )
    op.create_index("ix_whmcs_writes_due", "whmcs_writes",
                    ["status", "rank", "next_attempt_at"])
    op.create_index("ix_whmcs_writes_sent", "whmcs_writes", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_whmcs_writes_sent", table_name="whmcs_writes")
    op.drop_index("ix_whmcs_writes_due", table_name="whmcs_writes")
    op.drop_table("whmcs_writes")
