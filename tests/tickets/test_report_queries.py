"""The compliance report loads in bulk: the number of SQL statements a report issues does not
grow with the number of tickets, and neither chunking nor evaluating several periods in one
pass changes a number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import counted, make_settings
from tests.tickets.conftest import utc
from whmcs_bridge.store import make_engine
from whmcs_bridge.tickets import report, store

M = timedelta(minutes=1)
#: two populations far apart in time: 10 tickets in the first week, 200 in the second
SMALL = utc(2026, 3, 2, 2, 0)
LARGE = SMALL + timedelta(days=7)
NOW = LARGE + timedelta(days=2)


def populate(conn: Any, first_id: int, n: int, start: datetime) -> None:
    """``n`` tickets of every kind the report tells apart: answered in time or late, paused
    (pause row and On Hold), closed unanswered, never answered, chat, staff-opened."""
    for k in range(n):
        tid = first_id + k
        at = start + k * 7 * M
        shape = k % 8
        channel = {5: "chat", 6: "staff", 7: "email"}.get(shape, "client_area")
        store.upsert_ticket(conn, tid, now=at, tid=f"Q-{tid}", subject="s",
                            priority=("High", "Medium", "Low")[k % 3], status="Open",
                            department_id=1 + k % 2, client_id=tid, channel=channel,
                            opened_at=at)
        store.add_message(conn, tid, "open", "staff" if channel == "staff" else "customer", at)
        if shape in (0, 5, 6, 7):
            store.add_message(conn, tid, f"reply:{tid}", "staff", at + (10 + k % 90) * M)
        elif shape == 1:
            store.record_change(conn, tid, "status", "Open", "On Hold", at=at + 5 * M,
                                actor="whmcs", source="event")
            store.record_change(conn, tid, "status", "On Hold", "Open", at=at + 50 * M,
                                actor="whmcs", source="event")
            store.add_message(conn, tid, f"reply:{tid}", "staff", at + 70 * M)
        elif shape == 2:
            store.start_pause(conn, tid, "awaiting_verification", at + 3 * M)
            if k % 3:
                store.end_pause(conn, tid, "awaiting_verification", at + 40 * M)
        elif shape == 3:
            store.record_change(conn, tid, "status", "Open", "Closed", at=at + 4 * M,
                                actor="whmcs", source="event")
        # shape 4: never answered


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    with eng.begin() as conn:
        populate(conn, 1, 10, SMALL)
        populate(conn, 1001, 200, LARGE)
    yield eng
    eng.dispose()


def _as_dicts(groups: list[report.Group]) -> list[dict[str, Any]]:
    return [g.as_dict() for g in groups]


@pytest.mark.parametrize("by", report.GROUPINGS)
def test_statement_count_does_not_grow_with_tickets(engine: Engine, db_url: str,
                                                    by: str) -> None:
    settings = make_settings(db_url)
    counts: dict[int, int] = {}
    for n, start in ((10, SMALL), (200, LARGE)):
        with counted(engine) as statements, engine.connect() as conn:
            groups = report.compliance(conn, settings, since=start,
                                       until=start + timedelta(days=2), by=by, now=NOW)
        counts[n] = len(statements)
        # chat and staff-opened tickets owe no first reply; every other is counted once
        assert sum(g.tickets for g in groups) == n - len(range(5, n, 8)) - len(range(6, n, 8))
    assert counts[10] == counts[200], counts
    # the tickets, then their messages, changes and pauses (and SQLite's explicit BEGIN)
    assert counts[200] <= 1 + 3 + 1, counts


def test_chunking_changes_no_number(engine: Engine, db_url: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(db_url)
    period = {"since": LARGE, "until": LARGE + timedelta(days=2), "now": NOW}
    with engine.connect() as conn:
        whole = _as_dicts(report.compliance(conn, settings, **period))
        monkeypatch.setattr(report, "CHUNK", 7)
        with counted(engine) as statements:
            chunked = _as_dicts(report.compliance(conn, settings, **period))
    assert chunked == whole
    assert {g["key"] for g in whole} == {"urgent", "normal", "low"}
    assert sum(g["met"] + g["breached"] for g in whole) > 0
    assert len(statements) == 1 + 3 * -(-200 // 7)  # bounded by chunks, not by tickets


def test_periods_in_one_pass_equal_each_period_alone(engine: Engine, db_url: str) -> None:
    settings = make_settings(db_url)
    periods = [(SMALL, NOW), (LARGE, NOW), (SMALL, SMALL + 30 * M), (LARGE + 5 * 60 * M, NOW)]
    with engine.connect() as conn:
        together = report.compliance_periods(conn, settings, periods, by="channel", now=NOW)
        alone = [report.compliance(conn, settings, since=s, until=u, by="channel", now=NOW)
                 for s, u in periods]
        assert report.compliance_periods(conn, settings, [], now=NOW) == []
        with pytest.raises(ValueError, match="--by"):
            report.compliance_periods(conn, settings, periods, by="client", now=NOW)
    assert [_as_dicts(g) for g in together] == [_as_dicts(g) for g in alone]
    assert sum(g.tickets for g in together[0]) > sum(g.tickets for g in together[1]) > 0
    assert sum(g.tickets for g in together[2]) == 5  # opened 0, 7, 14, 21, 28 min in
