"""tickets: each ticket's next SLA transition (indexed), and the policy it was computed under

Revision ID: tickets_0002_sla_next
Revises: tickets_0001
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from whmcs_bridge.store.base import UTCDateTime

revision = "tickets_0002_sla_next"
down_revision = "tickets_0001"
branch_labels = None
depends_on = None

#: = whmcs_bridge.tickets.store.SLA_DIRTY (a migration never imports the live code's constants)
_DIRTY = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("sla_next_at", UTCDateTime, nullable=True))
    op.create_index("ix_tickets_sla_next_at", "tickets", ["sla_next_at"])
    # every existing ticket is evaluated once by the first sweep after the upgrade
    tickets = sa.table("tickets", sa.column("sla_next_at", UTCDateTime),
                       sa.column("deleted", sa.Boolean))
    op.execute(tickets.update().where(tickets.c.deleted.is_(False))
               .values(sla_next_at=_DIRTY))
    op.create_table(
        "sla_schedule",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("policy_digest", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sla_schedule")
    op.drop_index("ix_tickets_sla_next_at", "tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("sla_next_at")
