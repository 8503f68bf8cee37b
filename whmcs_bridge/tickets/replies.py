"""What the bridge itself writes into WHMCS tickets.

Replies are posted as the configured admin (``whmcs.admin_username``) and remembered by the
hash of their text, so when WHMCS reports them back (``TicketAdminReply``, sync) they are
classified as the bridge's and never meet an SLA. Notes carry a dedupe key: the same note is
posted at most once however often the caller runs.
"""

from __future__ import annotations

from typing import Any

from whmcs_bridge.tickets import store


def post_bridge_reply(ctx: Any, ticket_id: int, message: str, *, status: str | None = None,
                      dedupe_key: str | None = None) -> bool:
    """AddTicketReply as the bridge; False (nothing posted) when ``dedupe_key`` was used."""
    if not store.record_bridge_post(ctx.conn, ticket_id, "reply", message, at=ctx.now,
                                    dedupe_key=dedupe_key):
        return False
    ctx.whmcs.add_ticket_reply(ticket_id, message,
                               adminusername=ctx.settings.whmcs.get("admin_username"),
                               status=status)
    return True


def post_note(ctx: Any, ticket_id: int, message: str, *, dedupe_key: str) -> bool:
    """AddTicketNote once per ``dedupe_key``; True when posted now."""
    if not store.record_bridge_post(ctx.conn, ticket_id, "note", message, at=ctx.now,
                                    dedupe_key=dedupe_key):
        return False
    ctx.whmcs.add_ticket_note(ticket_id, message)
    return True
