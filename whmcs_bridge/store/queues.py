"""What every outbox queue (notifications, WHMCS writes) does the same way with its rows: count
them by status and put dead or failed ones back. Each queue's table has ``status``, ``id``,
``attempts``, ``next_attempt_at`` and ``lease_until`` columns and the statuses below."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select, update

PENDING, FAILED, DEAD = "pending", "failed", "dead"


def status_counts(conn: Connection, table: Table) -> dict[str, int]:
    """Rows per status (for ``doctor``, metrics and the CLI)."""
    rows = conn.execute(select(table.c.status, func.count()).group_by(table.c.status))
    return {status: n for status, n in rows}


def replay(conn: Connection, table: Table, *, now: datetime, ids: Iterable[int] = (),
           all_dead: bool = False, **reset: Any) -> int:
    """Put the dead rows (``all_dead``), or the dead or failed rows among ``ids``, back in the
    queue with a fresh attempt count; ``reset`` clears queue-specific columns too. Returns how
    many rows were put back."""
    q = update(table).values(status=PENDING, attempts=0, next_attempt_at=now, lease_until=None,
                             **reset)
    id_list = [int(i) for i in ids]
    if all_dead:
        q = q.where(table.c.status == DEAD)
    elif id_list:
        q = q.where(table.c.id.in_(id_list), table.c.status.in_([DEAD, FAILED]))
    else:
        return 0
    return conn.execute(q).rowcount
