"""Verification tables. No proof is ever stored: attempts keep the outcome, method, channel,
staff member and at most a keyed fingerprint (HMAC) of the submitted value."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from whmcs_bridge.store.base import UTCDateTime, metadata
from whmcs_bridge.verification.proofs import REFERENCE_MAX

#: One row per ticket that asks for an account change.
verification_requests = Table(
    "verification_requests",
    metadata,
    Column("ticket_id", Integer, primary_key=True, autoincrement=False),
    Column("client_id", Integer, nullable=True),
    Column("tid", String(50), nullable=True),  # the ticket mask people see (ABC-123456)
    Column("changes", String(200), nullable=False),  # comma-separated change kinds
    Column("channel", String(20), nullable=True),
    Column("language", String(5), nullable=False),
    Column("state", String(20), nullable=False),
    Column("reasons", Text, nullable=True),  # which rules matched (for the staff note)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deadline_at", UTCDateTime, nullable=True),  # refusal due when still required
    Column("method", String(30), nullable=True),
    Column("verified_by", String(100), nullable=True),
    Column("verified_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),  # end of the verification's cover
    Column("locked_at", UTCDateTime, nullable=True),
    Column("refused_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),  # ticket closed: no longer blocks gates
    # how the owner was found (owners.OWNER_STATES): ticket | matched | ambiguous | unmatched,
    # or pending while the sender/domain lookup in WHMCS has not run yet
    Column("owner", String(20), nullable=True),
    Index("ix_verification_requests_client", "client_id"),
    Index("ix_verification_requests_state_deadline", "state", "deadline_at"),
)

#: Every client a request may belong to (the ticket's client, and clients whose e-mail or
#: domains match the sender or text): each one's gates see the request while it blocks.
verification_owners = Table(
    "verification_owners",
    metadata,
    Column("ticket_id", Integer, primary_key=True, autoincrement=False),
    Column("client_id", Integer, primary_key=True, autoincrement=False),
    Column("source", String(100), nullable=False),  # comma-separated: ticket,email,domain
    Column("found_at", UTCDateTime, nullable=False),
    Index("ix_verification_owners_client", "client_id"),
)

#: The audit trail of every proof attempt.
verification_attempts = Table(
    "verification_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("ticket_id", Integer, nullable=True),
    Column("client_id", Integer, nullable=True),
    Column("method", String(30), nullable=False),
    Column("channel", String(20), nullable=True),  # where the proof came in: cli|api|link|…
    Column("actor", String(100), nullable=True),  # staff member, or "client" for links
    Column("outcome", String(20), nullable=False),  # verified|failed|rejected|error
    Column("reason", String(100), nullable=True),  # machine code, never the value
    Column("reference", String(REFERENCE_MAX), nullable=True),  # in-person attestation ref
    Column("fingerprint", String(64), nullable=True),  # HMAC of the submitted value
    Column("at", UTCDateTime, nullable=False),
    Index("ix_verification_attempts_client_at", "client_id", "at"),
)

#: Single-use nonces of signed e-mail links.
verification_nonces = Table(
    "verification_nonces",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("ticket_id", Integer, nullable=False),
    Column("client_id", Integer, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

#: Fingerprints of secrets seen in ticket text: never accepted as proof afterwards.
leaked_secrets = Table(
    "leaked_secrets",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),  # password | card_last4
    Column("client_id", Integer, nullable=True),
    Column("ticket_id", Integer, nullable=True),
    Column("found_at", UTCDateTime, nullable=False),
)
