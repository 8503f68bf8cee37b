"""The compliance report against a hand-computed fixture."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.conftest import make_settings
from tests.tickets.conftest import utc
from whmcs_bridge.store import make_engine
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.report import compliance, to_csv, to_table

T = utc(2026, 3, 2, 2, 0)
M = timedelta(minutes=1)
NOW = T + 1000 * M


def _ticket(conn, tid, priority, *, at=T, client=42, dept=1, channel="client_area",
            messages=(), statuses=()):
    store.upsert_ticket(conn, tid, now=at, tid=f"R-{tid}", subject="s", priority=priority,
                        status="Open", department_id=dept, client_id=client, channel=channel,
                        opened_at=at)
    store.add_message(conn, tid, "open", "customer", at)
    for n, (minutes, kind) in enumerate(messages):
        store.add_message(conn, tid, f"reply:{tid * 100 + n}", kind, at + minutes * M)
    for minutes, status in statuses:
        store.record_change(conn, tid, "status", None, status, at=at + minutes * M,
                            actor="whmcs", source="event")


def fixture(conn) -> None:
    # urgent (30 min)
    _ticket(conn, 1, "High", messages=[(20, "staff")])  # met, 20
    _ticket(conn, 2, "High", client=None, channel="email", messages=[(45, "staff")])  # late 45
    _ticket(conn, 3, "High")  # never answered: breached
    # normal (60 min)
    _ticket(conn, 4, "Medium", messages=[(30, "staff")])  # met, 30
    _ticket(conn, 5, "Medium", messages=[(80, "staff")],
            statuses=[(10, "On Hold"), (70, "Open")])  # 60 paused: met, 20 on the SLA clock
    _ticket(conn, 6, "Medium", messages=[(50, "staff")])  # met, 50
    _ticket(conn, 7, "Medium", messages=[(5, "note"), (6, "bridge"), (61, "staff")])  # late 61
    # low (120 min)
    _ticket(conn, 8, "Low", statuses=[(30, "Closed")])  # closed unanswered before due
    _ticket(conn, 9, "Low", at=NOW - 10 * M)  # not due yet: pending
    # not counted: chat (no promise) and opened outside the period
    _ticket(conn, 10, "High", channel="chat")
    _ticket(conn, 11, "High", at=T - timedelta(days=3))


def test_report_matches_hand_computed_numbers(db_url: str) -> None:
    engine = make_engine(db_url)
    settings = make_settings(db_url)
    with engine.begin() as conn:
        fixture(conn)
    with engine.connect() as conn:
        by_level = {g.key: g.as_dict() for g in compliance(
            conn, settings, since=T - timedelta(days=1), until=T + timedelta(days=2),
            by="priority", now=NOW)}
        by_channel = {g.key: g.as_dict() for g in compliance(
            conn, settings, since=T - timedelta(days=1), until=T + timedelta(days=2),
            by="channel", now=NOW)}
    engine.dispose()
    assert by_level == {
        "urgent": {"key": "urgent", "tickets": 3, "met": 1, "breached": 2, "pending": 0,
                   "closed_unanswered": 0, "met_pct": 33.3, "median_minutes": 32.5,
                   "p90_minutes": 45.0},
        "normal": {"key": "normal", "tickets": 4, "met": 3, "breached": 1, "pending": 0,
                   "closed_unanswered": 0, "met_pct": 75.0, "median_minutes": 40.0,
                   "p90_minutes": 61.0},
        "low": {"key": "low", "tickets": 2, "met": 0, "breached": 0, "pending": 1,
                "closed_unanswered": 1, "met_pct": None, "median_minutes": None,
                "p90_minutes": None},
    }
    assert by_channel["client_area"]["tickets"] == 8
    assert (by_channel["client_area"]["met_pct"], by_channel["client_area"]["median_minutes"],
            by_channel["client_area"]["p90_minutes"]) == (66.7, 30.0, 61.0)
    assert (by_channel["email"]["met"], by_channel["email"]["breached"],
            by_channel["email"]["met_pct"]) == (0, 1, 0.0)
    assert "chat" not in by_channel


def test_report_formats(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    settings = make_settings(sqlite_url)
    with engine.begin() as conn:
        fixture(conn)
    with engine.connect() as conn:
        rows = compliance(conn, settings, since=T - timedelta(days=1),
                          until=T + timedelta(days=2), by="department", now=NOW)
    engine.dispose()
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [(r["key"], r["tickets"], r["met_pct"]) for r in parsed] == [("1", "9", "57.1")]
    table = to_table(rows, "department")
    assert table.splitlines()[0].split()[:3] == ["department", "tickets", "met"]
    assert "57.1" in table
