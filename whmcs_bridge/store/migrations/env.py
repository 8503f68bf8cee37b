"""Alembic environment: uses the engine handed over by whmcs_bridge.store.migrate."""

from __future__ import annotations

from alembic import context

from whmcs_bridge.store.base import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
