"""The durable store: engine set-up, the shared table metadata and schema migrations.

SQLite (embedded default) runs in WAL mode with ``synchronous=FULL`` so a committed event
survives a power cut; PostgreSQL (``postgresql+psycopg://``) is the scale-out store. Each room
declares its tables on :data:`metadata` in its own module and ships its own Alembic branch
(``branch_labels``), so the migration history never forks between rooms; ``upgrade`` applies
every head.
"""

from __future__ import annotations

from whmcs_bridge.store.base import metadata
from whmcs_bridge.store.engine import make_engine
from whmcs_bridge.store.migrate import current_heads, is_current, upgrade

__all__ = ["current_heads", "is_current", "make_engine", "metadata", "upgrade"]
