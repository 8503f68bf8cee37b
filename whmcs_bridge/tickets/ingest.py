"""Turning what WHMCS says about a ticket (a GetTicket result or a hook event) into store
rows: the ticket's fields, its channel, and its messages classified for the SLA.

A message meets the SLA only when it is a human staff reply. Classification of a reply:
``admin`` empty → ``customer``; text matching something the bridge posted → ``bridge``; the
admin name listed in ``sla.automatic_reply_admins`` → ``auto``; otherwise ``staff``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from whmcs_bridge.sla import engine as E
from whmcs_bridge.sla.channels import classify
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.tables import (
    SLA_DIRTY,
    bridge_replies,
    ticket_history,
    ticket_messages,
    tickets,
)

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings


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


def _message_rows(ticket: Any, hashes: set[str], automatic: list[str],
                  now: datetime) -> list[dict[str, Any]]:
    rows = []
    for r in ticket.replies:
        at = r.date or ticket.date or now
        if r.replyid == 0:
            rows.append({"ticket_id": ticket.id, "source_key": "open", "at": at,
                         "kind": E.STAFF if r.admin else E.CUSTOMER, "author": r.admin or None})
            continue
        rows.append({"ticket_id": ticket.id, "source_key": f"reply:{r.replyid}", "at": at,
                     "author": r.admin or None,
                     "kind": reply_kind(admin=r.admin, message=r.message,
                                        requestor_type=r.requestor_type,
                                        bridge_hashes=hashes, automatic_admins=automatic)})
    for n in ticket.notes:
        rows.append({"ticket_id": ticket.id, "source_key": f"note:{n.noteid}", "kind": E.NOTE,
                     "at": n.date or now, "author": n.admin or None})
    return rows


def apply_fetched_batch(conn: Connection, batch: list[Any], *, settings: Settings, now: datetime,
                        source: str = "sync") -> dict[int, list[tuple]]:
    """Store many GetTicket results in a handful of statements (the sync's hot path: each
    statement is a GIL hand-off while the fetch threads run). Returns changes per ticket."""
    ids = [t.id for t in batch]
    existing = {r.id: r._mapping for r in conn.execute(
        select(tickets).where(tickets.c.id.in_(ids)))}
    hashes: dict[int, set[str]] = {}
    for r in conn.execute(select(bridge_replies.c.ticket_id, bridge_replies.c.message_hash)
                          .where(bridge_replies.c.ticket_id.in_(ids),
                                 bridge_replies.c.kind == "reply")):
        hashes.setdefault(r.ticket_id, set()).add(r.message_hash)
    automatic = list(settings.sla.automatic_reply_admins)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    history_rows: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    out: dict[int, list[tuple]] = {}
    for ticket in batch:
        cur = existing.get(ticket.id)
        opening = ticket.opening
        opened_by_admin = bool(ticket.admin) or bool(cur and cur["opened_by_admin"])
        channel = classify(
            department_id=ticket.deptid, client_id=ticket.userid,
            opened_by_admin=opened_by_admin,
            requestor_type=opening.requestor_type if opening else ticket.requestor_type,
            subject=ticket.subject, first_message=opening.message if opening else None,
            piped=bool(cur and cur["piped"]), logged_call=bool(cur and cur["logged_call"]),
            channels=settings.channels)
        values = {
            "tid": ticket.tid, "subject": ticket.subject,
            "priority": ticket.priority or "Medium", "status": ticket.status or "Open",
            "department_id": ticket.deptid, "client_id": ticket.userid or None,
            "channel": channel, "opened_by_admin": opened_by_admin,
            "requestor_type": ticket.requestor_type or None, "opened_at": ticket.date,
            "last_reply_at": ticket.lastreply, "flag_admin_id": ticket.flag or None,
            "fetched_signature": signature(ticket), "synced_at": now, "sync_pending": False,
            "deleted": False, "updated_at": now,
            "sla_next_at": SLA_DIRTY}  # messages are rewritten below: evaluate again
        changes: list[tuple] = []
        if cur is None:
            inserts.append({"id": ticket.id, "opened_priority": values["priority"], **values})
        else:
            if cur["opened_at"] is not None:  # a row with real values (not a placeholder
                # an out-of-order event made): a difference is a change a lost event missed
                for key in store.TRACKED:
                    if values[key] != cur[key]:
                        changes.append((key, cur[key], values[key]))
            values["opened_priority"] = cur["opened_priority"] or values["priority"]
            updates.append({"b_id": ticket.id, **values})
        history_rows += [store.history_row(ticket.id, key, old, new, at=now, actor="whmcs",
                                           source=source) for key, old, new in changes]
        out[ticket.id] = changes
        messages += _message_rows(ticket, hashes.get(ticket.id, set()), automatic, now)
    if inserts:
        conn.execute(insert(tickets), inserts)
    if updates:
        conn.execute(update(tickets).where(tickets.c.id == bindparam("b_id")), updates)
    if history_rows:
        conn.execute(insert(ticket_history), history_rows)
    conn.execute(delete(ticket_messages).where(ticket_messages.c.ticket_id.in_(ids)))
    if messages:
        conn.execute(insert(ticket_messages), messages)
    for tid, changes in out.items():
        if changes:
            observe_external(conn, tid, changes, at=now)
    return out
