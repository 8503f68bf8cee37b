"""verification: requests, attempts audit, link nonces, leaked-secret fingerprints

Revision ID: verification_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from whmcs_bridge.store.base import UTCDateTime

revision = "verification_0001"
down_revision = None
branch_labels = ("verification",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "verification_requests",
        sa.Column("ticket_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("client_id", sa.Integer, nullable=True),
        sa.Column("tid", sa.String(50), nullable=True),
        sa.Column("changes", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reasons", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("deadline_at", UTCDateTime, nullable=True),
        sa.Column("method", sa.String(30), nullable=True),
        sa.Column("verified_by", sa.String(100), nullable=True),
        sa.Column("verified_at", UTCDateTime, nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("locked_at", UTCDateTime, nullable=True),
        sa.Column("refused_at", UTCDateTime, nullable=True),
        sa.Column("closed_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_verification_requests_client", "verification_requests", ["client_id"])
    op.create_index("ix_verification_requests_state_deadline", "verification_requests",
                    ["state", "deadline_at"])
    op.create_table(
        "verification_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("ticket_id", sa.Integer, nullable=True),
        sa.Column("client_id", sa.Integer, nullable=True),
        sa.Column("method", sa.String(30), nullable=False),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("actor", sa.String(100), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(100), nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_verification_attempts_client_at", "verification_attempts",
                    ["client_id", "at"])
    op.create_table(
        "verification_nonces",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("ticket_id", sa.Integer, nullable=False),
        sa.Column("client_id", sa.Integer, nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "leaked_secrets",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("client_id", sa.Integer, nullable=True),
        sa.Column("ticket_id", sa.Integer, nullable=True),
        sa.Column("found_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leaked_secrets")
    op.drop_table("verification_nonces")
    op.drop_index("ix_verification_attempts_client_at", "verification_attempts")
    op.drop_table("verification_attempts")
    op.drop_index("ix_verification_requests_state_deadline", "verification_requests")
    op.drop_index("ix_verification_requests_client", "verification_requests")
    op.drop_table("verification_requests")
