"""The sweep reads only the tickets that are due; events re-evaluate their own ticket at once;
store writes that change the SLA's inputs make a ticket due — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import make_settings
from tests.tickets.conftest import utc
from whmcs_bridge.tickets import escalate, store
from whmcs_bridge.tickets.escalate import sweep
from whmcs_bridge.tickets.tables import SLA_DIRTY, tickets

T0 = utc(2026, 3, 2, 2, 0)
MIN = timedelta(minutes=1)
QUIET = {"levels": {lvl: {"at_risk": [], "breached": []} for lvl in ("urgent", "normal", "low")}}


def open_ticket(b, tid, priority="High", at=T0):
    b.deliver("TicketOpen", {"ticketid": tid, "ticketmask": f"ABC-{tid:06d}", "userid": 42,
                             "deptid": 1, "subject": "Server down", "message": "help",
                             "priority": priority}, at)


def next_at(b, tid):
    with b.engine.connect() as conn:
        return conn.execute(select(tickets.c.sla_next_at)
                            .where(tickets.c.id == tid)).scalar_one()


def test_the_first_sweep_evaluates_every_open_ticket_once(db_url, bridge_factory,
                                                          monkeypatch) -> None:
    settings = make_settings(db_url, escalation=QUIET)
    b = bridge_factory(db_url, settings)
    open_ticket(b, 1, "High")
    open_ticket(b, 2, "Low")
    seen = evaluated_ids(monkeypatch)
    sweep(b.engine, settings, b.services, T0 + MIN)  # no policy recorded yet (an upgrade)
    assert sorted(seen) == [1, 2]
    seen.clear()
    sweep(b.engine, settings, b.services, T0 + 2 * MIN)
    assert seen == []


def evaluated_ids(monkeypatch) -> list[int]:
    """The ids whose histories the sweep loads (what it reads per ticket)."""
    seen: list[int] = []
    real = store.histories

    def histories(conn, recs):
        seen.extend(r.id for r in recs)
        return real(conn, recs)

    monkeypatch.setattr(store, "histories", histories)
    return seen


def test_an_event_stores_its_ticket_state_and_next_transition(db_url, bridge_factory) -> None:
    b = bridge_factory(db_url, make_settings(db_url, escalation=QUIET))
    open_ticket(b, 1, "High")  # urgent: 30 min, at risk at 80 %
    with b.engine.connect() as conn:
        rec = store.get_ticket(conn, 1)
    assert (rec.sla_state, rec.sla_due_at) == ("on_track", T0 + 30 * MIN)
    assert next_at(b, 1) == T0 + 24 * MIN
    b.deliver("TicketPriorityChange", {"ticketid": 1, "priority": "Low"}, T0 + 10 * MIN)
    assert next_at(b, 1) == T0 + 10 * MIN + 96 * MIN  # low: 120 min from the change
    b.deliver("TicketStatusChange", {"ticketid": 1, "status": "On Hold"}, T0 + 11 * MIN)
    with b.engine.connect() as conn:
        assert store.get_ticket(conn, 1).sla_state == "paused"
    assert next_at(b, 1) is None  # paused: only an event changes it
    b.deliver("TicketAdminReply", {"ticketid": 1, "replyid": 5, "admin": "An",
                                   "status": "Answered"}, T0 + 12 * MIN)
    with b.engine.connect() as conn:
        assert store.get_ticket(conn, 1).sla_state == "met"
    assert next_at(b, 1) is None


def test_the_sweep_evaluates_only_the_tickets_due(db_url, bridge_factory, monkeypatch) -> None:
    settings = make_settings(db_url, escalation=QUIET)
    b = bridge_factory(db_url, settings)
    open_ticket(b, 1, "High")  # at risk at T0+24
    open_ticket(b, 2, "Medium")  # at risk at T0+48
    open_ticket(b, 3, "Low")  # at risk at T0+96
    sweep(b.engine, settings, b.services, T0 + MIN)  # the first sweep records the policy
    seen = evaluated_ids(monkeypatch)
    res = sweep(b.engine, settings, b.services, T0 + 20 * MIN)
    assert (res.evaluated, seen) == (0, [])  # nothing crossed a threshold
    res = sweep(b.engine, settings, b.services, T0 + 25 * MIN)
    assert (res.evaluated, res.states, seen) == (1, {"at_risk": 1}, [1])
    assert next_at(b, 1) == T0 + 30 * MIN
    seen.clear()
    res = sweep(b.engine, settings, b.services, T0 + 50 * MIN)
    assert (res.states, sorted(seen)) == ({"breached": 1, "at_risk": 1}, [1, 2])
    seen.clear()
    res = sweep(b.engine, settings, b.services, T0 + 51 * MIN)
    assert (res.evaluated, seen) == (0, [])
    with b.engine.connect() as conn:
        states = {i: store.get_ticket(conn, i).sla_state for i in (1, 2, 3)}
    assert states == {1: "breached", 2: "at_risk", 3: "on_track"}


def test_store_writes_make_a_ticket_due(db_url, bridge_factory, monkeypatch) -> None:
    settings = make_settings(db_url, escalation=QUIET)
    b = bridge_factory(db_url, settings)
    open_ticket(b, 1, "High")
    open_ticket(b, 2, "High")
    sweep(b.engine, settings, b.services, T0 + MIN)  # the first sweep records the policy
    with b.engine.begin() as conn:  # e.g. the verification room, outside any ticket event
        assert store.start_pause(conn, 1, "awaiting_verification", T0 + 5 * MIN)
    assert next_at(b, 1) == SLA_DIRTY and next_at(b, 2) == T0 + 24 * MIN
    seen = evaluated_ids(monkeypatch)
    res = sweep(b.engine, settings, b.services, T0 + 6 * MIN)
    assert (res.states, seen) == ({"paused": 1}, [1])
    assert next_at(b, 1) is None
    with b.engine.begin() as conn:
        assert store.end_pause(conn, 1, "awaiting_verification", T0 + 10 * MIN)
        store.upsert_ticket(conn, 2, now=T0 + 10 * MIN, subject="renamed")  # not an input
    assert next_at(b, 1) == SLA_DIRTY and next_at(b, 2) == T0 + 24 * MIN
    seen.clear()
    sweep(b.engine, settings, b.services, T0 + 11 * MIN)
    assert seen == [1] and next_at(b, 1) == T0 + 29 * MIN  # 24 working minutes + 5 paused


def test_a_changed_policy_makes_every_open_ticket_due(db_url, bridge_factory,
                                                     monkeypatch) -> None:
    settings = make_settings(db_url, escalation=QUIET)
    b = bridge_factory(db_url, settings)
    open_ticket(b, 1, "High")
    open_ticket(b, 2, "Low")
    sweep(b.engine, settings, b.services, T0 + MIN)
    seen = evaluated_ids(monkeypatch)
    sweep(b.engine, settings, b.services, T0 + 2 * MIN)
    assert seen == []
    stricter = make_settings(db_url, escalation=QUIET,
                             sla={"first_reply_minutes": {"urgent": 10, "low": 20}})
    res = sweep(b.engine, stricter, b.services, T0 + 3 * MIN)
    assert sorted(seen) == [1, 2] and res.evaluated == 2
    assert next_at(b, 1) == T0 + 8 * MIN and next_at(b, 2) == T0 + 16 * MIN


def test_a_failed_escalation_stays_due_and_a_done_one_does_not(db_url, bridge_factory,
                                                               monkeypatch) -> None:
    settings = make_settings(db_url)
    b = bridge_factory(db_url, settings)
    open_ticket(b, 1, "High")
    # the note is queued in the WHMCS write outbox (WHMCS failures are the sender's to retry):
    # what fails in the sweep is the action's own transaction, here queueing the note
    queue_note = escalate.replies.post_note

    def broken(*args, **kwargs):
        raise RuntimeError("queueing the note failed (injected)")

    monkeypatch.setattr(escalate.replies, "post_note", broken)
    res = sweep(b.engine, settings, b.services, T0 + 25 * MIN)
    assert res.failed and next_at(b, 1) == T0 + 25 * MIN  # retried by the next sweep
    monkeypatch.setattr(escalate.replies, "post_note", queue_note)
    res = sweep(b.engine, settings, b.services, T0 + 26 * MIN)
    assert not res.failed and {a[2] for a in res.actions} >= {"note"}
    assert next_at(b, 1) == T0 + 30 * MIN  # at-risk actions done: look again when due
    b.send_writes(T0 + 26 * MIN)  # the worker's sender pass after the sweep
    assert len(b.whmcs.named("add_ticket_note")) == 1
    assert escalate.policy_digest(settings) == escalate.policy_digest(make_settings(db_url))


def test_closed_and_deleted_tickets_leave_the_due_range(db_url, bridge_factory,
                                                        monkeypatch) -> None:
    settings = make_settings(db_url, escalation=QUIET)
    b = bridge_factory(db_url, settings)
    for tid in (1, 2, 3):
        open_ticket(b, tid, "High")
    sweep(b.engine, settings, b.services, T0 + MIN)
    with b.engine.begin() as conn:  # as a sync read does: no event re-evaluates them
        store.upsert_ticket(conn, 1, now=T0 + 2 * MIN, status="Closed")
        store.upsert_ticket(conn, 2, now=T0 + 2 * MIN, deleted=True)
    assert next_at(b, 1) == SLA_DIRTY and next_at(b, 2) == SLA_DIRTY
    seen = evaluated_ids(monkeypatch)
    res = sweep(b.engine, settings, b.services, T0 + 3 * MIN)
    assert (res.evaluated, seen) == (0, [])  # only open tickets are evaluated
    assert next_at(b, 1) is None and next_at(b, 2) is None  # and the range is left clean
    assert next_at(b, 3) == T0 + 24 * MIN
    with b.engine.begin() as conn:  # reopened: due again
        store.upsert_ticket(conn, 1, now=T0 + 4 * MIN, status="Open")
    sweep(b.engine, settings, b.services, T0 + 5 * MIN)
    assert seen == [1]
