"""The verification block of the staff API (CONTRACTS: ``status.for_ticket``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from whmcs_bridge.verification import NOT_REQUIRED, VERIFIED
from whmcs_bridge.verification.store import R, get_request


def for_ticket(conn: Connection, ticket_id: int) -> dict[str, Any]:
    """``{"required", "state", "method", "verified_at"}`` for one ticket (store only)."""
    return _block(get_request(conn, ticket_id))


def for_tickets(conn: Connection, ticket_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """:func:`for_ticket` for many tickets in one query (the dashboard lists every open
    ticket); callers keep ``ticket_ids`` to a few hundred per call."""
    rows = {r.ticket_id: r for r in conn.execute(select(R).where(R.c.ticket_id.in_(
        list(ticket_ids))))} if ticket_ids else {}
    return {tid: _block(rows.get(tid)) for tid in ticket_ids}


def _block(row: Any | None) -> dict[str, Any]:
    if row is None or row.state == NOT_REQUIRED:
        return {"required": False, "state": NOT_REQUIRED, "method": None, "verified_at": None}
    verified = row.state == VERIFIED
    return {
        "required": True,
        "state": row.state,
        "method": row.method if verified else None,
        "verified_at": row.verified_at.isoformat() if verified and row.verified_at else None,
    }
