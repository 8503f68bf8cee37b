"""The enriched ticket of the staff API (design: "Staff API") and of ``tickets show``: a read
model above the tickets, SLA and verification rooms (it reads all three; none of them reads it).

Times are ISO 8601 with offset (UTC). ``sla.target_minutes`` is the target of the current
cycle (the open one, else the latest), ``remaining_seconds`` that of the open cycle (negative
once overdue, ``null`` when no reply is owed), ``next_response_due_at`` the due time of an
open next-reply cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from whmcs_bridge.sla import engine as E
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.escalate import evaluate_record, iso
from whmcs_bridge.verification import status as verification_status

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def sla_block(rec: store.TicketRecord, ev: E.Evaluation, policy: E.Policy) -> dict[str, Any]:
    cur = ev.current
    first = ev.first
    open_ = ev.open_cycle
    if cur is not None:
        target = cur.target_seconds
    elif ev.applicable:
        target = policy.for_ticket(rec.department_id, rec.channel).first[ev.level]
    else:
        target = None
    return {
        "target_minutes": None if target is None else round(target / 60),
        "opened_at": _dt(rec.opened_at),
        "first_response_due_at": iso(first.due_at) if first else None,
        "first_response_at": iso(first.met_at) if first else None,
        "next_response_due_at": iso(open_.due_at) if open_ is not None
        and open_.kind == E.NEXT_REPLY else None,
        "state": ev.state,
        "remaining_seconds": None if open_ is None or open_.remaining_seconds is None
        else int(open_.remaining_seconds),
    }


def escalation_items(conn: Connection, ticket_id: int) -> list[dict[str, Any]]:
    return [{"trigger": e["trigger"], "action": e["action"], "outcome": e["outcome"],
             "detail": e["detail"], "cycle": e["cycle_key"], "at": _dt(e["at"])}
            for e in store.list_escalations(conn, ticket_id) if e["outcome"] != "pending"]


def ticket_view(rec: store.TicketRecord, ev: E.Evaluation, policy: E.Policy, settings: Settings,
                verification: dict[str, Any]) -> dict[str, Any]:
    """The staff API's fields of one evaluated ticket, without escalations (the dashboard's
    rows; :func:`enrich` adds the rest)."""
    return {
        "id": rec.id,
        "tid": rec.tid,
        "subject": rec.subject,
        "priority": rec.priority,
        "level": settings.sla.levels.get(rec.priority, "normal"),
        "status": rec.status,
        "department_id": rec.department_id,
        "client_id": rec.client_id,
        "channel": rec.channel,
        "sla": sla_block(rec, ev, policy),
        "verification": verification,
    }


def enrich(conn: Connection, ticket_id: int, *, settings: Settings, now: datetime,
           policy: E.Policy | None = None) -> dict[str, Any] | None:
    """The staff API dict for ``ticket_id``; ``None`` when the store does not know it."""
    rec = store.get_ticket(conn, ticket_id)
    if rec is None:
        return None
    policy = policy or E.Policy.from_settings(settings)
    ev = evaluate_record(conn, rec, policy, now)
    return {
        **ticket_view(rec, ev, policy, settings, verification_status.for_ticket(conn, rec.id)),
        "escalations": escalation_items(conn, rec.id),
        "contact_preference": rec.contact_preference,
    }
