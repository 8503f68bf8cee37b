"""Links into WHMCS's admin area: notifications and the dashboard send staff to the same page."""

from __future__ import annotations

from whmcs_bridge.digits import as_id


def admin_ticket_url(admin_url: str | None, ticket_id: object) -> str | None:
    """The ticket's page in WHMCS's admin area; None without ``whmcs.admin_url`` or without a
    ticket id (a notification about a client, say)."""
    ident = as_id(ticket_id)
    if not admin_url or not ident:
        return None
    return f"{admin_url.rstrip('/')}/supporttickets.php?action=view&id={ident}"
