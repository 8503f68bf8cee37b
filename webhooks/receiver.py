"""``POST /webhooks/whmcs``: the signed event receiver (design.md "Signed requests", "Event
envelope").

Checks run in this order, cheapest refusal first and nothing parsed before it is authenticated:

1. **size** → 413: the body is read with Flask's ``MAX_CONTENT_LENGTH`` (also enforced on a
   chunked body without ``Content-Length``), before any work is spent on it;
2. **signature** → 401: the raw bytes are verified (``webhook-id``/``-timestamp``/``-signature``,
   timestamp within the tolerance both ways, any configured secret); an unauthenticated caller
   learns nothing about what we would have thought of its content;
3. **content type** → 415: ``application/json`` (or ``application/*+json``);
4. **JSON** → 400 ``{"errors": {"body": [...]}}`` (:func:`whmcs_bridge.json_body.parse`: also
   nesting over 32 levels);
5. **envelope and hook data** → 400 ``{"errors": {"<field path>": [...]}}`` (``data.ticketid``);
6. **store**: committed durably, *then* 202 (new), 200 (``webhook-id`` already stored, nothing
   done twice) or 202 ``ignored`` (a hook the bridge does not handle, stored but never
   processed). A commit that fails answers 503 so WHMCS's module spools and retries.

Commits go through a :class:`~whmcs_bridge.store.ingest.GroupCommitter` (one writer thread
per process batching concurrent requests into one transaction) unless ``[ingest]
group_commit = false``. Batching needs several requests in flight per process, so the server
runs gunicorn's gevent workers: see :func:`whmcs_bridge.server.receiver_options`.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from whmcs_bridge import json_body
from whmcs_bridge.digits import is_digits
from whmcs_bridge.event_schemas import EnvelopeError, is_handled, load_envelope
from whmcs_bridge.signing import SignatureError
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.store.cooperative import current_mode
from whmcs_bridge.store.ingest import GroupCommitter, NewEvent, StoreUnavailable, store_one
from whmcs_bridge.verification.intake import scrub_envelope
from whmcs_bridge.webhooks import metrics
from whmcs_bridge.webhooks.auth import verify_signed_request
from whmcs_bridge.webhooks.errors import json_response
from whmcs_bridge.webhooks.state import bridge, state_of

log = logging.getLogger(__name__)

bp = Blueprint("receiver", __name__)

_COMMITTER_KEY = "whmcs_bridge.ingest"

SOURCE_MAX = 100  # events.source column width


@bp.record_once
def _set_up(state: Any) -> None:
    """One committer per app (its writer thread starts on first use, in each process)."""
    app: Flask = state.app
    parts = state_of(app)
    ingest = parts.settings.ingest
    if ingest.group_commit:
        app.extensions[_COMMITTER_KEY] = GroupCommitter(parts.engine, max_batch=ingest.max_batch)


def _commit(event: NewEvent) -> bool:
    committer: GroupCommitter | None = current_app.extensions.get(_COMMITTER_KEY)
    if committer is None:
        return current_mode().call(store_one, bridge().engine, event)
    return committer.submit(event, timeout=bridge().settings.ingest.commit_timeout_seconds)


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json"))


def _read_body() -> bytes:
    """The raw body, refusing more than ``MAX_CONTENT_LENGTH`` bytes with a 413.

    With a ``Content-Length`` Werkzeug refuses an over-limit body before reading it. A chunked
    body has none; Werkzeug would then silently *truncate* at the limit (and the signature
    check would answer 401), so that case is read here, one byte past the limit at most.
    """
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    environ = request.environ
    stream = environ.get("wsgi.input")
    declared = environ.get("CONTENT_LENGTH", "")
    if stream is not None and is_digits(declared):
        # the usual case, read straight from the server's stream: Werkzeug's get_data would
        # wrap it in a limiting stream and copy it again, measurable at thousands per second
        # 19+ digits is past any limit (and int() refuses over 4300 digits: a ValueError)
        length = int(declared) if len(declared) <= 18 else None
        if length is None or (limit is not None and length > limit):
            raise RequestEntityTooLarge()
        return stream.read(length) if length else b""
    if (limit is None or request.content_length is not None or stream is None
            or "wsgi.input_terminated" not in environ):
        return request.get_data(cache=False)
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(min(64 * 1024, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge()
    return b"".join(chunks)


@bp.post("/webhooks/whmcs")
def receive() -> Any:
    # Each refusal is raised for the app's one error handler to answer
    # (whmcs_bridge.webhooks.errors); what stays here is counting it, per outcome.
    try:
        body = _read_body()
    except RequestEntityTooLarge:
        metrics.count_received(None, "too_large")
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        raise RequestEntityTooLarge(f"body over the limit of {limit} bytes") from None

    try:
        event_id = verify_signed_request(body)
    except SignatureError as exc:
        metrics.count_signature_failure(exc.reason)
        metrics.count_received(None, "unauthorized")
        log.warning("webhook refused: %s", exc.reason,
                    extra={"reason": exc.reason, "remote": request.remote_addr})
        raise

    if not _is_json(request.mimetype):
        metrics.count_received(None, "unsupported_media_type")
        raise UnsupportedMediaType(
            f"expected application/json, got {request.mimetype or 'nothing'}")

    try:
        parsed = json_body.parse(body)
    except json_body.BodyError:
        metrics.count_received(None, "invalid")
        raise

    try:
        payload = load_envelope(parsed)
    except EnvelopeError:
        hook_type = parsed.get("type") if isinstance(parsed, dict) else None
        metrics.count_received(hook_type if isinstance(hook_type, str) else None, "invalid")
        raise
    # credentials typed into ticket text are masked before anything is stored; only their
    # kinds and keyed fingerprints travel on, in payload["redactions"]
    payload = scrub_envelope(bridge().settings, payload)

    hook_type = payload["type"]
    handled = is_handled(hook_type)
    event = NewEvent(
        id=event_id,
        type=hook_type,
        payload=payload,
        received_at=utcnow(),
        source=(request.headers.get("User-Agent") or "")[:SOURCE_MAX] or None,
        ignored=not handled,
    )
    try:
        new = _commit(event)
    except StoreUnavailable as exc:  # 503 with Retry-After: WHMCS's module spools and retries
        metrics.count_received(hook_type, "unavailable")
        log.error("webhook %s not stored: %s", event_id, exc)
        raise

    if not new:
        metrics.count_received(hook_type, "duplicate")
        return json_response({"status": "duplicate", "id": event_id}, 200)
    outcome = "accepted" if handled else "ignored"
    metrics.count_received(hook_type, outcome)
    return json_response({"status": outcome, "id": event_id}, 202)
