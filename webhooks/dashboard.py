"""The SLA dashboard (``GET /dashboard``): staff sign in with an API token, kept in a session
cookie signed with itsdangerous, or send ``Authorization: Bearer``.

The cookie holds an HMAC fingerprint of the token, never the token, and is checked against the
tokens configured *now*, so removing a token from settings also ends its sessions. It also
holds a random session id: sign-out records it as revoked (:mod:`whmcs_bridge.dashboard
.sessions`), so a copy of the cookie replayed afterwards is refused. Failed sign-ins are
throttled per address (:mod:`whmcs_bridge.webhooks.throttle`), and the state-changing POSTs refuse a
foreign ``Origin`` (403), so another site cannot sign a browser in or out. Without
``server.secret_key`` an ephemeral key is generated at start (sessions then end on restart,
and each gunicorn process has its own key: set the key in production).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse

from whmcs_bridge.dashboard import charts, i18n, sessions
from whmcs_bridge.dashboard.data import (
    LEVELS,
    PER_PAGE,
    SLA_ORDER,
    WINDOWS,
    apply_filters,
    departments,
    local_time,
    paginate,
    parse_filters,
)
from whmcs_bridge.dashboard.source import load_dashboard
from whmcs_bridge.sla.settings import CHANNELS
from whmcs_bridge.webhooks.auth import bearer_token, token_is_valid
from whmcs_bridge.webhooks.state import bridge, state_of
from whmcs_bridge.webhooks.throttle import Throttle

log = logging.getLogger(__name__)

#: the pages are templates/dashboard*.html beside this module (the Flask side); the dashboard
#: room (whmcs_bridge.dashboard) gives them data and chart geometry, never markup.
bp = Blueprint("dashboard", __name__, template_folder="templates")

SESSION_COOKIE = "wb_session"
LANG_COOKIE = "wb_lang"
SESSION_MAX_AGE = 12 * 3600
_SALT = "whmcs-bridge.dashboard.session"
#: Failed sign-ins per address: 5 at once, then one a minute (a token is 16+ characters; this
#: only stops a flood of guesses, per process). Successful sign-ins take nothing.
SIGNIN_BURST, SIGNIN_PER_SECOND = 5, 1 / 60
REFERRER_POLICY = "same-origin"
#: the page reloads itself this often (its script skips a reload while a filter is being typed)
REFRESH_SECONDS = 60
#: rows of the Breaches and Ownership verification sections (the rest: filter or "n more")
SECTION_ROWS = 10
#: rows of one page of the open-tickets table (bench/dashboard.py lifts it for its baseline)
PAGE_ROWS = PER_PAGE


@bp.record_once
def _init_key(state: Any) -> None:
    """Resolve the signing key once per app (settings, else an ephemeral one, said in logs)."""
    app = state.app
    secret = state_of(app).settings.server.secret_key
    if secret:
        key = secret.reveal()
    else:
        key = secrets.token_urlsafe(32)
        log.warning("server.secret_key is not set: dashboard sessions use an ephemeral key "
                    "and end when this process restarts")
    app.extensions["whmcs_bridge_dashboard_key"] = key
    app.extensions["whmcs_bridge_signin_throttle"] = Throttle(SIGNIN_BURST, SIGNIN_PER_SECOND)


@bp.before_request
def _same_origin_posts() -> None:
    """A POST whose ``Origin`` is another site (or ``null``) is refused: only the
    dashboard's own pages may sign a browser in or out. No ``Origin`` (a script, an old
    browser) is let through unless ``Sec-Fetch-Site`` says cross-site; the SameSite=Lax
    cookie covers the rest. The pages' ``Referrer-Policy`` keeps same-origin POSTs carrying
    their real ``Origin``."""
    if request.method != "POST":
        return
    origin = request.headers.get("Origin")
    if origin is None:
        # browsers that send Fetch Metadata but no Origin still say where the POST came from
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            abort(403, description="cross-site request refused (Sec-Fetch-Site)")
        return
    allowed = {request.host_url.rstrip("/")}
    public = bridge().settings.server.public_url
    if public:
        parts = urlsplit(public)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    if origin.rstrip("/") not in allowed:
        abort(403, description="cross-site request refused (Origin is not this dashboard)")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.extensions["whmcs_bridge_dashboard_key"],
                                  salt=_SALT)


def _fingerprint(token: str) -> str:
    key = current_app.extensions["whmcs_bridge_dashboard_key"].encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def _session() -> dict[str, Any] | None:
    """The signed cookie's contents, when it is well-formed and not older than its age."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("fp"), str) \
            or not isinstance(data.get("sid"), str):
        return None
    return data


def _session_is_valid() -> bool:
    data = _session()
    if data is None:
        return False
    ok = False
    for configured in bridge().settings.api.tokens:
        ok |= hmac.compare_digest(_fingerprint(configured.reveal()), data["fp"])
    if not ok:
        return False
    with bridge().engine.connect().execution_options(sqlite_readonly=True) as conn:
        return not sessions.is_revoked(conn, data["sid"])


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
    # same-origin, not no-referrer: under no-referrer a browser sends ``Origin: null`` with the
    # sign-in form's POST, which the Origin check must refuse (a sandboxed frame sends null
    # too). Other sites (the WHMCS ticket links) still get no referrer.
    resp.headers["Referrer-Policy"] = REFERRER_POLICY
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
def root() -> BaseResponse:
    """``GET /`` leads to the dashboard (the address an admin types first)."""
    return redirect(url_for("dashboard.dashboard"), 302)


@bp.get("/dashboard")
def dashboard() -> BaseResponse:
    """The page. The open-tickets table is filtered and paged from the query string
    (``department``, ``level``, ``sla``, ``channel``, ``q``, ``page``): every open ticket is
    still evaluated (the counts and charts cover them all), but only one page of rows is
    rendered. A bad value is ignored and named on the page, never an error."""
    if not (_session_is_valid() or token_is_valid(bearer_token())):
        return _page("dashboard_login.html")
    state = bridge()
    now = datetime.now(UTC)
    filters, problems = parse_filters(request.args)
    data = load_dashboard(state.engine, state.settings, now)
    t = i18n.translator(_lang())
    tz = state.settings.tz
    shown = paginate(apply_filters(data.open_tickets, filters), filters.page, PAGE_ROWS)
    return _page("dashboard.html", data=data, charts=_charts(data, t),
                 colours=charts.STATE_COLOURS, now_iso=now.isoformat(),
                 now_text=f"{now.astimezone(tz):%H:%M:%S %d/%m/%Y} ({state.settings.timezone})",
                 filters=filters, problems=problems, shown=shown,
                 departments=departments(data.open_tickets), levels=LEVELS,
                 sla_states=SLA_ORDER, channels=CHANNELS,
                 due_text=lambda iso: local_time(iso, tz), section_rows=SECTION_ROWS,
                 refresh_seconds=REFRESH_SECONDS,
                 lang_links={code: url_for("dashboard.dashboard", lang=code,
                                           **filters.query(page=shown.number))
                             for code in i18n.LANGUAGES},
                 link=lambda **changes: url_for("dashboard.dashboard",
                                                **filters.query(**changes)))


@bp.post("/dashboard/login")
def login() -> BaseResponse:
    throttle: Throttle = current_app.extensions["whmcs_bridge_signin_throttle"]
    address = request.remote_addr or "-"
    if throttle.blocked(address):
        resp: BaseResponse = _page("dashboard_login.html", 429, error="too_many_attempts")
        resp.headers["Retry-After"] = str(max(1, throttle.retry_after(address)))
        return resp
    token = (request.form.get("token") or "").strip()
    if not token:
        return _page("dashboard_login.html", 400, error="no_token")
    if not token_is_valid(token):
        throttle.allow(address)  # only failures spend the address's attempts
        return _page("dashboard_login.html", 401, error="bad_token")
    resp = redirect(url_for("dashboard.dashboard", lang=request.args.get("lang")), 303)
    cookie = {"fp": _fingerprint(token), "sid": secrets.token_urlsafe(18)}
    resp.set_cookie(SESSION_COOKIE, _serializer().dumps(cookie),
                    max_age=SESSION_MAX_AGE, httponly=True, samesite="Lax",
                    secure=_secure(), path="/")
    return resp


@bp.post("/dashboard/logout")
def logout() -> BaseResponse:
    data = _session()
    if data is not None:  # end it here, not only in this browser: a copied cookie dies too
        now = datetime.now(UTC)
        with bridge().engine.begin() as conn:
            sessions.revoke(conn, data["sid"], now=now,
                            expires_at=now + timedelta(seconds=SESSION_MAX_AGE))
    resp = redirect(url_for("dashboard.dashboard"), 303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
