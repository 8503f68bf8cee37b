"""Request authentication shared by blueprints: staff bearer tokens and signed requests."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, request

from whmcs_bridge.signing import SignatureError, verify
from whmcs_bridge.webhooks.state import bridge


def token_is_valid(token: str | None) -> bool:
    """Constant-time check of a staff token against every configured token."""
    if not token:
        return False
    ok = False
    for configured in bridge().settings.api.tokens:
        ok |= hmac.compare_digest(configured.reveal().encode(), token.encode())
    return ok


def token_name(token: str | None) -> str | None:
    """Who a valid staff token stands for, as the audit records it: the part before the first
    ``:`` when the configured token is written ``name:secret`` (the whole string is still the
    bearer), else ``token N``, its place in ``api.tokens`` from 1. None when not configured."""
    if not token:
        return None
    found = None
    for n, configured in enumerate(bridge().settings.api.tokens, 1):
        value = configured.reveal()
        if hmac.compare_digest(value.encode(), token.encode()):
            name, sep, _ = value.partition(":")
            found = name[:40] if sep and name else f"token {n}"
    return found


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Staff API guard: ``Authorization: Bearer <token>`` or 401."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not token_is_valid(bearer_token()):
            abort(401, description="missing or invalid bearer token")
        return view(*args, **kwargs)

    return wrapper


#: The Standard Webhooks headers as the WSGI environ names them.
_SIGNATURE_HEADERS = (("webhook-id", "HTTP_WEBHOOK_ID"),
                      ("webhook-timestamp", "HTTP_WEBHOOK_TIMESTAMP"),
                      ("webhook-signature", "HTTP_WEBHOOK_SIGNATURE"))


def verify_signed_request(body: bytes) -> str:
    """Verify the Standard Webhooks headers of the current request; return the webhook-id.

    Raises :class:`SignatureError` (callers turn it into a 401 and count it).
    """
    settings = bridge().settings
    secrets = [s.reveal() for s in settings.webhooks.secrets]
    if not secrets:
        raise SignatureError("not_configured", "no webhook secret is configured")
    environ = request.environ
    # the three headers straight from the WSGI environ: Werkzeug's case-insensitive header
    # view costs more than the HMAC on this path
    headers = {name: environ.get(key, "") for name, key in _SIGNATURE_HEADERS}
    return verify(secrets, headers, body, tolerance=settings.webhooks.tolerance_seconds)
