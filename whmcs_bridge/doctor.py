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
from whmcs_bridge.settings import Settings
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


def check_writes(engine: Engine) -> Check:
    """The WHMCS write outbox (replies, notes, ticket changes): waiting and dead writes."""
    from whmcs_bridge.writes import outbox as writes
    from whmcs_bridge.writes.tables import DEAD as W_DEAD
    from whmcs_bridge.writes.tables import FAILED as W_FAILED
    from whmcs_bridge.writes.tables import PENDING as W_PENDING
    from whmcs_bridge.writes.tables import SENDING as W_SENDING

    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        counts = writes.counts(conn)
    depth = sum(counts.get(s, 0) for s in (W_PENDING, W_SENDING, W_FAILED))
    dead = counts.get(W_DEAD, 0)
    details = {"counts": counts, "depth": depth, "dead": dead}
    summary = f"{depth} WHMCS writes waiting ({counts.get(W_FAILED, 0)} retrying), {dead} dead"
    if dead:
        return Check("whmcs_writes", WARN, summary + " (see `whmcs-bridge outbox list --queue "
                     "whmcs --status dead`)", details)
    return Check("whmcs_writes", OK, summary, details)


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


def check_whmcs(settings: Settings, client_factory: Callable[[Settings], Any] | None = None,
                ) -> Check:
    if not settings.whmcs.url:
        return Check("whmcs", OK, "not configured (whmcs.url is not set); skipped")
    try:
        if client_factory is None:
            api = importlib.import_module("whmcs_bridge.api")
            client_factory = api.WhmcsClient.from_settings
        admin = client_factory(settings).get_admin_details()
    except Exception as exc:
        return Check("whmcs", FAIL, scrub(f"{settings.whmcs.url}: {type(exc).__name__}: {exc}"),
                     {"url": settings.whmcs.url})
    version = getattr(admin, "whmcs_version", "") or "unknown version"
    departments = list(getattr(admin, "departments", []) or [])
    # GetTickets without ignore_dept_assignments only sees these departments: worth knowing
    # when sync or the dashboard misses tickets.
    shown = ", ".join(map(str, departments)) or "none"
    return Check("whmcs", OK, f"{settings.whmcs.url} reachable: WHMCS {version}, API acts as "
                 f"admin #{getattr(admin, 'adminid', '?')} (support departments: {shown})",
                 {"url": settings.whmcs.url, "whmcs_version": version,
                  "admin_departments": departments})


def run_checks(settings: Settings, engine: Engine, *,
               client_factory: Callable[[Settings], Any] | None = None) -> list[Check]:
    checks = [check_settings(settings), check_database(settings, engine)]
    if checks[-1].state != FAIL:
        checks += [check_queue(engine), check_writes(engine), check_addon(engine)]
    checks.append(check_whmcs(settings, client_factory))
    return checks


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {"ok": all(c.state != FAIL for c in checks), "checks": [asdict(c) for c in checks]}
