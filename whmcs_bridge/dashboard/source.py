"""Reads the dashboard's data through the tickets room (store, enrich, report) — the I/O edge.

Only this module touches the database; :mod:`whmcs_bridge.dashboard.data` shapes the result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from whmcs_bridge.dashboard.data import LEVELS, WINDOWS, Compliance, DashboardData, shape


def _enriched_open_tickets(conn: Any, settings: Any, now: datetime) -> list[dict[str, Any]]:
    from whmcs_bridge.tickets import enrich, store

    closed = settings.sla.closed_statuses
    out = []
    for ticket_id in store.open_ticket_ids(conn, closed):
        ticket = enrich.enriched_ticket(conn, ticket_id, settings=settings, now=now)
        if ticket is not None:
            out.append(ticket)
    return out


def _compliance(conn: Any, settings: Any, now: datetime) -> list[Compliance]:
    from whmcs_bridge.tickets import report

    out: list[Compliance] = []
    for days in WINDOWS:
        summary = report.compliance(conn, settings=settings, now=now, days=days)
        for level in LEVELS:
            row = summary.get(level) or {}
            out.append(Compliance(level, days, int(row.get("met", 0)),
                                  int(row.get("breached", 0))))
    return out


def load_dashboard(engine: Engine, settings: Any, now: datetime) -> DashboardData:
    with engine.connect() as conn:
        tickets = _enriched_open_tickets(conn, settings, now)
        compliance = _compliance(conn, settings, now)
    return shape(tickets, now=now, admin_url=settings.whmcs.admin_url, compliance=compliance)
