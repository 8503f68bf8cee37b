"""What the bridge itself writes into WHMCS tickets.

Nothing here calls WHMCS: each write is queued in the WHMCS write outbox
(:mod:`whmcs_bridge.writes`) in the caller's transaction, and sent after it commits, so a
transaction never waits on WHMCS (on SQLite it holds the write lock every webhook queues for).

Replies are posted as the configured admin (``whmcs.admin_username``) and remembered by the
hash of their text when queued, so when WHMCS reports them back (``TicketAdminReply``, sync)
they are classified as the bridge's and never meet an SLA. Every write carries a dedupe key:
the same reply or note is queued, and so posted, at most once however often the caller runs.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from whmcs_bridge.tickets import store
from whmcs_bridge.writes import outbox
from whmcs_bridge.writes.tables import CUSTOMER, NOTE, REPLY, STAFF, UPDATE_REPLY, UPDATE_TICKET

if TYPE_CHECKING:
    from whmcs_bridge.context import HandlerContext


def post_bridge_reply(ctx: HandlerContext, ticket_id: int, message: str, *,
                      status: str | None = None, dedupe_key: str | None = None) -> bool:
    """Queue AddTicketReply as the bridge; False (nothing queued) when ``dedupe_key`` was used."""
    if not store.record_bridge_post(ctx.conn, ticket_id, "reply", message, at=ctx.now,
                                    dedupe_key=dedupe_key):
        return False
    params = {"message": message, "adminusername": ctx.settings.whmcs.admin_username,
              "status": status}
    outbox.enqueue(ctx.conn, action=REPLY, ticket_id=ticket_id, params=params,
                   key=f"reply:{dedupe_key or uuid.uuid4().hex}", now=ctx.now,
                   rank=CUSTOMER)
    return True


def post_note(ctx: HandlerContext, ticket_id: int, message: str, *, dedupe_key: str,
              rank: int = STAFF) -> bool:
    """Queue AddTicketNote once per ``dedupe_key``; True when queued now."""
    if not store.record_bridge_post(ctx.conn, ticket_id, "note", message, at=ctx.now,
                                    dedupe_key=dedupe_key):
        return False
    outbox.enqueue(ctx.conn, action=NOTE, ticket_id=ticket_id, params={"message": message},
                   key=f"note:{dedupe_key}", now=ctx.now, rank=rank)
    return True


def update_ticket(ctx: HandlerContext, ticket_id: int, *, key: str, rank: int = STAFF,
                  **fields: Any) -> bool:
    """Queue UpdateTicket with ``fields`` (priority, deptid, flag, message, …) once per
    ``key``; True when queued now."""
    return outbox.enqueue(ctx.conn, action=UPDATE_TICKET, ticket_id=ticket_id,
                          params={"fields": fields}, key=f"update:{key}", now=ctx.now,
                          rank=rank) is not None


def update_reply(ctx: HandlerContext, ticket_id: int, reply_id: int, message: str, *,
                 key: str) -> bool:
    """Queue UpdateTicketReply (replace a reply's text) once per ``key``."""
    return outbox.enqueue(ctx.conn, action=UPDATE_REPLY, ticket_id=ticket_id,
                          params={"replyid": int(reply_id), "message": message},
                          key=f"update-reply:{key}", now=ctx.now, rank=CUSTOMER) is not None
