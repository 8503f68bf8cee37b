"""Dashboard sessions ended by sign-out: a revoked cookie stays refused until it would have
expired anyway, in every process (the cookie is signed, so it cannot be changed, only replayed).

A session id is random (the cookie carries it); the table keeps its SHA-256, never the id, so
a database dump holds nothing a cookie could be rebuilt from.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Column, Connection, String, Table, delete, select

from whmcs_bridge.store.base import UTCDateTime, dialect_insert, metadata

dashboard_revoked_sessions = Table(
    "dashboard_revoked_sessions",
    metadata,
    Column("sid_hash", String(64), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),  # the cookie is dead after this anyway
)

T = dashboard_revoked_sessions


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def revoke(conn: Connection, sid: str, *, expires_at: datetime, now: datetime) -> None:
    """Refuse ``sid`` from now on (idempotent); rows of sessions expired by now are dropped."""
    conn.execute(delete(T).where(T.c.expires_at < now))
    conn.execute(dialect_insert(conn)(T).values(sid_hash=_hash(sid), expires_at=expires_at)
                 .on_conflict_do_nothing(index_elements=[T.c.sid_hash]))


def is_revoked(conn: Connection, sid: str) -> bool:
    return conn.execute(select(T.c.sid_hash).where(T.c.sid_hash == _hash(sid))
                        ).first() is not None
