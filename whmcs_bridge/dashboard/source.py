"""Reads the dashboard's data through the tickets room (store, enrich, report) — the I/O edge.

Only this module touches the database; :mod:`whmcs_bridge.dashboard.data` shapes the result.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from whmcs_bridge import ticket_view
from whmcs_bridge.dashboard.data import LEVELS, WINDOWS, Compliance, DashboardData, shape
from whmcs_bridge.sla import engine as E
from whmcs_bridge.tickets import report, store
from whmcs_bridge.tickets.escalate import evaluate_loaded
from whmcs_bridge.verification import status as verification_status

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

#: open tickets evaluated per round of bulk queries
BATCH = 500
#: seconds the 7/30-day compliance numbers are reused
COMPLIANCE_TTL = 60.0
_CACHE: dict[str, tuple[float, list[Compliance]]] = {}


def _enriched_open_tickets(conn: Any, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Every open ticket in the staff API's shape (without escalations), evaluated in batches
    with the tickets room's bulk loaders: a page with thousands of open tickets must not cost
    several queries per ticket."""
    policy = E.Policy.from_settings(settings)  # built once for the whole page
    ids = list(store.open_ticket_ids(conn, settings.sla.closed_statuses))
    now_ts = now.timestamp()
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), BATCH):
        recs = store.get_tickets(conn, ids[start:start + BATCH])
        hists = store.histories(conn, recs)
        verifications = verification_status.for_tickets(conn, [r.id for r in recs])
        for rec in recs:
            ev = evaluate_loaded(rec, hists[rec.id], policy, now_ts)
            out.append(ticket_view.ticket_view(rec, ev, policy, settings, verifications[rec.id]))
    return out


def _compliance(conn: Any, settings: Settings, now: datetime) -> list[Compliance]:
    """First replies in time vs late, per level, over each window (the SLA report's numbers).

    Both windows come from one bulk pass of the report over the last 30 days (a fixed number
    of queries per 500 tickets). Cached for :data:`COMPLIANCE_TTL` seconds per database: a
    share over days does not move between two page loads."""
    key = str(conn.engine.url)
    hit = _CACHE.get(key)
    if hit is not None and 0 <= now.timestamp() - hit[0] < COMPLIANCE_TTL:
        return hit[1]
    out: list[Compliance] = []
    periods = [(now - timedelta(days=days), now) for days in WINDOWS]
    # one bulk load and evaluation serves every window (the 30 days contain the 7)
    reports = report.compliance_periods(conn, settings, periods, by="priority", now=now)
    for days, rows in zip(WINDOWS, reports, strict=True):
        groups = {g.key: g for g in rows}
        for level in LEVELS:
            g = groups.get(level)
            out.append(Compliance(level, days, g.met if g else 0, g.breached if g else 0))
    _CACHE[key] = (now.timestamp(), out)
    return out


def load_dashboard(engine: Engine, settings: Settings, now: datetime) -> DashboardData:
    # Only reads: on SQLite it must not queue for the write lock behind the worker's writes.
    with engine.connect().execution_options(sqlite_readonly=True) as conn:
        tickets = _enriched_open_tickets(conn, settings, now)
        compliance = _compliance(conn, settings, now)
    return shape(tickets, now=now, admin_url=settings.whmcs.admin_url, compliance=compliance,
                 billing_department_ids=settings.channels.billing_department_ids)
