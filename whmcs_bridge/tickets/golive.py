"""The go-live time: from when on the bridge escalates tickets on this WHMCS.

A ticket whose SLA threshold was crossed before go-live is still *shown* as breached (the
dashboard, report and panel evaluate the ticket as it is), but gets no escalation actions:
on a busy WHMCS the first sweep would otherwise write a note into every old ticket at once.
Staff get one summary instead (see :mod:`whmcs_bridge.tickets.escalate`).

Where the time comes from, strongest first:

1. the setting ``escalation.go_live_at`` (an admin pinning it);
2. the recorded time: written once, by the first ``sync`` (its start) or, for a bridge fed only
   by events, by the first sweep (the moment the bridge first stored a ticket); ``whmcs-bridge
   sla go-live --set`` rewrites it.

It is kept as the ``go_live`` row of ``sync_state`` (``started_at`` = the time, ``mode`` = how it
was recorded), so no schema change is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, insert, select, update

from whmcs_bridge.tickets.tables import sync_state, tickets

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

ROW = "go_live"
#: How the recorded time was set (``sync_state.mode`` of the row).
BY_SYNC, BY_SWEEP, BY_ADMIN = "first_sync", "first_ticket", "admin"


@dataclass(frozen=True)
class GoLive:
    at: datetime
    source: str  # "setting", or one of BY_SYNC / BY_SWEEP / BY_ADMIN

    @property
    def ts(self) -> float:
        return self.at.timestamp()


def recorded(conn: Connection) -> GoLive | None:
    row = conn.execute(select(sync_state.c.started_at, sync_state.c.mode)
                       .where(sync_state.c.name == ROW)).first()
    if row is None or row.started_at is None:
        return None
    return GoLive(row.started_at, row.mode or BY_ADMIN)


def setting(settings: Settings) -> datetime | None:
    """``escalation.go_live_at`` as an aware time (a naive value is in ``timezone``)."""
    value = settings.escalation.go_live_at
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=settings.tz)


def effective(conn: Connection, settings: Settings) -> GoLive | None:
    pinned = setting(settings)
    if pinned is not None:
        return GoLive(pinned.astimezone(UTC), "setting")
    return recorded(conn)


def record(conn: Connection, at: datetime, source: str, *, replace: bool = False) -> GoLive:
    """Record the go-live time; keeps an existing one unless ``replace``. Returns the one in
    force in the store afterwards."""
    existing = recorded(conn)
    if existing is not None and not replace:
        return existing
    values = {"started_at": at, "mode": source, "updated_at": datetime.now(UTC)}
    if existing is None:
        conn.execute(insert(sync_state).values(name=ROW, phase="done", next_offset=0, **values))
    else:
        conn.execute(update(sync_state).where(sync_state.c.name == ROW).values(**values))
    return GoLive(at, source)


def first_ticket_stored(conn: Connection) -> datetime | None:
    """When the bridge first stored a ticket (the go-live of a bridge that never synced)."""
    return conn.execute(select(func.min(tickets.c.updated_at))).scalar()


def would_be(conn: Connection, settings: Settings, now: datetime) -> GoLive | None:
    """The go-live in force, or the one :func:`ensure` would record (writes nothing)."""
    current = effective(conn, settings)
    if current is not None:
        return current
    first = first_ticket_stored(conn)
    return GoLive(min(first, now), BY_SWEEP) if first is not None else None


def ensure(conn: Connection, settings: Settings, now: datetime) -> GoLive | None:
    """The go-live in force, recording it from the first stored ticket when nothing is
    recorded yet; None while the store holds no ticket."""
    found = would_be(conn, settings, now)
    if found is None or found.source != BY_SWEEP or recorded(conn) is not None:
        return found
    return record(conn, found.at, BY_SWEEP)
