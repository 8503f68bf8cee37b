"""The simulator's Flask app: ``POST /includes/api.php`` the way WHMCS answers it.

Like WHMCS's ``api.php`` it reads the whole request: ``action`` and the credential may come
in the query string as well as in the form body (the body wins when both have a key, as in
PHP's ``$_REQUEST``).

Order of checks, as WHMCS: injected faults, a banned IP (``IP Banned``), the IP
allow-list (403 ``Invalid IP <ip>`` unless an ``accesskey`` is sent: a wrong one answers
``Invalid Access Key``), credentials (``identifier``+``secret``, the same pair in
``username``+``password``, or legacy ``username`` + md5 of the admin password; an unknown or
missing identifier answers ``Invalid or missing credentials``, a wrong secret for a known one
``Authentication Failed``), a disabled admin (``Administrator Account Disabled``), the
credential's API role (``Invalid Permissions: API action "<action>" is not allowed``), the
action (``Command Not Found``), then the action itself. Every wrong identifier, secret or
access key is a failed login: the third within 30 minutes bans the caller's IP for 15
minutes (``SimConfig.ban_*``; ``DELETE /_sim/bans`` lifts bans). Every response carries an
``X-Simulator`` header, and ``GET /`` says plainly that this is a test double. An API answer
leaves ``SimConfig.latency_ms`` after its request arrived (the simulator's work included).

``/_sim/*`` endpoints are for tests and the demo only (recorded e-mails, notifications, posted
events, fault injection, and the page actions of :mod:`.ui`).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
import time
from typing import Any

from flask import Flask, Response, jsonify, request

from whmcs_bridge.api.encoding import decode_params
from whmcs_bridge.sim import ui
from whmcs_bridge.sim.actions import ACTIONS, ActionError, Caller, Params
from whmcs_bridge.sim.config import (
    ANSWER_AT_KEY,
    API_PATH,
    ARRIVED_KEY,
    BANNER,
    ApiCredential,
    SimConfig,
)
from whmcs_bridge.sim.state import SimState

HEADER_BANNER = BANNER.replace("\u2014", "-")  # HTTP headers are latin-1
_HTML_ERROR = ("<!DOCTYPE html><html><head><title>{code} {title}</title></head><body>"
               "<h1>{title}</h1><p>{banner}: injected fault.</p></body></html>")


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response


def _error(message: str, status: int = 200) -> Response:
    return _json({"result": "error", "message": message}, status)


UNKNOWN_CREDENTIALS = "Invalid or missing credentials"
WRONG_SECRET = "Authentication Failed"


def _authenticate(config: SimConfig, form: dict[str, Any]) -> ApiCredential | str:
    """The credential the request names, or WHMCS's refusal text."""
    identifier = form.get("identifier") or form.get("username") or ""
    secret = form.get("secret") or form.get("password") or ""
    if not isinstance(identifier, str) or not isinstance(secret, str) or not identifier:
        return UNKNOWN_CREDENTIALS
    known = False
    for cred in config.credentials:
        if hmac.compare_digest(cred.identifier, identifier):
            known = True
            if hmac.compare_digest(cred.secret, secret):
                return cred
        legacy = config.legacy_admin_password
        if legacy and cred.allowed_actions is None and identifier == cred.admin_username:
            known = True
            digest = hashlib.md5(legacy.encode(), usedforsecurity=False).hexdigest()
            if hmac.compare_digest(digest, secret.lower()):
                return cred
    return WRONG_SECRET if known else UNKNOWN_CREDENTIALS


def _fault_response(state: SimState, kind: str) -> Response | None:
    """The response for an injected fault, or None to go on (after a delay or a notice)."""
    if kind in ("500", "502", "503", "429"):
        code = int(kind)
        title = {500: "Internal Server Error", 502: "Bad Gateway",
                 503: "Service Unavailable", 429: "Too Many Requests"}[code]
        response = Response(_HTML_ERROR.format(code=code, title=title, banner=BANNER), code,
                            mimetype="text/html")
        if code == 429:
            response.headers["Retry-After"] = "0"
        return response
    if kind == "html":
        return Response(_HTML_ERROR.format(code=200, title="Login", banner=BANNER), 200,
                        mimetype="text/html")
    if kind == "empty":
        return Response(b"", 200, mimetype="application/json")
    if kind == "garbage":
        return Response("result=success;not json", 200, mimetype="text/plain")
    if kind == "error_json_500":
        return _error("Simulated internal error", 500)
    if kind == "timeout":
        time.sleep(state.config.timeout_fault_seconds)
        return None
    return None


def create_sim_app(config: SimConfig | None = None, *, state: SimState | None = None) -> Flask:
    """The simulator app over a fresh :class:`SimState` (or the one given)."""
    if state is None:
        state = SimState(config or SimConfig())
    config = state.config
    app = Flask("whmcs_bridge.sim")
    app.config["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024  # attachments arrive base64 in forms
    app.extensions["whmcs_sim"] = state
    fault_rng = random.Random(f"faults:{config.seed}")
    rng_lock = threading.Lock()

    @app.after_request
    def _label(response: Response) -> Response:
        response.headers["X-Simulator"] = HEADER_BANNER
        return response

    @app.get("/")
    def index() -> Response:
        return Response(
            f"<!DOCTYPE html><html><head><title>{BANNER}</title></head><body>"
            f"<h1>{BANNER}</h1><p>This server imitates WHMCS's <code>{API_PATH}</code> for "
            "tests and demos. It holds seeded sample data, no real customers, and is not "
            f"WHMCS.</p><p>Tickets: {len(state.tickets)}, clients: {len(state.clients)}, "
            f"seed: {config.seed}.</p></body></html>", mimetype="text/html")

    @app.route(API_PATH, methods=["GET", "PUT", "DELETE", "PATCH"])
    def api_wrong_method() -> Response:
        return _error(f"{BANNER}: the API takes POST only", 405)

    @app.post(API_PATH)
    def api() -> Response:
        # latency_ms is the round trip as WHMCS's server would show it: the answer leaves
        # latency_ms after the request arrived, the simulator's own work inside it (as a
        # WHMCS's response time holds its PHP), so a benchmark's floor of round trips ×
        # latency is what this double really allows
        due = request.environ.get(ARRIVED_KEY, time.monotonic()) + config.latency_ms / 1000.0
        try:
            return _api()
        finally:
            if config.latency_ms:
                deferred = request.environ.get(ANSWER_AT_KEY)
                if deferred is not None:
                    deferred.append(due)  # the server waits, the answer built
                else:
                    time.sleep(max(0.0, due - time.monotonic()))

    def _api() -> Response:
        # the whole request, query string first so the body wins (PHP's $_REQUEST)
        form = decode_params([*request.args.items(multi=True),
                              *request.form.items(multi=True)])
        raw_action = form.get("action")
        action = raw_action if isinstance(raw_action, str) else ""
        with state.lock:
            state.calls[action] += 1
            if request.headers.get("Cookie"):
                state.calls["_with_cookie"] += 1  # an API client should never send one
        kind = state.take_fault(action)
        if kind is None and config.error_rate:
            with rng_lock:
                if fault_rng.random() < config.error_rate:
                    kind = fault_rng.choice(config.random_faults)
        notice = kind == "notice"
        if kind and not notice:
            response = _fault_response(state, kind)
            if response is not None:
                return response
        response = _dispatch(state, form, action)
        if notice:
            body = (b"<br />\n<b>Notice</b>:  Undefined index: foo in "
                    b"/var/www/whmcs/includes/api.php on line 1<br />\n" + response.get_data())
            response.set_data(body)
        return response

    @app.get("/_sim/emails")
    def sim_emails() -> Response:
        with state.lock:
            return _json({"note": BANNER, "emails": list(state.sent_emails),
                          "admin_emails": list(state.admin_emails),
                          "notifications": list(state.notifications)})

    @app.get("/_sim/events")
    def sim_events() -> Response:
        with state.lock:
            return _json({"note": BANNER, "events": list(state.posted_events)})

    @app.get("/_sim/state")
    def sim_state() -> Response:
        with state.lock:
            return _json({"note": BANNER, "tickets": len(state.tickets),
                          "clients": len(state.clients), "version": state.version,
                          "calls": dict(state.calls),
                          "logins": list(state.logins), "faults": list(state.faults)})

    @app.post("/_sim/faults")
    def sim_faults() -> Response:
        body = request.get_json(silent=True) or {}
        kind = body.get("kind")
        if not isinstance(kind, str) or not kind:
            return _json({"errors": {"kind": ["required"]}}, 400)
        count = body.get("count", 1)
        if not isinstance(count, int) or count < 1:
            return _json({"errors": {"count": ["must be a positive integer"]}}, 400)
        state.inject_fault(kind, count=count, action=body.get("action"))
        return _json({"ok": True}, 201)

    @app.delete("/_sim/bans")
    def sim_lift_bans() -> Response:
        with state.lock:
            state.lift_bans()
        return _json({"ok": True})

    @app.delete("/_sim/faults")
    def sim_clear_faults() -> Response:
        state.clear_faults()
        return _json({"ok": True})

    ui.register(app, state)  # /_sim/ui/*: sign-up and ticket split (pages, not the API)
    return app


def _refuse_login(state: SimState, remote: str, message: str) -> Response:
    """A failed login: counted towards the IP ban, then answered."""
    with state.lock:
        state.record_auth_failure(remote)
    return _error(message, state.config.auth_failure_status)


def _dispatch(state: SimState, form: dict[str, Any], action: str) -> Response:
    config = state.config
    remote = request.remote_addr or ""
    with state.lock:
        banned = state.is_banned(remote)
    if banned:
        return _error("IP Banned", config.auth_failure_status)
    if config.allowed_ips is not None and remote not in config.allowed_ips:
        key = form.get("accesskey")
        if not isinstance(key, str) or not key:
            return _error(f"Invalid IP {remote}", 403)
        if not (config.access_key and hmac.compare_digest(key, config.access_key)):
            return _refuse_login(state, remote, "Invalid Access Key")
    cred = _authenticate(config, form)
    if isinstance(cred, str):
        return _refuse_login(state, remote, cred)
    if cred.disabled:
        return _error("Administrator Account Disabled", config.auth_failure_status)
    if cred.allowed_actions is not None and action not in cred.allowed_actions:
        return _error(f'Invalid Permissions: API action "{action.lower()}" is not allowed',
                      config.permission_status)
    handler = ACTIONS.get(action)
    if handler is None:
        return _error("Command Not Found", config.unknown_action_status)
    caller = Caller(admin_username=cred.admin_username,
                    admin_id=1 + config.credentials.index(cred))
    try:
        with state.lock:
            payload = handler(state, Params(form), caller)
    except ActionError as exc:
        return _error(exc.message, exc.status)
    response = _json(payload)
    if action == "ValidateLogin":  # WHMCS starts a session for the customer, as docs warn
        response.set_cookie("WHMCSsimSession", f"sim{state.version}{len(state.logins)}",
                            httponly=True)
    return response
