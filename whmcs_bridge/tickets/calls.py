"""Phone calls recorded by staff: open the ticket in WHMCS on the customer's behalf and mark
it ``phone`` in the store (the first-reply promise applies: the caller is waiting)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete

from whmcs_bridge.sla import engine as E
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.tables import ticket_messages


def log_call(engine: Engine, client: Any, *, client_id: int, department_id: int, subject: str,
             message: str, priority: str, now: datetime) -> Any:
    opened = client.open_ticket(department_id, subject, message, clientid=client_id,
                                admin=True, priority=priority)
    with engine.begin() as conn:
        store.upsert_ticket(conn, opened.id, now=now, tid=opened.tid, subject=subject,
                            priority=priority, status="Open", department_id=department_id,
                            client_id=client_id, channel="phone", opened_by_admin=True,
                            logged_call=True, opened_at=now, last_reply_at=now)
        conn.execute(delete(ticket_messages).where(ticket_messages.c.ticket_id == opened.id,
                                                   ticket_messages.c.source_key == "open"))
        store.add_message(conn, opened.id, "open", E.CUSTOMER, now)
    return opened
