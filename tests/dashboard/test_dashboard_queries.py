"""The dashboard loads in bulk: the number of SQL statements one page load issues does not grow
with the number of open tickets, and the bulk verification read agrees with the per-ticket one
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from tests.conftest import counted, make_settings
from whmcs_bridge.dashboard import source
from whmcs_bridge.store import make_engine
from whmcs_bridge.tickets import report, store
from whmcs_bridge.verification import status as verification_status
from whmcs_bridge.verification import store as vstore

NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def add_tickets(engine: Engine, ids: range) -> None:
    """Open tickets (some answered, some closed within the last days) with verification
    requests in every state on some of them."""
    with engine.begin() as conn:
        for tid in ids:
            at = NOW - timedelta(minutes=67 * tid)  # 200 tickets span 9 days
            status = "Closed" if tid % 5 == 0 else "Open"
            store.upsert_ticket(conn, tid, now=at, tid=f"D-{tid}", subject="s",
                                priority=("High", "Medium", "Low")[tid % 3], status=status,
                                department_id=1, client_id=tid, channel="client_area",
                                opened_at=at)
            store.add_message(conn, tid, "open", "customer", at)
            if tid % 2:
                store.add_message(conn, tid, f"reply:{tid}", "staff", at + 25 * timedelta(
                    minutes=1))
            state = (None, "required", "verified", "locked", "not_required")[tid % 5]
            if state is not None:
                vstore.create_request(conn, ticket_id=tid, client_id=tid, tid=f"D-{tid}",
                                      changes=["package_change"], channel="client_area",
                                      language="en", state=state, now=at)
                if state == "verified":
                    vstore.update_request(conn, tid, at, method="link", verified_at=at)


def load(engine: Engine, db_url: str) -> tuple[int, Any]:
    source._CACHE.clear()  # the 7/30-day compliance is computed on every counted load
    with counted(engine) as statements:
        data = source.load_dashboard(engine, make_settings(db_url), NOW)
    return len(statements), data


def test_page_statement_count_does_not_grow_with_open_tickets(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        add_tickets(engine, range(1, 11))
        small, data = load(engine, db_url)
        assert len(data.open_tickets) == 8
        add_tickets(engine, range(11, 201))
        large, data = load(engine, db_url)
        assert len(data.open_tickets) == 160
        assert small == large
        # the same numbers as `sla report` run on each window alone
        settings = make_settings(db_url)
        with engine.connect() as conn:
            for days in (7, 30):
                groups = {g.key: g for g in report.compliance(
                    conn, settings, since=NOW - timedelta(days=days), until=NOW, now=NOW)}
                shown = {c.level: (c.met, c.breached) for c in data.compliance
                         if c.days == days}
                assert shown == {lv: (groups[lv].met, groups[lv].breached)
                                 for lv in ("urgent", "normal", "low")}
        assert sum(c.total for c in data.compliance if c.days == 30) > sum(
            c.total for c in data.compliance if c.days == 7) > 0
        assert {r.verification_state for r in data.open_tickets} == {
            "not_required", "required", "verified", "locked"}
    finally:
        engine.dispose()


def test_bulk_verification_read_equals_the_per_ticket_one(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        add_tickets(engine, range(1, 13))
        ids = [*range(1, 13), 999]  # 999: no ticket, no request
        with engine.connect() as conn:
            bulk = verification_status.for_tickets(conn, ids)
            single = {tid: verification_status.for_ticket(conn, tid) for tid in ids}
            assert verification_status.for_tickets(conn, []) == {}
        assert bulk == single
        assert bulk[2]["state"] == "verified" and bulk[2]["method"] == "link"
        assert bulk[2]["verified_at"] is not None
        assert bulk[999] == {"required": False, "state": "not_required", "method": None,
                             "verified_at": None}
    finally:
        engine.dispose()


def test_the_dashboard_reads_without_taking_the_write_lock(sqlite_url: str) -> None:
    """The page only reads: on SQLite it must not queue for BEGIN IMMEDIATE behind the
    worker's write transactions."""
    engine = make_engine(sqlite_url)
    try:
        add_tickets(engine, range(1, 11))
        statements, data = load(engine, sqlite_url)
        assert statements and data.open_tickets
        with counted(engine) as sent:
            source._CACHE.clear()
            source.load_dashboard(engine, make_settings(sqlite_url), NOW)
        assert sent and "BEGIN IMMEDIATE" not in sent
    finally:
        engine.dispose()
