"""The SLA dashboard (``GET /dashboard``): staff sign in with an API token, kept in a session
cookie signed with itsdangerous, or send ``Authorization: Bearer``.

The cookie holds an HMAC fingerprint of the token, never the token, and is checked against the
tokens configured *now*, so removing a token from settings also ends its sessions. Without
``server.secret_key`` an ephemeral key is generated at start (sessions then end on restart,
and each gunicorn process has its own key: set the key in production).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadSignature, URLSafeTimedSerializer

import whmcs_bridge.dashboard as dashboard_pkg
from webhooks.app import bridge
from webhooks.auth import bearer_token, token_is_valid
from whmcs_bridge.dashboard import charts, i18n
from whmcs_bridge.dashboard.data import LEVELS, SLA_ORDER, WINDOWS
from whmcs_bridge.dashboard.source import load_dashboard

log = logging.getLogger(__name__)

bp = Blueprint("dashboard", __name__,
               template_folder=str(Path(dashboard_pkg.__file__).parent / "templates"))

SESSION_COOKIE = "wb_session"
LANG_COOKIE = "wb_lang"
SESSION_MAX_AGE = 12 * 3600
_SALT = "whmcs-bridge.dashboard.session"


@bp.record_once
def _init_key(state: Any) -> None:
    """Resolve the signing key once per app (settings, else an ephemeral one, said in logs)."""
    app = state.app
    secret = app.extensions["whmcs_bridge"].settings.server.secret_key
    if secret:
        key = secret.reveal()
    else:
        key = secrets.token_urlsafe(32)
        log.warning("server.secret_key is not set: dashboard sessions use an ephemeral key "
                    "and end when this process restarts")
    app.extensions["whmcs_bridge_dashboard_key"] = key


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.extensions["whmcs_bridge_dashboard_key"],
                                  salt=_SALT)


def _fingerprint(token: str) -> str:
    key = current_app.extensions["whmcs_bridge_dashboard_key"].encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def _session_is_valid() -> bool:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return False
    try:
        data = _serializer().loads(raw, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return False
    fp = data.get("fp") if isinstance(data, dict) else None
    if not isinstance(fp, str):
        return False
    ok = False
    for configured in bridge().settings.api.tokens:
        ok |= hmac.compare_digest(_fingerprint(configured.reveal()), fp)
    return ok


def _secure() -> bool:
    """Mark cookies Secure over HTTPS, including behind a TLS-terminating proxy when the
    configured public URL is https (the proxy speaks plain HTTP to us)."""
    public = bridge().settings.server.public_url or ""
    return request.is_secure or public.startswith("https://")


def _lang() -> str:
    accept = request.accept_languages.best_match(i18n.LANGUAGES)
    return i18n.pick_language(request.args.get("lang"), request.cookies.get(LANG_COOKIE),
                              accept)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    lang = _lang()
    nonce = secrets.token_urlsafe(16)
    html = render_template(template, t=i18n.translator(lang), lang=lang, nonce=nonce,
                           **context)
    resp = make_response(html, status)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cache-Control"] = "no-store"
    if request.args.get("lang") in i18n.LANGUAGES:
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax",
                        secure=_secure())
    return resp


def _charts(data: Any, t: Any) -> dict[str, charts.Chart]:
    level_names = {lv: t(lv) for lv in LEVELS}
    window_names = {d: t("last_days", days=d) for d in WINDOWS}
    return {
        "compliance": charts.compliance_chart(
            data.compliance_percentages(), LEVELS, WINDOWS, level_names=level_names,
            window_names=window_names, no_data=t("no_data")),
        "states": charts.state_chart(data.state_counts, SLA_ORDER,
                                     names={s: t(s) for s in SLA_ORDER}),
    }


@bp.get("/")
def root() -> Response:
    """``GET /`` leads to the dashboard (the address an admin types first)."""
    return redirect(url_for("dashboard.dashboard"), 302)


@bp.get("/dashboard")
def dashboard() -> Response:
    if not (_session_is_valid() or token_is_valid(bearer_token())):
        return _page("dashboard_login.html")
    state = bridge()
    now = datetime.now(UTC)
    data = load_dashboard(state.engine, state.settings, now)
    t = i18n.translator(_lang())
    local = now.astimezone(state.settings.tz)
    return _page("dashboard.html", data=data, charts=_charts(data, t),
                 colours=charts.STATE_COLOURS, now_iso=now.isoformat(),
                 now_text=f"{local:%H:%M:%S %d/%m/%Y} ({state.settings.timezone})")


@bp.post("/dashboard/login")
def login() -> Response:
    token = (request.form.get("token") or "").strip()
    if not token:
        return _page("dashboard_login.html", 400, error="no_token")
    if not token_is_valid(token):
        return _page("dashboard_login.html", 401, error="bad_token")
    resp = redirect(url_for("dashboard.dashboard", lang=request.args.get("lang")), 303)
    resp.set_cookie(SESSION_COOKIE, _serializer().dumps({"fp": _fingerprint(token)}),
                    max_age=SESSION_MAX_AGE, httponly=True, samesite="Lax",
                    secure=_secure(), path="/")
    return resp


@bp.post("/dashboard/logout")
def logout() -> Response:
    resp = redirect(url_for("dashboard.dashboard"), 303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
