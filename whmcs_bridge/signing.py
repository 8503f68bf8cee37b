"""Standard Webhooks signing and verification, as small pure functions.

Scheme (https://www.standardwebhooks.com): the signed content is ``"{id}.{timestamp}.{body}"``,
signed with HMAC-SHA256 under the key that ``whsec_<base64>`` decodes to, and sent as
``webhook-signature: v1,<base64>`` (several space-separated signatures allowed, so a sender can
sign with old and new secrets during rotation). Verification is constant-time, checks the
timestamp in both directions, and never raises anything but :class:`SignatureError` whatever the
headers contain, so a malformed header is a 401 and never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from typing import Any

from whmcs_bridge.errors import Unauthorized

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300


class SignatureError(Unauthorized):
    """The request is not proven to come from a holder of one of our secrets (401)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # short machine code, used as a metrics label

    def body(self) -> dict[str, Any]:
        # the reason is safe to show: it says which check failed, never a secret
        return {**super().body(), "reason": self.reason}


def secret_key(secret: str) -> bytes:
    """The HMAC key behind a ``whsec_`` secret (the prefix is optional, as in the reference lib)."""
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(raw)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``v1,<base64>`` signature for one message."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, msg_id: str, body: bytes,
                   timestamp: int | None = None) -> dict[str, str]:
    """Headers for a signed request: what the PHP module and the simulator send."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, body),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # plain dicts are case-sensitive; Werkzeug's Headers are not
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(name, "")
    return value.strip()


def verify(
    secrets: Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> str:
    """Verify a signed request and return its ``webhook-id``.

    Raises :class:`SignatureError` with a reason of ``missing_headers``, ``malformed_id``,
    ``bad_timestamp``, ``stale_timestamp``, ``future_timestamp``, ``malformed_signature`` or
    ``no_match``.
    """
    msg_id = _header(headers, "webhook-id")
    ts_raw = _header(headers, "webhook-timestamp")
    sig_header = _header(headers, "webhook-signature")
    if not msg_id or not ts_raw or not sig_header:
        raise SignatureError("missing_headers", "missing webhook-id, -timestamp or -signature")
    if len(msg_id) > 255:
        raise SignatureError("malformed_id", "webhook-id is longer than 255 characters")
    if not msg_id.isprintable():  # a NUL would be refused by PostgreSQL: a 503 retried forever
        raise SignatureError("malformed_id", "webhook-id holds control characters")
    try:
        ts = int(ts_raw)
    except ValueError:
        raise SignatureError("bad_timestamp", "webhook-timestamp is not unix seconds") from None
    current = time.time() if now is None else now
    if ts < current - tolerance:
        raise SignatureError("stale_timestamp", "webhook-timestamp is too old")
    if ts > current + tolerance:
        raise SignatureError("future_timestamp", "webhook-timestamp is in the future")

    candidates: list[bytes] = []
    for part in sig_header.split():
        version, sep, value = part.partition(",")
        if not sep or version != "v1" or "," in value:
            continue
        try:
            candidates.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not candidates:
        raise SignatureError("malformed_signature", "webhook-signature has no v1 signature")

    to_sign = f"{msg_id}.{ts}.".encode() + body
    matched = False
    for secret in secrets:
        try:
            key = secret_key(secret)
        except (binascii.Error, ValueError):
            continue
        expected = hmac.new(key, to_sign, hashlib.sha256).digest()
        for candidate in candidates:
            # keep comparing after a match so timing does not reveal which secret matched
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("no_match", "signature does not match")
    return msg_id
