"""verification: request owners (ticket client, sender and domain matches) and owner state

Revision ID: verification_0002_owners
Revises: verification_0001
"""

import sqlalchemy as sa
from alembic import op

from whmcs_bridge.store.base import UTCDateTime

revision = "verification_0002_owners"
down_revision = "verification_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verification_requests") as batch:
        batch.add_column(sa.Column("owner", sa.String(20), nullable=True))
    op.create_table(
        "verification_owners",
        sa.Column("ticket_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("client_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("found_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_verification_owners_client", "verification_owners", ["client_id"])


def downgrade() -> None:
    op.drop_table("verification_owners")
    with op.batch_alter_table("verification_requests") as batch:
        batch.drop_column("owner")
