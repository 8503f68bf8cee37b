"""Recording WHMCS writes (in the caller's transaction), listing them, replaying dead ones.

:func:`enqueue` is the one seam producers use (through :mod:`whmcs_bridge.tickets.replies`
and the escalation actions): it writes the intent on the caller's connection, so it commits if
and only if the decision that caused it commits, and nothing is sent to WHMCS while that
transaction is open. ``key`` is UNIQUE (``ON CONFLICT DO NOTHING``): a retried handler queues
nothing the second time, and two concurrent callers cannot both win.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from whmcs_bridge.store import queues
from whmcs_bridge.store.base import dialect_insert
from whmcs_bridge.writes.tables import ACTIONS, PENDING, STAFF, whmcs_writes


def enqueue(conn: Connection, *, action: str, ticket_id: int, params: Mapping[str, Any],
            key: str, now: datetime, rank: int = STAFF) -> int | None:
    """Queue one WHMCS write once per ``key``; its id, or None when ``key`` was queued before.

    Raises ``ValueError`` for an unknown action or a bad key, ``TypeError`` for params that
    are not JSON-safe.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown WHMCS write action {action!r} (known: {', '.join(ACTIONS)})")
    if not key or len(key) > 255:
        raise ValueError("key must be 1..255 characters")
    data = json.loads(json.dumps(dict(params)))  # JSON-safe, detached from the caller's dict
    stmt = (dialect_insert(conn)(whmcs_writes)
            .values(key=key, action=action, ticket_id=int(ticket_id), params=data,
                    rank=rank, status=PENDING, attempts=0, outcome_unknown=False,
                    next_attempt_at=now, created_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(whmcs_writes.c.id))
    new_id = conn.execute(stmt).scalar()
    return None if new_id is None else int(new_id)


def list_writes(conn: Connection, *, status: str | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
    """Newest first."""
    q = select(whmcs_writes).order_by(whmcs_writes.c.id.desc()).limit(limit)
    if status:
        q = q.where(whmcs_writes.c.status == status)
    return [dict(r._mapping) for r in conn.execute(q)]


def counts(conn: Connection) -> dict[str, int]:
    """Writes per status (for ``doctor``, metrics and the CLI)."""
    return queues.status_counts(conn, whmcs_writes)


def replay(conn: Connection, *, now: datetime, ids: Iterable[int] = (),
           all_dead: bool = False) -> int:
    """Put dead (or failed) writes back in the queue with a fresh attempt count. Whether an
    earlier attempt may have reached WHMCS is kept, so a replayed reply is still looked for
    before it is posted."""
    return queues.replay(conn, whmcs_writes, now=now, ids=ids, all_dead=all_dead)


__all__ = ["counts", "enqueue", "list_writes", "replay"]
