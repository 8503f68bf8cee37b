"""Reads the dashboard's data through the tickets room (store, enrich, report) — the I/O edge.

Only this module touches the database; :mod:`whmcs_bridge.dashboard.data` shapes the result.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from whmcs_bridge.dashboard.data import LEVELS, WINDOWS, Compliance, DashboardData, shape


def _enriched_open_tickets(conn: Any, settings: Any, now: datetime) -> list[dict[str, Any]]:
    from whmcs_bridge.sla.engine import Policy
    from whmcs_bridge.tickets import enrich, store

    policy = Policy.from_settings(settings)  # built once for the whole page
    out = []
    for ticket_id in list(store.open_ticket_ids(conn, settings.sla.closed_statuses)):
        ticket = enrich.enrich(conn, ticket_id, settings=settings, now=now, policy=policy)
        if ticket is not None:
            out.append(ticket)
    return out


def _compliance(conn: Any, settings: Any, now: datetime) -> list[Compliance]:
    """First replies in time vs late, per level, over each window (the SLA report's numbers)."""
    try:
        report = importlib.import_module("whmcs_bridge.tickets.report")
    except ImportError:  # the report module is not installed: the charts say "no data"
        return []
    out: list[Compliance] = []
    for days in WINDOWS:
        groups = {g.key: g for g in report.compliance(
            conn, settings, since=now - timedelta(days=days), until=now, by="priority",
            now=now)}
        for level in LEVELS:
            g = groups.get(level)
            out.append(Compliance(level, days, g.met if g else 0, g.breached if g else 0))
    return out


def load_dashboard(engine: Engine, settings: Any, now: datetime) -> DashboardData:
    with engine.connect() as conn:
        tickets = _enriched_open_tickets(conn, settings, now)
        compliance = _compliance(conn, settings, now)
    return shape(tickets, now=now, admin_url=settings.whmcs.admin_url, compliance=compliance)
