"""The dashboard's read through the tickets room, on SQLite and PostgreSQL: real store rows in,
the right states, order, compliance and staff-API-shaped SLA blocks out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.browser.conftest import TICKETS, seed
from tests.conftest import make_settings
from whmcs_bridge import ticket_view
from whmcs_bridge.dashboard import source
from whmcs_bridge.store import make_engine


def test_load_dashboard_reads_real_store_rows(db_url: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    seed(db_url, now)
    settings = make_settings(db_url, whmcs={"admin_url": "https://w.example/admin/"})
    engine = make_engine(db_url)
    try:
        source._CACHE.clear()
        data = source.load_dashboard(engine, settings, now)
        by_id = {r.id: r for r in data.open_tickets}
        assert {r.sla_state for r in data.open_tickets} == {
            "on_track", "at_risk", "breached", "met", "not_applicable"}
        assert data.open_tickets[0].id == 3 and by_id[3].sla_state == "breached"
        assert by_id[3].remaining_seconds < 0
        assert [r.id for r in data.breaches] == [3]
        assert by_id[1].admin_link == "https://w.example/admin/supporttickets.php?action=view&id=1"
        pct = data.compliance_percentages()
        assert pct["normal"][7] == 100.0  # ticket 4 answered in time
        assert pct["urgent"][30] == 0.0  # ticket 3 overdue
        assert len(data.open_tickets) == len(TICKETS)
        # the bulk read agrees with the staff API's own enrich, ticket by ticket
        with engine.connect() as conn:
            for row in data.open_tickets:
                single: Any = ticket_view.enrich(conn, row.id, settings=settings, now=now)
                assert single["sla"]["state"] == row.sla_state
                assert single["sla"]["remaining_seconds"] == row.remaining_seconds
    finally:
        engine.dispose()
