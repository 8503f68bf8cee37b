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
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
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


#: The module's connection test (its admin page) reports the hooks it forwards.
MODULE_REPORT = "WhmcsBridgeConnectionTest"
#: How far back doctor looks for e-mail tickets and TicketPiping events.
PIPING_EVIDENCE_DAYS = 30


def check_piping(engine: Engine, now: datetime | None = None) -> Check:
    """Does the module forward ``TicketPiping``? Without it, mail from a spoofed registered
    sender looks like a client-area ticket and skips ownership proof.

    How doctor knows, best evidence first: (1) the hook list the module reported with its
    newest connection test (Addons > WHMCS Bridge > Test connection): TicketPiping missing
    from it fails; (2) no report: a TicketPiping event received in the last 30 days is ok,
    while e-mail tickets in that time with no TicketPiping event at all fail (WHMCS is piping
    mail the bridge never hears of); (3) neither: a warning asking for the connection test.
    """
    from whmcs_bridge.tickets.tables import tickets

    now = now or datetime.now(UTC)
    since = now - timedelta(days=PIPING_EVIDENCE_DAYS)
    fix = ("add TicketPiping to the module's 'Forwarded events' setting (or leave it empty "
           "for all) in WHMCS: Addons > Apps & Integrations > WHMCS Bridge")
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        report = conn.execute(
            select(events.c.payload, events.c.received_at).where(events.c.type == MODULE_REPORT)
            .order_by(events.c.received_at.desc()).limit(1)).first()
        last_piping = conn.execute(
            select(func.max(events.c.received_at)).where(
                events.c.type == "TicketPiping", events.c.received_at >= since)).scalar()
        mailed = conn.execute(
            select(func.count()).select_from(tickets).where(
                tickets.c.channel == "email", tickets.c.opened_at >= since)).scalar_one()
    data = report.payload.get("data") if report is not None and isinstance(
        report.payload, dict) else None
    forwarded = data.get("forwarded") if isinstance(data, dict) else None
    details: dict[str, Any] = {"email_tickets_30d": mailed,
                               "last_piping_event": last_piping.isoformat()
                               if last_piping else None}
    if isinstance(forwarded, list):
        details.update(reported_at=report.received_at.isoformat(), forwarded=forwarded)
        if "TicketPiping" not in forwarded:
            return Check("piping", FAIL, "the addon module does not forward TicketPiping "
                         f"(its connection test of {report.received_at.isoformat()} lists "
                         f"{len(forwarded)} other events): piped mail from a registered "
                         f"sender would skip ownership proof; {fix}", details)
        return Check("piping", OK, "TicketPiping forwarded (the module's connection test of "
                     f"{report.received_at.isoformat()})", details)
    if last_piping is not None:
        return Check("piping", OK, f"TicketPiping events received (last "
                     f"{last_piping.isoformat()})", details)
    if mailed:
        return Check("piping", FAIL, f"{mailed} ticket(s) came by e-mail in the last "
                     f"{PIPING_EVIDENCE_DAYS} days but no TicketPiping event arrived: the "
                     f"module does not forward it; {fix}", details)
    return Check("piping", WARN, "no TicketPiping event yet and the module has not reported "
                 "what it forwards: run Test connection on the module's page in WHMCS "
                 "(fine if WHMCS does not import e-mail)", details)


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
        checks += [check_queue(engine), check_addon(engine), check_piping(engine)]
    checks.append(check_whmcs(settings, client_factory))
    return checks


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {"ok": all(c.state != FAIL for c in checks), "checks": [asdict(c) for c in checks]}
