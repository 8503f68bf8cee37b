"""``whmcs-bridge doctor``: is this installation able to work? One check per concern.

Each check returns a :class:`Check` with a state: ``ok``, ``warn`` (works, but an admin should
look: dead letters, no event received yet) or ``fail`` (the bridge cannot do its job: the
command exits 1). Secrets are reported as "set"/"not set", never shown; database URLs are
shown with the password masked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

from whmcs_bridge.logs import scrub
from whmcs_bridge.settings import Settings, reply_writers
from whmcs_bridge.store import inbox, is_current
from whmcs_bridge.store.tables import DEAD, FAILED, PENDING, PROCESSING, events

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Check:
    name: str
    state: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def _set(value: Any) -> str:
    return "set" if value else "not set"


def check_settings(settings: Settings) -> Check:
    """Loaded (validation already passed) and which secrets are present."""
    secrets = {
        "webhooks.secrets": f"set ({len(settings.webhooks.secrets)})"
        if settings.webhooks.secrets else "not set",
        "api.tokens": f"set ({len(settings.api.tokens)})" if settings.api.tokens else "not set",
        "whmcs.identifier": _set(settings.whmcs.identifier),
        "whmcs.secret": _set(settings.whmcs.secret),
        "whmcs.access_key": _set(settings.whmcs.access_key),
        "server.secret_key": _set(settings.server.secret_key),
    }
    source = settings.source or "defaults and environment"
    if not settings.webhooks.secrets:
        return Check("settings", FAIL, f"loaded from {source}; webhooks.secrets is not set "
                     "(every event would be refused)", secrets)
    return Check("settings", OK, f"loaded from {source}", secrets)


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def check_database(settings: Settings, engine: Engine) -> Check:
    url = safe_url(settings.database_url)
    try:
        current = is_current(engine)  # reads alembic_version: fails when unreachable
    except Exception as exc:
        return Check("database", FAIL, f"{url} unreachable ({type(exc).__name__})",
                     {"url": url})
    if not current:
        return Check("database", FAIL, f"{url} schema outdated: run `whmcs-bridge db upgrade`",
                     {"url": url, "schema": "outdated"})
    return Check("database", OK, f"{url} reachable, schema current",
                 {"url": url, "schema": "current"})


def check_queue(engine: Engine) -> Check:
    counts = inbox.status_counts(engine)
    depth = sum(counts.get(s, 0) for s in (PENDING, FAILED, PROCESSING))
    dead = counts.get(DEAD, 0)
    summary = f"{depth} waiting ({counts.get(FAILED, 0)} retrying), {dead} dead letters"
    if dead:
        return Check("queue", WARN, summary + " (see `whmcs-bridge events list --status dead`)",
                     {"counts": counts, "depth": depth, "dead": dead})
    return Check("queue", OK, summary, {"counts": counts, "depth": depth, "dead": dead})


def check_addon(engine: Engine) -> Check:
    """The newest ``events.source``: which addon module version last called in, and when."""
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        row = conn.execute(
            select(events.c.source, events.c.received_at)
            .where(events.c.source.is_not(None))
            .order_by(events.c.received_at.desc()).limit(1)
        ).first()
    if row is None:
        return Check("addon", WARN, "no event received from the WHMCS addon module yet")
    return Check("addon", OK, f"{row.source}, last event {row.received_at.isoformat()}",
                 {"source": row.source, "received_at": row.received_at.isoformat()})


ClientFactory = Callable[[Settings], Any]


def shared_client(client_factory: ClientFactory | None = None) -> ClientFactory:
    """A factory that builds the WHMCS client once and hands every check the same one.

    One client for the whole run: after WHMCS refuses the credential it makes no further
    call (WHMCS bans an IP after 3 failed logins in 30 minutes), so a bad credential costs
    ``doctor`` one failed login however many checks ask WHMCS something."""
    if client_factory is None:
        api = importlib.import_module("whmcs_bridge.api")
        client_factory = api.WhmcsClient.from_settings
    built: dict[str, Any] = {}

    def factory(settings: Settings) -> Any:
        if "client" not in built:
            built["client"] = client_factory(settings)
        return built["client"]
    return factory


def _whmcs_failure(name: str, settings: Settings, exc: Exception) -> Check:
    """A failed WHMCS call as one line; a refused credential says what to fix."""
    errors = importlib.import_module("whmcs_bridge.api.errors")
    if isinstance(exc, errors.AuthenticationError):
        summary = f"{settings.whmcs.url}: {errors.refusal_line(exc)}"
    else:
        summary = f"{settings.whmcs.url}: {type(exc).__name__}: {exc}"
    return Check(name, FAIL, scrub(summary), {"url": settings.whmcs.url})


def check_whmcs(settings: Settings, client_factory: ClientFactory | None = None) -> Check:
    if not settings.whmcs.url:
        return Check("whmcs", OK, "not configured (whmcs.url is not set); skipped")
    try:
        if client_factory is None:
            client_factory = shared_client()
        admin = client_factory(settings).get_admin_details()
    except Exception as exc:
        return _whmcs_failure("whmcs", settings, exc)
    version = getattr(admin, "whmcs_version", "") or "unknown version"
    departments = list(getattr(admin, "departments", []) or [])
    # GetTickets without ignore_dept_assignments only sees these departments: worth knowing
    # when sync or the dashboard misses tickets.
    shown = ", ".join(map(str, departments)) or "none"
    return Check("whmcs", OK, f"{settings.whmcs.url} reachable: WHMCS {version}, API acts as "
                 f"admin #{getattr(admin, 'adminid', '?')} (support departments: {shown})",
                 {"url": settings.whmcs.url, "whmcs_version": version,
                  "admin_departments": departments})


def check_reply_admin(settings: Settings, client_factory: ClientFactory | None = None
                      ) -> Check:
    """``whmcs.admin_username`` names an active WHMCS admin (GetAdminUsers, WHMCS 7.7+).

    The bridge's replies are posted with ``adminusername``; settings already refuse to start
    without it while a feature writes replies (:func:`whmcs_bridge.settings.reply_writers`),
    this checks that WHMCS knows the name."""
    name = "replies"
    username = settings.whmcs.get("admin_username")
    writers = reply_writers(settings.sections)
    if not settings.whmcs.url:
        return Check(name, OK, "not checked (whmcs.url is not set)")
    if not username:
        return Check(name, OK, "no feature posts ticket replies; whmcs.admin_username not set")
    errors = importlib.import_module("whmcs_bridge.api.errors")
    details = {"admin_username": username, "writers": writers}
    try:
        client = (client_factory or shared_client())(settings)
        if getattr(client, "tripped", None) is not None:
            return Check(name, FAIL, f"whmcs.admin_username {username!r} not checked: WHMCS "
                         "refused the API credential (see the whmcs check)", details)
        admins = client.get_admin_users(include_disabled=True)
    except errors.UnknownActionError:
        return Check(name, WARN, f"whmcs.admin_username {username!r} not checked: this WHMCS "
                     "has no GetAdminUsers (added in 7.7)", details)
    except errors.PermissionDeniedError:
        return Check(name, WARN, f"whmcs.admin_username {username!r} not checked: the API "
                     "credential's role does not allow GetAdminUsers", details)
    except Exception as exc:
        return _whmcs_failure(name, settings, exc)
    # WHMCS looks admin usernames up in MySQL, whose default collation ignores case.
    found = next((a for a in admins if a.username.casefold() == username.casefold()), None)
    if found is None:
        known = ", ".join(sorted(a.username for a in admins)[:10]) or "none"
        return Check(name, FAIL, f"whmcs.admin_username {username!r} is not a WHMCS admin "
                     f"(admins: {known}): set it to the username of the admin the bridge's "
                     "replies should be posted as", details)
    details["admin_id"] = found.id
    if found.is_disabled:
        return Check(name, FAIL, f"whmcs.admin_username {username!r} is WHMCS admin "
                     f"#{found.id}, but that account is disabled", details)
    return Check(name, OK, f"replies are posted as WHMCS admin {found.username!r} "
                 f"(#{found.id})", details)


def run_checks(settings: Settings, engine: Engine, *,
               client_factory: ClientFactory | None = None) -> list[Check]:
    checks = [check_settings(settings), check_database(settings, engine)]
    if checks[-1].state != FAIL:
        checks += [check_queue(engine), check_addon(engine)]
    client_factory = shared_client(client_factory)
    checks.append(check_whmcs(settings, client_factory))
    if checks[-1].state == FAIL:  # unreachable or refused: asking again helps nobody
        checks.append(Check("replies", WARN, "whmcs.admin_username not checked (see the whmcs "
                            "check)"))
    else:
        checks.append(check_reply_admin(settings, client_factory))
    return checks


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {"ok": all(c.state != FAIL for c in checks), "checks": [asdict(c) for c in checks]}
