"""Reads and writes of the verification tables (SQLAlchemy Core, caller's transaction)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from whmcs_bridge.store.base import dialect_insert
from whmcs_bridge.verification import (
    GUESSABLE_METHODS,
    LOCKED,
    PENDING,
    REFUSED,
    REQUIRED,
    STRONG_METHODS,
    VERIFIED,
)
from whmcs_bridge.verification.tables import (
    leaked_secrets,
    verification_attempts,
    verification_nonces,
    verification_owners,
    verification_requests,
)

R = verification_requests
OW = verification_owners
#: States in which a request blocks its candidate owners' gates too (a verified request only
#: ever authorises the client it was verified for: ``R.client_id``).
BLOCKING_STATES = (REQUIRED, LOCKED, REFUSED)


def join_changes(kinds: Iterable[str]) -> str:
    return ",".join(sorted(set(kinds)))


def split_changes(value: str | None) -> frozenset[str]:
    return frozenset(k for k in (value or "").split(",") if k)


def get_request(conn: Connection, ticket_id: int) -> Any | None:
    return conn.execute(select(R).where(R.c.ticket_id == ticket_id)).first()


def the_request(conn: Connection, ticket_id: int) -> Any:
    """The ticket's request, which the caller has made sure exists (created or locked it)."""
    req = get_request(conn, ticket_id)
    if req is None:
        raise LookupError(f"ticket {ticket_id} has no verification request")
    return req


def create_request(conn: Connection, *, ticket_id: int, client_id: int | None, tid: str | None,
                   changes: Iterable[str], channel: str | None, language: str, state: str,
                   now: datetime, deadline_at: datetime | None = None,
                   reasons: str | None = None) -> bool:
    """Insert the ticket's request unless it has one; True when this call created it.

    An upsert (``ON CONFLICT DO NOTHING``), not read-then-insert: two first proofs of one
    ticket arrive together, and the second must find the first's row, not fail on the key.
    """
    stmt = dialect_insert(conn)(R).values(
        ticket_id=ticket_id, client_id=client_id or None, tid=tid, changes=join_changes(changes),
        channel=channel, language=language, state=state, reasons=reasons, created_at=now,
        updated_at=now, deadline_at=deadline_at,
    ).on_conflict_do_nothing(index_elements=[R.c.ticket_id])
    return conn.execute(stmt).rowcount == 1


#: The advisory-lock class of "proofs of one client" (PostgreSQL's two-key advisory locks;
#: the second key is the client id). Any constant no other lock of the bridge uses.
_CLIENT_PROOF_LOCK = 0x5642


def lock_client(conn: Connection, client_id: int) -> None:
    """Hold "proofs of ``client_id``" until the caller's transaction ends, so that reading
    the failure count and recording an attempt happen as one step per client.

    PostgreSQL: a transaction-scoped advisory lock (nothing to clean up, released at commit or
    rollback). SQLite: nothing to do, every write transaction already holds the database's
    single write lock from its first statement (``BEGIN IMMEDIATE``, :mod:`whmcs_bridge.store
    .engine`)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_CLIENT_PROOF_LOCK, client_id)))


def update_request(conn: Connection, ticket_id: int, now: datetime, **values: Any) -> None:
    if "changes" in values and not isinstance(values["changes"], str):
        values["changes"] = join_changes(values["changes"])
    conn.execute(update(R).where(R.c.ticket_id == ticket_id).values(updated_at=now, **values))


def open_requests_for_client(conn: Connection, client_id: int) -> list[Any]:
    """The client's requests whose ticket is not closed (what gates decide from): its own
    (``client_id``), and those that name it as a possible owner while they block."""
    candidate = R.c.ticket_id.in_(select(OW.c.ticket_id).where(OW.c.client_id == client_id))
    return list(conn.execute(
        select(R.c.ticket_id, R.c.tid, R.c.state, R.c.changes, R.c.expires_at, R.c.language,
               R.c.owner)
        .where(or_(R.c.client_id == client_id,
                   and_(candidate, R.c.state.in_(BLOCKING_STATES))),
               R.c.closed_at.is_(None))
        .order_by(R.c.ticket_id)
    ))


def owners_of(conn: Connection, ticket_id: int) -> dict[int, frozenset[str]]:
    """Client id → how it was found, for one request."""
    rows = conn.execute(select(OW.c.client_id, OW.c.source).where(OW.c.ticket_id == ticket_id)
                        .order_by(OW.c.client_id))
    return {r.client_id: split_changes(r.source) for r in rows}


def set_owners(conn: Connection, ticket_id: int, candidates: dict[int, frozenset[str]],
               now: datetime) -> None:
    """Replace the request's candidate owners with ``candidates``."""
    conn.execute(delete(OW).where(OW.c.ticket_id == ticket_id))
    for cid, sources in candidates.items():
        conn.execute(OW.insert().values(ticket_id=ticket_id, client_id=cid,
                                       source=join_changes(sources), found_at=now))


def pending_owner_requests(conn: Connection, limit: int = 50) -> list[Any]:
    """Open requests whose owner lookup has not run yet, oldest first."""
    return list(conn.execute(
        select(R).where(R.c.owner == "pending", R.c.closed_at.is_(None))
        .order_by(R.c.created_at).limit(limit)))


def overdue_requests(conn: Connection, states: Iterable[str], now: datetime) -> list[Any]:
    return list(conn.execute(
        select(R).where(R.c.state.in_(list(states)), R.c.deadline_at <= now,
                        R.c.closed_at.is_(None)).order_by(R.c.deadline_at)
    ))


def record_attempt(conn: Connection, *, ticket_id: int | None, client_id: int | None,
                   method: str, channel: str | None, actor: str | None, outcome: str,
                   reason: str | None, now: datetime, fingerprint: str | None = None,
                   reference: str | None = None) -> int:
    """Append one attempt to the audit; returns its id."""
    result = conn.execute(verification_attempts.insert().values(
        ticket_id=ticket_id, client_id=client_id, method=method, channel=channel, actor=actor,
        outcome=outcome, reason=reason, reference=reference, fingerprint=fingerprint, at=now,
    ))
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row always has one
    return int(key[0])


def resolve_attempt(conn: Connection, attempt_id: int, *, outcome: str, reason: str | None,
                    fingerprint: str | None = None) -> None:
    """Give a ``pending`` attempt its outcome once WHMCS has answered."""
    A = verification_attempts
    conn.execute(update(A).where(A.c.id == attempt_id).values(
        outcome=outcome, reason=reason, fingerprint=fingerprint))


def attempts_for_ticket(conn: Connection, ticket_id: int) -> list[Any]:
    A = verification_attempts
    return list(conn.execute(select(A).where(A.c.ticket_id == ticket_id).order_by(A.c.id)))


def attempt_with_fingerprint(conn: Connection, ticket_id: int, fingerprint: str) -> bool:
    """Whether the ticket's audit already holds an attempt with this fingerprint."""
    A = verification_attempts
    return conn.execute(select(A.c.id).where(A.c.ticket_id == ticket_id,
                                             A.c.fingerprint == fingerprint).limit(1)
                        ).first() is not None


def last_strong_success(conn: Connection, client_id: int) -> datetime | None:
    """When the client last proved ownership in a way that cannot be guessed (resets lockout)."""
    A = verification_attempts
    return conn.execute(
        select(func.max(A.c.at)).where(A.c.client_id == client_id, A.c.outcome == VERIFIED,
                                       A.c.method.in_(sorted(STRONG_METHODS)))
    ).scalar()


def failures_since(conn: Connection, client_id: int, since: datetime, *,
                   in_flight: bool = False) -> int:
    """Failed guessable proofs for the client on any ticket and channel since ``since``;
    with ``in_flight``, also those reserved and still being checked (``pending``)."""
    A = verification_attempts
    outcomes = ["failed", PENDING] if in_flight else ["failed"]
    return conn.execute(
        select(func.count()).select_from(A).where(
            A.c.client_id == client_id, A.c.outcome.in_(outcomes), A.c.at > since,
            A.c.method.in_(sorted(GUESSABLE_METHODS)))
    ).scalar_one()


def add_nonce(conn: Connection, *, nonce: str, ticket_id: int, client_id: int,
              issued_at: datetime, expires_at: datetime) -> None:
    conn.execute(verification_nonces.insert().values(
        nonce=nonce, ticket_id=ticket_id, client_id=client_id, issued_at=issued_at,
        expires_at=expires_at))


def get_nonce(conn: Connection, nonce: str) -> Any | None:
    N = verification_nonces
    return conn.execute(select(N).where(N.c.nonce == nonce)).first()


def use_nonce(conn: Connection, nonce: str, now: datetime) -> bool:
    """Mark a nonce used; False if it was used already (or never issued). Atomic."""
    N = verification_nonces
    result = conn.execute(update(N).where(and_(N.c.nonce == nonce, N.c.used_at.is_(None)))
                          .values(used_at=now))
    return result.rowcount == 1


def add_leaked(conn: Connection, *, fingerprint: str, kind: str, client_id: int | None,
               ticket_id: int | None, now: datetime) -> None:
    L = leaked_secrets
    if conn.execute(select(L.c.fingerprint).where(L.c.fingerprint == fingerprint)).first():
        return
    conn.execute(L.insert().values(fingerprint=fingerprint, kind=kind, client_id=client_id,
                                   ticket_id=ticket_id, found_at=now))


def any_leaked(conn: Connection, fingerprints: Iterable[str]) -> bool:
    L = leaked_secrets
    prints = list(fingerprints)
    if not prints:
        return False
    return conn.execute(select(L.c.fingerprint).where(L.c.fingerprint.in_(prints))).first() \
        is not None


def delete_request(conn: Connection, ticket_id: int) -> None:
    """Forget a request and its owners (a ``not_required`` one about to be opened again)."""
    conn.execute(delete(OW).where(OW.c.ticket_id == ticket_id))
    conn.execute(delete(R).where(R.c.ticket_id == ticket_id))


def follow_ticket_client(conn: Connection, ticket_id: int, client_id: int | None,
                         now: datetime) -> bool:
    """The ticket's client became known or changed (an event, a sync): the request is that
    client's from now on. Other candidates found from the sender or domains stay blocked; a
    verification made for a different client no longer covers the request. True if changed."""
    req = get_request(conn, ticket_id)
    if req is None or not client_id:
        return False
    found = owners_of(conn, ticket_id)
    if req.client_id == client_id and "ticket" in found.get(client_id, ()):
        return False
    found = {cid: src - {"ticket"} for cid, src in found.items()}
    found[client_id] = found.get(client_id, frozenset()) | {"ticket"}
    found = {cid: src for cid, src in found.items() if src}
    set_owners(conn, ticket_id, found, now)
    values: dict[str, Any] = {"client_id": client_id}
    if req.owner != "pending":
        values["owner"] = "ticket" if len(found) == 1 else "ambiguous"
    if req.state == VERIFIED and req.client_id and req.client_id != client_id:
        values.update(state=REQUIRED, method=None, verified_by=None, verified_at=None,
                      expires_at=None)
    update_request(conn, ticket_id, now, **values)
    return True


def follow_ticket_clients(conn: Connection, clients: dict[int, int], now: datetime) -> int:
    """:func:`follow_ticket_client` for many tickets (ticket id → its WHMCS client), in one
    read for the common case that none of them has a request; returns how many changed."""
    if not clients:
        return 0
    with_request = conn.execute(select(R.c.ticket_id).where(
        R.c.ticket_id.in_(list(clients)))).scalars().all()
    return sum(follow_ticket_client(conn, tid, clients[tid], now) for tid in with_request)
