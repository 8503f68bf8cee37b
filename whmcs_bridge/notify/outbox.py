"""The outbox: notifications written in the caller's transaction, delivered later.

:func:`enqueue` is the one seam producers use (through ``ctx.notify``). It writes the
notification and its resolved deliveries on the caller's connection, so they commit if and only
if the decision that caused them commits. The producer's ``dedupe_key`` is UNIQUE: a second call
with the same key inserts nothing (``ON CONFLICT DO NOTHING``), so a retried handler never
sends twice, and two concurrent callers cannot both win.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select

from whmcs_bridge.notify import routing
from whmcs_bridge.notify.catalog import check_payload
from whmcs_bridge.notify.tables import PENDING, SENT, deliveries, notifications
from whmcs_bridge.store import queues
from whmcs_bridge.store.base import dialect_insert

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings


def enqueue(conn: Connection, *, notification: str, payload: Mapping[str, Any],
            dedupe_key: str, now: datetime, settings: Settings,
            channels: Iterable[str] | None = None) -> int | None:
    """Queue ``notification`` once per ``dedupe_key``; return its id, or None if already queued.

    ``channels`` (optional) narrows the routed deliveries to those channels. Raises
    ``ValueError`` for an unknown notification or a payload missing contract keys, ``TypeError``
    for a payload that is not JSON-safe (producers must never pass secrets or objects).
    """
    check_payload(notification, dict(payload))
    data = json.loads(json.dumps(dict(payload)))  # JSON-safe, detached from the caller's dict
    if not dedupe_key or len(dedupe_key) > 255:
        raise ValueError("dedupe_key must be 1..255 characters")
    stmt = (dialect_insert(conn)(notifications)
            .values(notification=notification, payload=data, dedupe_key=dedupe_key,
                    created_at=now)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(notifications.c.id))
    new_id = conn.execute(stmt).scalar()
    if new_id is None:
        return None
    targets = routing.resolve(settings.notifications, notification, data,
                              whmcs=routing.whmcs_configured(settings))
    if channels is not None:
        wanted = set(channels)
        targets = [t for t in targets if t.channel in wanted]
    if targets:
        conn.execute(deliveries.insert(), [
            {"notification_id": new_id, "notification": notification, "channel": t.channel,
             "recipient": t.recipient, "language": t.language, "status": PENDING,
             "attempts": 0, "next_attempt_at": now, "created_at": now}
            for t in targets
        ])
    return int(new_id)


def list_deliveries(conn: Connection, *, status: str | None = None,
                    limit: int = 100) -> list[dict[str, Any]]:
    """Newest deliveries first, with their notification's kind, key and payload."""
    q = (select(deliveries, notifications.c.dedupe_key, notifications.c.payload)
         .join(notifications, notifications.c.id == deliveries.c.notification_id)
         .order_by(deliveries.c.id.desc()).limit(limit))
    if status:
        q = q.where(deliveries.c.status == status)
    return [dict(r._mapping) for r in conn.execute(q)]


def counts(conn: Connection) -> dict[str, int]:
    """Deliveries per status (for ``doctor`` and metrics)."""
    return queues.status_counts(conn, deliveries)


def replay(conn: Connection, *, now: datetime, ids: Iterable[int] = (),
           all_dead: bool = False) -> int:
    """Put dead (or failed) deliveries back in the queue with a fresh attempt count (out of
    any digest they were sent in)."""
    return queues.replay(conn, deliveries, now=now, ids=ids, all_dead=all_dead, digest_id=None)


def purge(conn: Connection, *, before: datetime, limit: int = 1000) -> int:
    """Delete notifications created before ``before`` whose deliveries were all sent (or that
    had none). Dead, failed and pending ones stay. Once purged, a dedupe key may be used again
    — producers' keys name a decision (ticket + cycle), so months later that is harmless."""
    unfinished = (select(deliveries.c.id)
                  .where(deliveries.c.notification_id == notifications.c.id,
                         deliveries.c.status != SENT)
                  .exists())
    ids = [r[0] for r in conn.execute(
        select(notifications.c.id)
        .where(notifications.c.created_at < before, ~unfinished)
        .order_by(notifications.c.id).limit(limit))]
    if not ids:
        return 0
    conn.execute(delete(deliveries).where(deliveries.c.notification_id.in_(ids)))
    return conn.execute(delete(notifications).where(notifications.c.id.in_(ids))).rowcount


__all__ = ["counts", "enqueue", "list_deliveries", "purge", "replay"]
