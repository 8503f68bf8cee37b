"""The verification block of the staff API (CONTRACTS: ``status.for_ticket``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from whmcs_bridge.verification import (
    LINK,
    LOCKED,
    METHODS,
    NOT_REQUIRED,
    REQUIRED,
    STRONG_METHODS,
    VERIFIED,
    messages,
)
from whmcs_bridge.verification.store import OW, R, get_request, owners_of, split_changes


def staff_methods(state: str, *, link_available: bool) -> tuple[str, ...]:
    """The proofs staff can still record for a ticket in ``state`` (the panel offers these
    and nothing else): every method while proof is required, only the ones that cannot be
    guessed once the client is locked out (the service refuses the others), none once the
    ticket is verified, refused or never needed proof. ``link`` needs ``server.public_url``."""
    if state == REQUIRED:
        offered: tuple[str, ...] = METHODS
    elif state == LOCKED:
        offered = tuple(m for m in METHODS if m in STRONG_METHODS)
    else:
        return ()
    return tuple(m for m in offered if m != LINK or link_available)


def for_ticket(conn: Connection, ticket_id: int) -> dict[str, Any]:
    """``{"required", "state", "method", "verified_at", "owner"}`` for one ticket (store
    only); ``owner`` (``{"state", "clients", "warning"}``) only when proof is required."""
    row = get_request(conn, ticket_id)
    return _block(row, owners_of(conn, ticket_id) if row is not None else {})


def for_tickets(conn: Connection, ticket_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """:func:`for_ticket` for many tickets in one query (the dashboard lists every open
    ticket); callers keep ``ticket_ids`` to a few hundred per call."""
    ids = list(ticket_ids)
    rows = {r.ticket_id: r for r in conn.execute(select(R).where(R.c.ticket_id.in_(ids)))
            } if ids else {}
    found: dict[int, dict[int, frozenset[str]]] = {}
    if ids:
        for r in conn.execute(select(OW.c.ticket_id, OW.c.client_id, OW.c.source)
                              .where(OW.c.ticket_id.in_(ids))):
            found.setdefault(r.ticket_id, {})[r.client_id] = split_changes(r.source)
    return {tid: _block(rows.get(tid), found.get(tid, {})) for tid in ids}


def _block(row: Any | None, candidates: dict[int, frozenset[str]]) -> dict[str, Any]:
    if row is None or row.state == NOT_REQUIRED:
        return {"required": False, "state": NOT_REQUIRED, "method": None, "verified_at": None}
    verified = row.state == VERIFIED
    owner_state = row.owner or ("ticket" if row.client_id else "unmatched")
    clients = sorted(set(candidates) | ({row.client_id} if row.client_id else set()))
    return {
        "required": True,
        "state": row.state,
        "method": row.method if verified else None,
        "verified_at": row.verified_at.isoformat() if verified and row.verified_at else None,
        "owner": {"state": owner_state, "clients": clients,
                  # what staff must notice: nobody's gates are held, or several clients' are
                  "warning": messages.OWNER_TEXTS["en"][owner_state]
                  if owner_state in ("unmatched", "ambiguous") else None},
    }
