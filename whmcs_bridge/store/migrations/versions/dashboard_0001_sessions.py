"""dashboard: sessions revoked by sign-out

Revision ID: dashboard_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from whmcs_bridge.store.base import UTCDateTime

revision = "dashboard_0001"
down_revision = None
branch_labels = ("dashboard",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "dashboard_revoked_sessions",
        sa.Column("sid_hash", sa.String(64), primary_key=True),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dashboard_revoked_sessions")
