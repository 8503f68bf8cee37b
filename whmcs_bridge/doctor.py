"""``whmcs-bridge doctor``: is this installation able to work? One check per concern.

Each check returns a :class:`Check` with a state: ``ok``, ``warn`` (works, but an admin should
look: dead letters, no event received yet) or ``fail`` (the bridge cannot do its job: the
command exits 1). Secrets are reported as "set"/"not set", never shown; database URLs are
shown with the password masked.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from whmcs_bridge.api import WhmcsClient, errors
from whmcs_bridge.logs import scrub
from whmcs_bridge.notify import routing
from whmcs_bridge.notify.settings import configured_channels
from whmcs_bridge.settings import Settings, reply_writers
from whmcs_bridge.store import inbox, is_current
from whmcs_bridge.store.engine import connection_problem
from whmcs_bridge.store.tables import DEAD, FAILED, PENDING, PROCESSING, events
from whmcs_bridge.tickets import golive
from whmcs_bridge.tickets.tables import tickets
from whmcs_bridge.timefmt import local_time
from whmcs_bridge.writes import outbox as writes
from whmcs_bridge.writes.tables import DEAD as W_DEAD
from whmcs_bridge.writes.tables import FAILED as W_FAILED
from whmcs_bridge.writes.tables import PENDING as W_PENDING
from whmcs_bridge.writes.tables import SENDING as W_SENDING

_UTC = ZoneInfo("UTC")

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
        return Check("database", FAIL, f"{url} unreachable ({type(exc).__name__}: "
                     f"{connection_problem(exc)})", {"url": url})
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


def check_addon(engine: Engine, zone: ZoneInfo = _UTC) -> Check:
    """The newest ``events.source``: which addon module version last called in, and when."""
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        row = conn.execute(
            select(events.c.source, events.c.received_at)
            .where(events.c.source.is_not(None))
            .order_by(events.c.received_at.desc()).limit(1)
        ).first()
    if row is None:
        return Check("addon", WARN, "no event received from the WHMCS addon module yet")
    return Check("addon", OK, f"{row.source}, last event {local_time(row.received_at, zone)}",
                 {"source": row.source, "received_at": row.received_at.isoformat()})


ClientFactory = Callable[[Settings], Any]


def shared_client(client_factory: ClientFactory | None = None) -> ClientFactory:
    """A factory that builds the WHMCS client once and hands every check the same one.

    One client for the whole run: after WHMCS refuses the credential it makes no further
    call (WHMCS bans an IP after 3 failed logins in 30 minutes), so a bad credential costs
    ``doctor`` one failed login however many checks ask WHMCS something."""
    if client_factory is None:
        client_factory = WhmcsClient.from_settings
    built: dict[str, Any] = {}

    def factory(settings: Settings) -> Any:
        if "client" not in built:
            built["client"] = client_factory(settings)
        return built["client"]
    return factory


def _whmcs_failure(name: str, settings: Settings, exc: Exception) -> Check:
    """A failed WHMCS call as one line; a refused credential says what to fix."""
    if isinstance(exc, errors.AuthenticationError):
        summary = f"{settings.whmcs.url}: {errors.refusal_line(exc)}"
    else:
        summary = f"{settings.whmcs.url}: {type(exc).__name__}: {exc}"
    return Check(name, FAIL, scrub(summary), {"url": settings.whmcs.url})


#: The module's connection test (its admin page) reports the hooks it forwards.
MODULE_REPORT = "WhmcsBridgeConnectionTest"
#: How far back doctor looks for e-mail tickets and TicketPiping events.
PIPING_EVIDENCE_DAYS = 30


def check_piping(engine: Engine, now: datetime | None = None, zone: ZoneInfo = _UTC) -> Check:
    """Does the module forward ``TicketPiping``? Without it, mail from a spoofed registered
    sender looks like a client-area ticket and skips ownership proof.

    How doctor knows, best evidence first: (1) the hook list the module reported with its
    newest connection test (Addons > WHMCS Bridge > Test connection): TicketPiping missing
    from it fails; (2) no report: a TicketPiping event received in the last 30 days is ok,
    while e-mail tickets in that time with no TicketPiping event at all fail (WHMCS is piping
    mail the bridge never hears of); (3) neither: a warning asking for the connection test.
    """
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
    if report is not None and isinstance(forwarded, list):
        details.update(reported_at=report.received_at.isoformat(), forwarded=forwarded)
        if "TicketPiping" not in forwarded:
            return Check("piping", FAIL, "the addon module does not forward TicketPiping "
                         f"(its connection test of {local_time(report.received_at, zone)} lists "
                         f"{len(forwarded)} other events): piped mail from a registered "
                         f"sender would skip ownership proof; {fix}", details)
        return Check("piping", OK, "TicketPiping forwarded (the module's connection test of "
                     f"{local_time(report.received_at, zone)})", details)
    if last_piping is not None:
        return Check("piping", OK, f"TicketPiping events received (last "
                     f"{local_time(last_piping, zone)})", details)
    if mailed:
        return Check("piping", FAIL, f"{mailed} ticket(s) came by e-mail in the last "
                     f"{PIPING_EVIDENCE_DAYS} days but no TicketPiping event arrived: the "
                     f"module does not forward it; {fix}", details)
    return Check("piping", WARN, "no TicketPiping event yet and the module has not reported "
                 "what it forwards: run Test connection on the module's page in WHMCS "
                 "(fine if WHMCS does not import e-mail)", details)


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
    username = settings.whmcs.admin_username
    writers = reply_writers(settings.sections)
    if not settings.whmcs.url:
        return Check(name, OK, "not checked (whmcs.url is not set)")
    if not username:
        return Check(name, OK, "no feature posts ticket replies; whmcs.admin_username not set")
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
               client_factory: ClientFactory | None = None,
               fetch: Callable[[str], str] | None = None) -> list[Check]:
    checks = [check_settings(settings), check_database(settings, engine)]
    store_ok = checks[-1].state != FAIL
    if store_ok:
        checks += [check_queue(engine), check_writes(engine),
                   check_addon(engine, settings.tz),
                   check_piping(engine, zone=settings.tz)]
    client_factory = shared_client(client_factory)
    checks.append(check_whmcs(settings, client_factory))
    if checks[-1].state == FAIL:  # unreachable or refused: asking again helps nobody
        checks.append(Check("replies", WARN, "whmcs.admin_username not checked (see the whmcs "
                            "check)"))
    else:
        checks.append(check_reply_admin(settings, client_factory))
    checks += setup_checks(settings, engine if store_ok else None,
                           client_factory=client_factory, fetch=fetch)
    return checks


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {"ok": all(c.state != FAIL for c in checks), "checks": [asdict(c) for c in checks]}


# ---------------------------------------------------------------- set-up and production checks
# What a trial on a busy WHMCS hit (issue 15): each check is its own function over settings
# (and the store or WHMCS where it must look), ``ok`` when there is nothing to say.

#: Settings refuse a ``server.secret_key`` shorter than 32 characters; with fewer distinct
#: characters than this doctor calls it weak ("k" * 32 passes the length, not the strength).
SECRET_KEY_MIN_DISTINCT = 10
#: WHMCS's clock further than this from ours is a time-zone mismatch, not drift.
CLOCK_TOLERANCE_SECONDS = 600
ALL_INTERFACES = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 - what we warn about


def check_go_live(settings: Settings, engine: Engine) -> Check:
    """The go-live time: thresholds crossed before it get no escalation action."""
    with engine.connect() as conn:
        current = golive.effective(conn, settings)
    if current is None:
        return Check("go-live", OK, "not recorded yet: the first `whmcs-bridge sync` records "
                     "it (tickets overdue before it are not escalated)")
    return Check("go-live", OK, f"{local_time(current.at, settings.tz)} ({settings.timezone}, "
                 f"{current.source}): thresholds crossed before it are not escalated",
                 {"go_live_at": current.at.isoformat(), "source": current.source})


def check_notification_routes(settings: Settings) -> Check:
    """Every staff notification kind has somewhere to go."""
    whmcs = routing.whmcs_configured(settings)
    missing = routing.unrouted(settings.notifications, whmcs=whmcs)
    channels = configured_channels(settings.notifications)
    via = ", ".join(channels) or ("WHMCS admin mail (SendAdminEmail)" if whmcs else "nothing")
    if missing:
        which = (f"none of the {len(missing)} staff notification kinds goes anywhere"
                 if not channels and not whmcs else
                 f"{len(missing)} staff notification kind(s) go nowhere: {', '.join(missing)}")
        return Check("notify", WARN, f"{which} (set whmcs.url, or a channel in "
                     "[notifications] with notifications.routes covering every kind)",
                     {"unrouted": missing, "channels": channels})
    return Check("notify", OK, f"staff notifications via {via}", {"channels": channels})


def check_staff_recipients(settings: Settings) -> Check:
    """SMTP needs people: ``notifications.staff`` or route recipients."""
    n = settings.notifications
    if n.smtp.host and not n.staff and not any(r.recipients for r in n.routes):
        return Check("staff", WARN, "notifications.smtp is set but there are no staff "
                     "recipients (add [[notifications.staff]] entries)")
    return Check("staff", OK, f"{len(n.staff)} staff recipient(s)")


def check_verification_links(settings: Settings) -> Check:
    """Signed verification links need ``server.secret_key`` and ``server.public_url``."""
    v, server = settings.verification, settings.server
    if not (v.enabled and v.auto_send_link):
        return Check("links", OK, "verification links are off")
    missing = [k for k, value in (("secret_key", server.secret_key),
                                  ("public_url", server.public_url)) if not value]
    if missing:
        return Check("links", WARN, "verification links are on (verification.auto_send_link) "
                     f"but server.{' and server.'.join(missing)} not set: customers would get "
                     "no working link", {"missing": [f"server.{k}" for k in missing]})
    return Check("links", OK, f"verification links point at {server.public_url}")


def check_channels(settings: Settings) -> Check:
    """Department ids the channel rules and ``tickets log-call`` rely on."""
    ch = settings.channels
    problems = []
    if ch.technical_department_id is None:
        problems.append("channels.technical_department_id is not set (`tickets log-call` "
                        "needs --department every time)")
    if not ch.billing_department_ids:
        problems.append("channels.billing_department_ids is empty (no billing hotline rules)")
    if problems:
        return Check("channels", WARN, "; ".join(problems), {"problems": problems})
    return Check("channels", OK, "technical and billing departments set")


def check_escalation_ids(settings: Settings) -> Check:
    """An escalation action that needs an id which is not set is skipped on every ticket."""
    esc = settings.escalation
    needs = {"move_department": ("move_department_id", esc.move_department_id),
             "flag_admin": ("flag_admin_id", esc.flag_admin_id)}
    used = {a for level in esc.levels.values() for a in (*level.at_risk, *level.breached)}
    missing = sorted(f"{a} needs escalation.{k}" for a, (k, value) in needs.items()
                     if a in used and value is None)
    if esc.enabled and missing:
        return Check("escalate", WARN, "; ".join(missing) + " (the action is skipped)",
                     {"missing": missing})
    return Check("escalate", OK, "every configured action has what it needs")


def check_signature_failures(settings: Settings,
                             fetch: Callable[[str], str] | None = None) -> Check:
    """Refused webhook signatures counted by the running server (its ``/metrics``)."""
    host = settings.server.host
    host = "127.0.0.1" if host in ALL_INTERFACES else host
    url = f"http://{'[' + host + ']' if ':' in host else host}:{settings.server.port}/metrics"
    try:
        text = (fetch or _get_text)(url)
    except Exception as exc:
        return Check("webhooks", OK, f"server not reachable at {url} ({type(exc).__name__}); "
                     "skipped")
    reasons: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("whmcs_bridge_signature_failures_total{"):
            label, _, value = line.rpartition(" ")
            reason = label.partition('reason="')[2].partition('"')[0]
            reasons[reason] = reasons.get(reason, 0) + float(value)
    total = int(sum(reasons.values()))
    if total:
        shown = ", ".join(f"{k} {int(v)}" for k, v in sorted(reasons.items()) if v)
        return Check("webhooks", WARN, f"{total} webhook(s) refused since the server started "
                     f"({shown}): the addon module's webhook secret may not match "
                     "webhooks.secrets", {"reasons": reasons})
    return Check("webhooks", OK, "no refused webhook signatures since the server started")


def _get_text(url: str) -> str:
    resp = requests.get(url, timeout=2)
    resp.raise_for_status()
    return resp.text


def check_whmcs_clock(settings: Settings, client_factory: Callable[[Settings], Any] | None = None,
                      now: datetime | None = None) -> Check:
    """WHMCS sends local times without a zone; read in the wrong zone every SLA is hours off."""
    if not settings.whmcs.url:
        return Check("clock", OK, "WHMCS not configured; skipped")
    try:
        if client_factory is None:
            client_factory = WhmcsClient.from_settings
        admin = client_factory(settings).get_admin_details()
        raw = str((getattr(admin, "extra", {}) or {}).get("requesttime") or "")
        whmcs_now = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=settings.whmcs_tz)
    except Exception as exc:
        return Check("clock", OK, f"WHMCS time not available ({type(exc).__name__}); skipped")
    offset = (whmcs_now - (now or datetime.now(UTC))).total_seconds()
    zone = settings.whmcs.timezone or settings.timezone
    if abs(offset) > CLOCK_TOLERANCE_SECONDS:
        return Check("clock", WARN, f"WHMCS's time read in {zone} is {offset / 3600:+.1f} h "
                     "from the bridge's clock: set whmcs.timezone to the zone of the WHMCS "
                     "server", {"offset_seconds": round(offset)})
    return Check("clock", OK, f"WHMCS time agrees with the bridge's clock ({zone})",
                 {"offset_seconds": round(offset)})


def check_unsafe_settings(settings: Settings) -> Check:
    """Settings that work but are unsafe in production."""
    problems = []
    if settings.source and _holds_secrets(settings.source) and _others_can_read(settings.source):
        problems.append(f"{settings.source} holds secrets and others can read it "
                        f"(chmod 600 {settings.source})")
    if settings.server.host in ALL_INTERFACES:
        problems.append(f"server.host = {settings.server.host!r} listens on every interface "
                        "(bind 127.0.0.1 behind a reverse proxy)")
    if settings.whmcs.verify_tls is False:
        problems.append("whmcs.verify_tls = false: the API credential can be intercepted")
    public = settings.server.public_url or ""
    if public.startswith("http://") and not _is_loopback_url(public):
        problems.append(f"server.public_url {public} is plain http (links and sessions in clear)")
    key = settings.server.secret_key
    if key and len(set(key.reveal())) < SECRET_KEY_MIN_DISTINCT:
        problems.append("server.secret_key is weak (few distinct characters): generate one "
                        "with `whmcs-bridge init` or `python -c 'import secrets; "
                        "print(secrets.token_urlsafe(32))'`")
    if problems:
        return Check("safety", WARN, "; ".join(problems), {"problems": problems})
    return Check("safety", OK, "no unsafe production settings found")


def _holds_secrets(path: str) -> bool:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(w in text for w in ("whsec_", "secret", "token", "password", "access_key"))


def _others_can_read(path: str) -> bool:
    try:
        return bool(os.stat(path).st_mode & 0o077)
    except OSError:
        return False


def _is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".test")


def setup_checks(settings: Settings, engine: Engine | None, *,
                 client_factory: Callable[[Settings], Any] | None = None,
                 fetch: Callable[[str], str] | None = None) -> list[Check]:
    """The set-up and production checks (the go-live needs a reachable store)."""
    checks = [check_go_live(settings, engine)] if engine is not None else []
    return [
        *checks, check_notification_routes(settings), check_staff_recipients(settings),
        check_verification_links(settings), check_channels(settings),
        check_escalation_ids(settings), check_signature_failures(settings, fetch),
        check_whmcs_clock(settings, client_factory), check_unsafe_settings(settings)]
