"""The verification block of the staff API (CONTRACTS: ``status.for_ticket``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from whmcs_bridge.verification import NOT_REQUIRED, VERIFIED
from whmcs_bridge.verification.store import get_request


def for_ticket(conn: Connection, ticket_id: int) -> dict[str, Any]:
    """``{"required", "state", "method", "verified_at"}`` for one ticket (store only)."""
    row = get_request(conn, ticket_id)
    if row is None or row.state == NOT_REQUIRED:
        return {"required": False, "state": NOT_REQUIRED, "method": None, "verified_at": None}
    verified = row.state == VERIFIED
    return {
        "required": True,
        "state": row.state,
        "method": row.method if verified else None,
        "verified_at": row.verified_at.isoformat() if verified and row.verified_at else None,
    }
