"""Reading and writing the ticket store. Every function takes the caller's connection and
never commits: handlers run inside their own transaction, the sync commits per batch.

The seam other rooms use (docs/CONTRACTS.md): :func:`get_ticket`, :func:`start_pause`,
:func:`end_pause`, :func:`set_contact_preference`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from whmcs_bridge.sla import engine as E
from whmcs_bridge.tickets.tables import (
    SLA_DIRTY,
    bridge_replies,
    ticket_escalations,
    ticket_history,
    ticket_messages,
    ticket_pauses,
    tickets,
)
from whmcs_bridge.writes.policy import message_hash

LEVELS = {"High": "urgent", "Medium": "normal", "Low": "low"}
#: reasons a pause may carry (CONTRACTS): a pause status, or waiting for verification
PAUSE_REASONS = ("status", "awaiting_verification")
TRACKED = ("priority", "status", "department_id")
HISTORY_KIND = {"priority": "priority", "status": "status", "department_id": "department"}
#: columns the SLA evaluation reads: a write that changes one makes the ticket due for the
#: sweep (``sla_next_at = SLA_DIRTY``) — the sweep reads only due tickets
SLA_INPUTS = frozenset({"priority", "opened_priority", "status", "department_id", "channel",
                        "opened_at", "deleted"})


@dataclass(frozen=True)
class TicketRecord:
    id: int
    tid: str
    subject: str
    priority: str
    status: str
    department_id: int | None
    client_id: int | None
    channel: str | None
    opened_at: datetime | None
    contact_preference: str | None
    language: str | None
    opened_priority: str | None = None
    opened_by_admin: bool = False
    requestor_type: str | None = None
    piped: bool = False
    logged_call: bool = False
    last_reply_at: datetime | None = None
    flag_admin_id: int | None = None
    deleted: bool = False
    fetched_signature: str | None = None
    sync_pending: bool = False
    sla_state: str | None = None
    sla_due_at: datetime | None = None

    @property
    def level(self) -> str:
        return LEVELS.get(self.priority, "normal")


_RECORD_FIELDS = [f.name for f in fields(TicketRecord)]


def _record(row: Any) -> TicketRecord:
    m = row._mapping
    return TicketRecord(**{k: m[k] for k in _RECORD_FIELDS})


def get_ticket(conn: Connection, ticket_id: int) -> TicketRecord | None:
    """The stored ticket (``None`` when unknown or deleted)."""
    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id,
                                             tickets.c.deleted.is_(False))).first()
    return _record(row) if row is not None else None


def upsert_ticket(conn: Connection, ticket_id: int, *, now: datetime, at: datetime | None = None,
                  actor: str = "whmcs", source: str = "event", **values: Any) -> list[tuple]:
    """Create or update a ticket; return ``[(field, old, new), ...]`` for tracked fields that
    changed, each also written to ``ticket_history`` (at ``at`` or ``now``) with its actor.
    ``None`` values are ignored (unknown, not "clear")."""
    values = {k: v for k, v in values.items() if v is not None}
    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
    changes: list[tuple] = []
    if row is None:
        values.setdefault("opened_priority", values.get("priority"))
        conn.execute(insert(tickets).values(id=ticket_id, updated_at=now, **values))
        return changes
    current = row._mapping
    for key in TRACKED:
        if key in values and values[key] != current[key]:
            changes.append((key, current[key], values[key]))
    upd = {k: v for k, v in values.items() if current[k] != v}
    if SLA_INPUTS.intersection(upd):
        upd["sla_next_at"] = SLA_DIRTY
    if upd:
        conn.execute(update(tickets).where(tickets.c.id == ticket_id)
                     .values(updated_at=now, **upd))
    for key, old, new in changes:
        record_change(conn, ticket_id, key, old, new, at=at or now, actor=actor, source=source)
    return changes


def history_row(ticket_id: int, field: str, old: Any, new: Any, *, at: datetime, actor: str,
                source: str) -> dict[str, Any]:
    """One ``ticket_history`` row (values kept as text; ``None`` stays ``None``) — shared by
    :func:`record_change` and the sync's bulk insert so both store a change the same way."""
    return {"ticket_id": ticket_id, "at": at, "kind": HISTORY_KIND.get(field, field),
            "old_value": None if old is None else str(old),
            "value": None if new is None else str(new), "actor": actor, "source": source}


def record_change(conn: Connection, ticket_id: int, field: str, old: Any, new: Any, *,
                  at: datetime, actor: str, source: str) -> None:
    conn.execute(insert(ticket_history).values(
        **history_row(ticket_id, field, old, new, at=at, actor=actor, source=source)))


def add_message(conn: Connection, ticket_id: int, source_key: str, kind: str, at: datetime,
                author: str | None = None) -> bool:
    """Add one message (idempotent on ``(ticket, source_key)``); True when new."""
    exists = conn.execute(select(ticket_messages.c.id).where(
        ticket_messages.c.ticket_id == ticket_id,
        ticket_messages.c.source_key == source_key)).first()
    if exists:
        return False
    conn.execute(insert(ticket_messages).values(ticket_id=ticket_id, source_key=source_key,
                                                kind=kind, at=at, author=author))
    mark_sla_dirty(conn, ticket_id)
    return True


def mark_sla_dirty(conn: Connection, ticket_id: int) -> None:
    """The ticket's SLA inputs changed: the next sweep re-evaluates it (until then, or until
    the event's own re-evaluation, its ``sla_next_at`` cannot be trusted)."""
    conn.execute(update(tickets).where(tickets.c.id == ticket_id)
                 .values(sla_next_at=SLA_DIRTY))


def start_pause(conn: Connection, ticket_id: int, reason: str, at: datetime) -> bool:
    """Pause the ticket's SLA clock for ``reason`` (no-op if already paused for it)."""
    if reason not in PAUSE_REASONS:
        raise ValueError(f"unknown pause reason {reason!r} (one of {PAUSE_REASONS})")
    open_ = conn.execute(select(ticket_pauses.c.id).where(
        ticket_pauses.c.ticket_id == ticket_id, ticket_pauses.c.reason == reason,
        ticket_pauses.c.ended_at.is_(None))).first()
    if open_:
        return False
    conn.execute(insert(ticket_pauses).values(ticket_id=ticket_id, reason=reason,
                                              started_at=at))
    mark_sla_dirty(conn, ticket_id)
    return True


def end_pause(conn: Connection, ticket_id: int, reason: str, at: datetime) -> bool:
    """End the open pause for ``reason`` (no-op if none)."""
    result = conn.execute(update(ticket_pauses).where(
        ticket_pauses.c.ticket_id == ticket_id, ticket_pauses.c.reason == reason,
        ticket_pauses.c.ended_at.is_(None)).values(ended_at=at))
    if result.rowcount:
        mark_sla_dirty(conn, ticket_id)
    return bool(result.rowcount)


def set_contact_preference(conn: Connection, ticket_id: int, value: str | None) -> None:
    conn.execute(update(tickets).where(tickets.c.id == ticket_id)
                 .values(contact_preference=value))


def record_bridge_post(conn: Connection, ticket_id: int, kind: str, message: str, *,
                       at: datetime, dedupe_key: str | None = None) -> bool:
    """Remember a reply/note the bridge posts; False when ``dedupe_key`` was used before."""
    try:
        with conn.begin_nested():
            conn.execute(insert(bridge_replies).values(
                ticket_id=ticket_id, kind=kind, dedupe_key=dedupe_key,
                message_hash=message_hash(message), posted_at=at))
    except IntegrityError:
        return False
    return True


def bridge_hashes(conn: Connection, ticket_id: int) -> set[str]:
    return set(conn.execute(select(bridge_replies.c.message_hash).where(
        bridge_replies.c.ticket_id == ticket_id, bridge_replies.c.kind == "reply")).scalars())


def record_escalation(conn: Connection, ticket_id: int, cycle_key: str, trigger: str,
                      action: str, *, outcome: str, at: datetime,
                      detail: str | None = None) -> bool:
    """Record an escalation action once; False when it was already recorded."""
    try:
        with conn.begin_nested():
            conn.execute(insert(ticket_escalations).values(
                ticket_id=ticket_id, cycle_key=cycle_key, trigger=trigger, action=action,
                outcome=outcome, at=at, detail=detail))
    except IntegrityError:
        return False
    return True


def escalations_done(conn: Connection, ticket_id: int, cycle_key: str) -> set[tuple[str, str]]:
    rows = conn.execute(select(ticket_escalations.c.trigger, ticket_escalations.c.action).where(
        ticket_escalations.c.ticket_id == ticket_id,
        ticket_escalations.c.cycle_key == cycle_key))
    return {(r.trigger, r.action) for r in rows}


def escalations_done_many(conn: Connection,
                          ids: list[int]) -> dict[tuple[int, str], set[tuple[str, str]]]:
    """``{(ticket_id, cycle_key): {(trigger, action), ...}}`` for many tickets at once."""
    out: dict[tuple[int, str], set[tuple[str, str]]] = {}
    rows = conn.execute(select(ticket_escalations.c.ticket_id, ticket_escalations.c.cycle_key,
                               ticket_escalations.c.trigger, ticket_escalations.c.action)
                        .where(ticket_escalations.c.ticket_id.in_(ids)))
    for r in rows:
        out.setdefault((r.ticket_id, r.cycle_key), set()).add((r.trigger, r.action))
    return out


def list_escalations(conn: Connection, ticket_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(ticket_escalations).where(
        ticket_escalations.c.ticket_id == ticket_id).order_by(ticket_escalations.c.at,
                                                              ticket_escalations.c.id))
    return [dict(r._mapping) for r in rows]


def history(conn: Connection, rec: TicketRecord) -> list[tuple[float, str, Any]]:
    """The ticket's history in the engine's shape, sorted by time."""
    return histories(conn, [rec])[rec.id]


def get_tickets(conn: Connection, ids: list[int]) -> list[TicketRecord]:
    """Several stored tickets in one query (deleted ones left out), in id order."""
    rows = conn.execute(select(tickets).where(tickets.c.id.in_(ids),
                                              tickets.c.deleted.is_(False))
                        .order_by(tickets.c.id))
    return [_record(r) for r in rows]


def tickets_opened(conn: Connection, since: datetime, until: datetime) -> list[TicketRecord]:
    """Stored tickets opened in ``[since, until)`` (deleted ones left out), in id order, in
    one query — the report's population."""
    rows = conn.execute(select(tickets).where(
        tickets.c.deleted.is_(False), tickets.c.opened_at >= since, tickets.c.opened_at < until,
    ).order_by(tickets.c.id))
    return [_record(r) for r in rows]


def histories(conn: Connection, recs: list[TicketRecord]) -> dict[int, list[tuple]]:
    """Histories of many tickets in three queries: messages, changes, pauses (the sweep
    evaluates hundreds at a time; the openings come from ``recs``, already loaded).

    Items at the same instant order as: opening, then changes and pauses, then messages —
    a reply and the status change it causes share a timestamp."""
    ids = [r.id for r in recs]
    items: dict[int, list[tuple[float, int, str, Any]]] = {r.id: [] for r in recs}
    for rec in recs:
        if rec.opened_at is not None:
            items[rec.id].append((rec.opened_at.timestamp(), 0, E.OPEN,
                                  rec.opened_priority or rec.priority))
    for r in conn.execute(select(ticket_messages.c.ticket_id, ticket_messages.c.kind,
                                 ticket_messages.c.at).where(
            ticket_messages.c.ticket_id.in_(ids), ticket_messages.c.source_key != "open")):
        items[r.ticket_id].append((r.at.timestamp(), 2, r.kind, None))
    for h in conn.execute(select(ticket_history.c.ticket_id, ticket_history.c.kind,
                                 ticket_history.c.at, ticket_history.c.value).where(
            ticket_history.c.ticket_id.in_(ids),
            ticket_history.c.kind.in_(("priority", "status")))):
        items[h.ticket_id].append((h.at.timestamp(), 1,
                                   E.PRIORITY if h.kind == "priority" else E.STATUS, h.value))
    for r in conn.execute(select(ticket_pauses).where(ticket_pauses.c.ticket_id.in_(ids))):
        items[r.ticket_id].append((r.started_at.timestamp(), 1, E.PAUSE, r.reason))
        if r.ended_at is not None:
            items[r.ticket_id].append((r.ended_at.timestamp(), 1, E.RESUME, r.reason))
    out: dict[int, list[tuple]] = {}
    for tid, lst in items.items():
        if not lst or lst[0][2] != E.OPEN:
            out[tid] = []  # opening unknown (first seen through a later event): wait for sync
            continue
        lst.sort(key=lambda x: (x[0], x[1]))
        out[tid] = [(ts, kind, value) for ts, _, kind, value in lst]
    return out


def save_evaluations(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """``[{"b_id", "sla_state", "sla_due_at", "sla_next_at"}, ...]`` in one executemany."""
    if rows:
        conn.execute(update(tickets).where(tickets.c.id == bindparam("b_id")), rows)


def due_ticket_ids(conn: Connection, closed_statuses: Iterable[str],
                   now: datetime) -> tuple[list[int], list[int]]:
    """Tickets whose next SLA transition has come (or whose inputs changed), as ``(open,
    closed or deleted)``: a sweep evaluates the first and clears the second
    (:func:`clear_sla_next`). A range scan of ``ix_tickets_sla_next_at``: its cost follows the
    tickets due, not the tickets open."""
    closed = set(closed_statuses)
    q = select(tickets.c.id, tickets.c.status, tickets.c.deleted).where(
        tickets.c.sla_next_at <= now)
    open_: list[int] = []
    gone: list[int] = []
    for r in conn.execute(q):
        (gone if r.deleted or r.status in closed else open_).append(r.id)
    # sorted here, not by ORDER BY id: SQLite would rather walk the primary key in order
    # (every row) than search the index and sort the few rows due
    return sorted(open_), sorted(gone)


def clear_sla_next(conn: Connection, ids: list[int], closed_statuses: Iterable[str]) -> None:
    """Nothing to look at again for these closed or deleted tickets (a reopening is a write
    that makes them due again). Rows reopened meanwhile keep their time: the status is checked
    again in the statement. Left in the range, they would be scanned by every sweep."""
    for i in range(0, len(ids), 500):
        conn.execute(update(tickets).where(
            tickets.c.id.in_(ids[i:i + 500]),
            tickets.c.deleted.is_(True) | tickets.c.status.in_(list(closed_statuses)))
            .values(sla_next_at=None))


def mark_open_sla_dirty(conn: Connection, closed_statuses: Iterable[str]) -> int:
    """Every open ticket due at the next sweep (the policy changed); returns how many."""
    return conn.execute(update(tickets).where(
        tickets.c.deleted.is_(False), tickets.c.status.not_in(list(closed_statuses)))
        .values(sla_next_at=SLA_DIRTY)).rowcount


def open_ticket_ids(conn: Connection, closed_statuses: Iterable[str]) -> Iterator[int]:
    q = select(tickets.c.id).where(tickets.c.deleted.is_(False),
                                   tickets.c.status.not_in(list(closed_statuses)))
    yield from conn.execute(q.order_by(tickets.c.id)).scalars()


def record_escalation_outcome(conn: Connection, ticket_id: int, cycle_key: str, trigger: str,
                              action: str, outcome: str, detail: str | None) -> None:
    conn.execute(update(ticket_escalations).where(
        ticket_escalations.c.ticket_id == ticket_id, ticket_escalations.c.cycle_key == cycle_key,
        ticket_escalations.c.trigger == trigger, ticket_escalations.c.action == action,
    ).values(outcome=outcome, detail=detail))
