"""Gates: ``POST /gates/<HookName>``, synchronous allow/refuse for account changes.

Signed like the receiver (Standard Webhooks headers); body is the event envelope plus a
top-level ``actor`` (CONTRACTS). The answer is exactly the design's Gates contract:
``200 {"allow": true}`` or ``200 {"allow": false, "reason", "message", "ticket_id"}``.
The decision reads the store only — one indexed query, no WHMCS call — because WHMCS waits
for it inside a customer's or an admin's page load. Bad requests get a 4xx naming the field;
the PHP module then applies its fail mode (closed by default).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import Engine
from werkzeug.exceptions import UnsupportedMediaType

from whmcs_bridge import json_body
from whmcs_bridge.digits import MAX_ID, as_id
from whmcs_bridge.errors import BadRequest, NotFound
from whmcs_bridge.signing import SignatureError
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.verification import policy, store
from whmcs_bridge.webhooks.auth import verify_signed_request
from whmcs_bridge.webhooks.state import bridge

bp = Blueprint("gates", __name__)
log = logging.getLogger("whmcs_bridge.gates")

ACTOR_TYPES = ("client", "masquerading_admin", "admin", "api", "system")


class BadGateRequest(BadRequest, ValueError):
    """A gate request the decision cannot read (400, naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


def _parse(hook: str, body: bytes) -> tuple[dict[str, Any], tuple[int, ...]]:
    """The envelope's ``actor`` and the clients the change may be about
    (:func:`policy.target_clients`; none only for a new client); :class:`BadGateRequest` (or
    the parser's :class:`~whmcs_bridge.json_body.BodyError`) names the bad field."""
    parsed = json_body.parse(body)
    if not isinstance(parsed, dict):
        raise BadGateRequest("body", "must be a JSON object")
    if parsed.get("type") not in (None, hook):
        raise BadGateRequest("type", f"does not match the URL's hook {hook!r}")
    data = parsed.get("data")
    if not isinstance(data, dict):
        raise BadGateRequest("data", "must be an object (the hook's $vars)")
    actor = parsed.get("actor")
    if actor is None:
        actor = {}
    if not isinstance(actor, dict):
        raise BadGateRequest("actor", "must be an object")
    if actor and actor.get("type") not in ACTOR_TYPES:
        raise BadGateRequest("actor.type", f"must be one of {', '.join(ACTOR_TYPES)}")
    cid = actor.get("client_id")
    if cid is not None and as_id(cid) is None:
        raise BadGateRequest("actor.client_id", f"must be an id (0 to {MAX_ID}) or null")
    clients = policy.target_clients(hook, data, actor)
    if not clients and (bad := policy.unreadable_client_key(data)):
        raise BadGateRequest("data.client_id", f"{bad} must be a client id (1 to {MAX_ID})")
    if not clients and hook != policy.NEW_CLIENT_HOOK:
        raise BadGateRequest("data.client_id", "the client being changed is unknown: send "
                                               "params.userid (module hooks) or userid")
    return actor, clients


def decide(engine: Engine, hook: str, actor: dict[str, Any], clients: tuple[int, ...],
           now: datetime, default_language: str) -> policy.GateDecision:
    """The store read and the pure decision: what WHMCS waits for once the request is parsed
    (``bench/gates.py`` times this function). One indexed query per candidate client (one in
    the usual case, none for a new client); read-only, so SQLite keeps concurrent reads."""
    requests: dict[int, list[Any]] = {}
    if clients:
        with engine.connect() as conn:
            conn = conn.execution_options(sqlite_readonly=True)
            for client_id in clients:
                requests[client_id] = store.open_requests_for_client(conn, client_id)
            conn.rollback()
    return policy.decide_gate(hook, actor, requests, now, default_language)


@bp.post("/gates/<hook>")
def gate(hook: str) -> Any:
    # refusals are raised for the app's one error handler (whmcs_bridge.webhooks.errors)
    body = request.get_data(cache=False)
    try:
        verify_signed_request(body)
    except SignatureError as exc:
        log.warning("gate refused unsigned request: %s", exc.reason)
        raise
    if hook not in policy.GATE_CHANGES:
        raise NotFound(f"{hook!r} is not a gate; gates: " + ", ".join(sorted(policy.GATE_CHANGES)))
    if not request.is_json:
        raise UnsupportedMediaType(
            f"expected application/json, got {request.mimetype or 'nothing'}")
    actor, clients = _parse(hook, body)
    state = bridge()
    decision = decide(state.engine, hook, actor, clients, utcnow(),
                      state.settings.verification.default_language)
    if not decision.allow:
        log.info("gate %s refused for clients %s (actor %s): %s (ticket %s)", hook,
                 list(clients), actor.get("type"), decision.reason, decision.ticket_id)
    elif decision.reason in ("new_client", "system"):
        log.info("gate %s allowed for clients %s (actor %s): %s", hook, list(clients),
                 actor.get("type"), decision.reason)
    return jsonify(decision.as_json()), 200
