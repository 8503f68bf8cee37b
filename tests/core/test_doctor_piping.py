"""``doctor``'s piping check (issue 13.2): TicketPiping not forwarded by the module fails.

The module reports the hooks it forwards with its connection test; without a report, e-mail
tickets with no TicketPiping event in 30 days fail; no evidence either way is a warning.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from whmcs_bridge.doctor import FAIL, OK, WARN, check_piping, run_checks
from whmcs_bridge.store.tables import events
from whmcs_bridge.tickets import store as tstore

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _event(engine: Any, type_: str, data: dict[str, Any], at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(events.insert().values(
            id=f"msg_{uuid.uuid4().hex}", type=type_, received_at=at, status="done",
            payload={"type": type_, "timestamp": at.isoformat(), "data": data},
            source="whmcs-bridge-addon/1.0.0 WHMCS/8.10.1"))


def _mailed_ticket(engine: Any, ticket_id: int, at: datetime) -> None:
    with engine.begin() as conn:
        tstore.upsert_ticket(conn, ticket_id, now=at, tid=f"M-{ticket_id}", subject="Hi",
                             priority="Medium", status="Open", department_id=1,
                             channel="email", opened_at=at)


def test_module_report_without_ticket_piping_fails(engine: Any) -> None:
    _event(engine, "TicketPiping", {"subject": "older"}, NOW - timedelta(days=2))
    _event(engine, "WhmcsBridgeConnectionTest",
           {"source": "admin page", "forwarded": ["TicketOpen", "TicketUserReply"]},
           NOW - timedelta(hours=1))
    check = check_piping(engine, NOW)
    assert check.state == FAIL and "does not forward TicketPiping" in check.summary
    assert check.details["forwarded"] == ["TicketOpen", "TicketUserReply"]


def test_module_report_with_ticket_piping_is_ok(engine: Any) -> None:
    _event(engine, "WhmcsBridgeConnectionTest",
           {"source": "admin page", "forwarded": ["TicketOpen", "TicketPiping"]},
           NOW - timedelta(hours=1))
    assert check_piping(engine, NOW).state == OK


def test_mail_tickets_without_any_piping_event_fail(engine: Any) -> None:
    _mailed_ticket(engine, 501, NOW - timedelta(days=3))
    check = check_piping(engine, NOW)
    assert check.state == FAIL and "1 ticket(s) came by e-mail" in check.summary
    _event(engine, "TicketPiping", {"subject": "Hi"}, NOW - timedelta(days=3))
    assert check_piping(engine, NOW).state == OK


def test_no_evidence_is_a_warning_and_doctor_runs_it(engine: Any, settings: Any) -> None:
    assert check_piping(engine, NOW).state == WARN
    assert "piping" in [c.name for c in run_checks(settings, engine)]
