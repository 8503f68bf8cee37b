"""Keys, keyed fingerprints and the signed single-use e-mail link.

Links are ``itsdangerous.URLSafeTimedSerializer`` tokens (HMAC-SHA256, a salt for this purpose
only, so no other token the bridge signs can be replayed as a link). Key rotation: the signer is
given ``old_secret_keys + [server.secret_key]``; itsdangerous signs with the last and accepts
any. A token names one ticket, one client, the requested change and a random nonce; the nonce
row in the store makes it usable once.

Fingerprints are HMAC-SHA256 of a value under the current key, with a purpose prefix, so a
database dump reveals nothing (even 4 card digits cannot be brute-forced without the key).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from whmcs_bridge.errors import BadRequest, Conflict
from whmcs_bridge.settings import Settings
from whmcs_bridge.signing import secret_key

LINK_SALT = "whmcs-bridge.verification.link.v1"


class KeyNotConfigured(Conflict, RuntimeError):
    """``server.secret_key`` is needed for signed links. The staff API answers 409: the
    request is valid, this bridge cannot sign links until an admin sets the key."""


def signing_keys(settings: Settings) -> list[str]:
    """Link keys, oldest first, newest (``server.secret_key``) last."""
    current = settings.server.secret_key
    if not current:
        raise KeyNotConfigured("server.secret_key is not set; signed verification links need it "
                               "(set WHMCS_BRIDGE_SERVER__SECRET_KEY)")
    return [k.reveal() for k in settings.verification.old_secret_keys] + [current.reveal()]


def fingerprint_keys(settings: Settings) -> list[bytes]:
    """Keys for fingerprints, newest first. Falls back to the webhook secrets when no
    ``server.secret_key`` is set, so redaction works in every deployment."""
    try:
        return [k.encode() for k in reversed(signing_keys(settings))]
    except KeyNotConfigured:
        keys = [secret_key(s.reveal()) for s in settings.webhooks.secrets]
        if not keys:
            raise
        return keys


def fingerprints(settings: Settings, purpose: str, value: str) -> list[str]:
    """The value's fingerprint under every key (newest first) — for lookups across rotation."""
    msg = f"{purpose}\x00{value}".encode()
    return [hmac.new(k, msg, hashlib.sha256).hexdigest() for k in fingerprint_keys(settings)]


def fingerprint(settings: Settings, purpose: str, value: str) -> str:
    return fingerprints(settings, purpose, value)[0]


@dataclass(frozen=True)
class LinkClaims:
    ticket_id: int
    client_id: int
    changes: tuple[str, ...]
    nonce: str


class LinkError(BadRequest):
    """Why a link cannot approve anything: ``expired`` or ``invalid``. An expired link was
    genuinely ours, so its ``ticket_id`` is known (the page can speak the client's language)."""

    def __init__(self, reason: str, ticket_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ticket_id = ticket_id


def _serializer(settings: Settings, now: datetime) -> URLSafeTimedSerializer:
    """A serializer whose clock is ``now`` (the caller's clock, so tests and sweeps agree)."""
    stamp = int(now.timestamp())

    class _Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return stamp

    return URLSafeTimedSerializer(
        signing_keys(settings), salt=LINK_SALT, signer=_Signer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )


def issue(settings: Settings, *, ticket_id: int, client_id: int, changes: list[str],
          now: datetime) -> tuple[str, LinkClaims, datetime]:
    """A new token; the caller stores the nonce (store.add_nonce) in the same transaction."""
    nonce = secrets.token_urlsafe(24)
    claims = LinkClaims(ticket_id, client_id, tuple(sorted(changes)), nonce)
    payload = {"t": ticket_id, "c": client_id, "k": list(claims.changes), "n": nonce}
    token = _serializer(settings, now).dumps(payload)
    ttl = timedelta(minutes=settings.verification.link_ttl_minutes)
    return token, claims, now + ttl


def read(settings: Settings, token: str, *, now: datetime) -> LinkClaims:
    """Check signature and age; raise :class:`LinkError`. Single use is the store's job."""
    max_age = settings.verification.link_ttl_minutes * 60
    serializer = _serializer(settings, now)
    try:
        data: Any = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        ticket_id = None
        try:  # the signature was valid, only old: the payload is ours
            if exc.payload is not None:
                ticket_id = int(serializer.load_payload(exc.payload)["t"])
        except Exception:  # a best-effort hint for the page's language
            ticket_id = None
        raise LinkError("expired", ticket_id) from None
    except BadSignature:
        raise LinkError("invalid") from None
    try:
        return LinkClaims(int(data["t"]), int(data["c"]), tuple(data["k"]), str(data["n"]))
    except (KeyError, TypeError, ValueError):
        raise LinkError("invalid") from None
