"""Turning what WHMCS says about a ticket (a GetTicket result or a hook event) into store
rows: the ticket's fields, its channel, and its messages classified for the SLA.

A message meets the SLA only when it is a human staff reply. Classification of a reply:
``admin`` empty → ``customer``; text matching something the bridge posted → ``bridge``; the
admin name listed in ``sla.automatic_reply_admins`` → ``auto``; otherwise ``staff``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from whmcs_bridge.sla import engine as E
from whmcs_bridge.sla.channels import classify
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.tables import ticket_escalations, tickets


def reply_kind(*, admin: str, message: str, requestor_type: str = "",
               bridge_hashes: set[str], automatic_admins: list[str]) -> str:
    if not admin:
        if (requestor_type or "").lower() == "operator":
            return E.AUTO  # staff-typed with no admin behind it: a WHMCS auto-response
        return E.CUSTOMER
    if bridge_hashes and store.message_hash(message) in bridge_hashes:
        return E.BRIDGE
    if admin in automatic_admins:
        return E.AUTO
    return E.STAFF


def signature(ticket: Any) -> str:
    """What the listing compares to decide a ticket needs a GetTicket."""
    last = ticket.lastreply.isoformat() if ticket.lastreply else ""
    return f"{last}|{ticket.status}|{ticket.priority}|{ticket.deptid}"


def observe_external(conn: Connection, ticket_id: int, changes: list[tuple], *,
                     at: datetime) -> None:
    """Record priority/department changes the bridge did not make (e.g. WHMCS escalation
    rules) as observed escalations, so staff see them and the bridge does not fight them."""
    for field, old, new in changes:
        if field not in ("priority", "department_id"):
            continue
        store.record_escalation(
            conn, ticket_id, f"ext:{int(at.timestamp())}", "external", f"{field}_changed",
            outcome="observed", at=at, detail=f"{field} {old} → {new} (not by the bridge)")


def apply_fetched(conn: Connection, ticket: Any, *, settings: Any, now: datetime,
                  source: str = "sync") -> list[tuple]:
    """Store a GetTicket result (with replies and notes). Returns the tracked changes."""
    existing = store.get_ticket(conn, ticket.id)
    opening = ticket.opening
    opened_by_admin = bool(ticket.admin) or (existing.opened_by_admin if existing else False)
    channel = classify(
        department_id=ticket.deptid, client_id=ticket.userid, opened_by_admin=opened_by_admin,
        requestor_type=opening.requestor_type if opening else ticket.requestor_type,
        subject=ticket.subject, first_message=opening.message if opening else None,
        piped=existing.piped if existing else False,
        logged_call=existing.logged_call if existing else False,
        channels=settings.channels)
    changes = store.upsert_ticket(
        conn, ticket.id, now=now, actor="whmcs", source=source,
        tid=ticket.tid, subject=ticket.subject, priority=ticket.priority or "Medium",
        status=ticket.status or "Open", department_id=ticket.deptid,
        client_id=ticket.userid or None, channel=channel, opened_by_admin=opened_by_admin,
        requestor_type=ticket.requestor_type or None, opened_at=ticket.date,
        last_reply_at=ticket.lastreply, flag_admin_id=ticket.flag or None,
        fetched_signature=signature(ticket), synced_at=now)
    conn.execute(update(tickets).where(tickets.c.id == ticket.id)
                 .values(sync_pending=False, deleted=False,
                         **({"flag_admin_id": None} if not ticket.flag else {})))
    observe_external(conn, ticket.id, changes, at=now)
    hashes = store.bridge_hashes(conn, ticket.id)
    automatic = list(settings.sla.automatic_reply_admins)
    rows = []
    for r in ticket.replies:
        at = r.date or ticket.date or now
        if r.replyid == 0:
            rows.append({"source_key": "open", "kind": E.STAFF if r.admin else E.CUSTOMER,
                         "at": at, "author": r.admin or None})
            continue
        rows.append({"source_key": f"reply:{r.replyid}", "at": at, "author": r.admin or None,
                     "kind": reply_kind(admin=r.admin, message=r.message,
                                        requestor_type=r.requestor_type,
                                        bridge_hashes=hashes, automatic_admins=automatic)})
    for n in ticket.notes:
        rows.append({"source_key": f"note:{n.noteid}", "kind": E.NOTE,
                     "at": n.date or now, "author": n.admin or None})
    store.replace_messages(conn, ticket.id, rows)
    return changes


def external_escalations(conn: Connection, ticket_id: int) -> int:
    return conn.execute(select(func.count()).select_from(ticket_escalations).where(
        ticket_escalations.c.ticket_id == ticket_id,
        ticket_escalations.c.trigger == "external")).scalar_one()
