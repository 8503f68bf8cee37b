"""The store seam (CONTRACTS), the ticket handlers, billing redirect and escalation
idempotence — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import make_settings
from tests.tickets.conftest import FakeWhmcs, utc
from whmcs_bridge.event_schemas import load_event_data
from whmcs_bridge.sla import engine as E
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.escalate import evaluate_record, sweep
from whmcs_bridge.tickets.replies import post_bridge_reply, post_note
from whmcs_bridge.tickets.tables import ticket_escalations, ticket_messages

T0 = utc(2026, 3, 2, 2, 0)  # 09:00 in Ho Chi Minh City
MIN = timedelta(minutes=1)


def open_ticket(b, tid=1, priority="High", dept=1, user=42, at=T0, admin=False, **extra):
    b.deliver("TicketOpenAdmin" if admin else "TicketOpen",
              {"ticketid": tid, "ticketmask": f"ABC-{tid:06d}", "userid": user, "deptid": dept,
               "subject": extra.pop("subject", "Server down"), "message": "help",
               "priority": priority, **extra}, at)


def swept(b: Any, now: datetime) -> Any:
    """A sweep, then the pass of the WHMCS write sender that follows it in the worker."""
    res = sweep(b.engine, b.settings, b.services, now)
    b.send_writes(now)
    return res


def test_store_contract(db_url: str, bridge_factory) -> None:
    b = bridge_factory(db_url, make_settings(db_url))
    with b.engine.begin() as conn:
        assert store.get_ticket(conn, 5) is None
        store.upsert_ticket(conn, 5, now=T0, tid="X-5", subject="s", priority="Low",
                            status="Open", department_id=2, client_id=7, channel="email",
                            opened_at=T0)
        assert store.start_pause(conn, 5, "awaiting_verification", T0 + MIN)
        assert not store.start_pause(conn, 5, "awaiting_verification", T0 + 2 * MIN)
        store.set_contact_preference(conn, 5, "phone")
    with b.engine.begin() as conn:
        rec = store.get_ticket(conn, 5)
        assert (rec.id, rec.tid, rec.level, rec.channel, rec.client_id) == (5, "X-5", "low",
                                                                           "email", 7)
        assert rec.opened_at == T0 and rec.contact_preference == "phone"
        assert rec.language is None
        ev = evaluate_record(conn, rec, E.Policy.from_settings(b.settings), T0 + 60 * MIN)
        assert ev.state == "paused" and ev.paused_reasons == {"awaiting_verification"}
        assert store.end_pause(conn, 5, "awaiting_verification", T0 + 61 * MIN)
        assert not store.end_pause(conn, 5, "awaiting_verification", T0 + 62 * MIN)
        ev = evaluate_record(conn, rec, E.Policy.from_settings(b.settings), T0 + 62 * MIN)
        assert ev.state == "on_track" and ev.first.remaining_seconds == 118 * 60


def test_events_build_the_sla_picture(db_url: str, bridge_factory, notified) -> None:
    b = bridge_factory(db_url, make_settings(db_url))
    open_ticket(b)
    assert [n[0] for n in notified] == ["urgent_ticket_opened"]
    assert notified[0][1]["due_at"] == (T0 + 30 * MIN).isoformat()
    b.deliver("TicketAddNote", {"ticketid": 1, "message": "looking", "adminid": 1}, T0 + MIN)
    b.deliver("TicketUserReply", {"ticketid": 1, "replyid": 2, "userid": 42,
                                  "status": "Customer-Reply"}, T0 + 2 * MIN)
    with b.engine.begin() as conn:
        rec = store.get_ticket(conn, 1)
        assert rec.channel == "client_area" and rec.status == "Customer-Reply"
        ev = evaluate_record(conn, rec, E.Policy.from_settings(b.settings), T0 + 25 * MIN)
        assert ev.state == "at_risk"
    b.deliver("TicketAdminReply", {"ticketid": 1, "replyid": 3, "admin": "Lan",
                                   "message": "fixed", "status": "Answered"}, T0 + 26 * MIN)
    with b.engine.begin() as conn:
        ev = evaluate_record(conn, store.get_ticket(conn, 1),
                             E.Policy.from_settings(b.settings), T0 + 90 * MIN)
        assert ev.first.state == "met" and ev.first.met_at == (T0 + 26 * MIN).timestamp()
    # the same event delivered twice adds nothing
    b.deliver("TicketAdminReply", {"ticketid": 1, "replyid": 3, "admin": "Lan",
                                   "message": "fixed", "status": "Answered"}, T0 + 26 * MIN)
    with b.engine.begin() as conn:
        n = conn.execute(select(func.count()).select_from(ticket_messages)).scalar_one()
    assert n == 4  # open, note, customer reply, staff reply


def test_bridge_replies_and_auto_responses_do_not_meet(db_url: str, bridge_factory) -> None:
    b = bridge_factory(db_url, make_settings(db_url, sla={"automatic_reply_admins": ["Robot"]}))
    open_ticket(b, priority="Medium")
    with b.engine.begin() as conn:
        assert post_bridge_reply(b.ctx(conn, T0 + MIN), 1, "We are on it.")
        assert post_note(b.ctx(conn, T0 + MIN), 1, "internal", dedupe_key="n1")
        assert not post_note(b.ctx(conn, T0 + MIN), 1, "internal", dedupe_key="n1")
    assert b.whmcs.calls == []  # queued: nothing reaches WHMCS before the commit
    b.send_writes(T0 + MIN)
    assert len(b.whmcs.named("add_ticket_note")) == 1
    # WHMCS reports the bridge's reply back, and an escalation-rule auto reply
    b.deliver("TicketAdminReply", {"ticketid": 1, "replyid": 2, "admin": "Bridge Bot",
                                   "message": "We are on it.\r\n"}, T0 + MIN)
    b.deliver("TicketAdminReply", {"ticketid": 1, "replyid": 3, "admin": "Robot",
                                   "message": "auto"}, T0 + 2 * MIN)
    with b.engine.begin() as conn:
        kinds = dict(conn.execute(select(ticket_messages.c.source_key, ticket_messages.c.kind)
                                  .where(ticket_messages.c.ticket_id == 1)).all())
        assert kinds == {"open": "customer", "reply:2": "bridge", "reply:3": "auto"}
        ev = evaluate_record(conn, store.get_ticket(conn, 1),
                             E.Policy.from_settings(b.settings), T0 + 61 * MIN)
        assert ev.state == "breached" and ev.first.met_at is None


def test_billing_department_gets_hotline_reply(db_url: str, bridge_factory, notified) -> None:
    settings = make_settings(db_url, channels={"billing_department_ids": [3],
                                               "hotline_numbers": ["1900 6046", "(08) 7301 6046"]})
    b = bridge_factory(db_url, settings, FakeWhmcs(language="vietnamese"))
    open_ticket(b, tid=8, dept=3, priority="Medium", subject="Hóa đơn")
    (args, _kwargs), = b.whmcs.named("add_ticket_reply")
    assert args[0] == 8
    assert "1900 6046 hoặc (08) 7301 6046" in args[1]
    assert ("billing_redirected", {"ticket_id": 8, "tid": "ABC-000008", "client_id": 42,
                                   "language": "vi"}) in [(n, p) for n, p, _ in notified]
    # redelivery posts nothing more; an English client gets English
    open_ticket(b, tid=8, dept=3, priority="Medium")
    assert len(b.whmcs.named("add_ticket_reply")) == 1
    b.whmcs.language = "english"
    open_ticket(b, tid=9, dept=3, priority="Medium")
    assert "Please call our hotline on 1900 6046 or (08) 7301 6046" in \
        b.whmcs.named("add_ticket_reply")[1][0][1]
    # a non-billing department gets nothing
    open_ticket(b, tid=10, dept=1)
    assert len(b.whmcs.named("add_ticket_reply")) == 2
    # and the redirect reply never meets the SLA
    b.deliver("TicketAdminReply", {"ticketid": 8, "replyid": 5, "admin": "Bridge",
                                   "message": b.whmcs.named("add_ticket_reply")[0][0][1]}, T0)
    with b.engine.begin() as conn:
        ev = evaluate_record(conn, store.get_ticket(conn, 8),
                             E.Policy.from_settings(b.settings), T0 + 61 * MIN)
        assert ev.state == "breached"


def test_escalation_runs_once_per_cycle(db_url: str, bridge_factory, notified) -> None:
    settings = make_settings(db_url, escalation={
        "flag_admin_id": 7,
        "levels": {"normal": {"at_risk": ["note", "notify"],
                              "breached": ["note", "notify", "raise_priority", "flag_admin",
                                           "move_department"]}}})
    b = bridge_factory(db_url, settings)
    open_ticket(b, priority="Medium")
    for _ in range(10):
        swept(b, T0 + 20 * MIN)  # on track
    assert b.whmcs.calls == [] and [n[0] for n in notified] == []
    for _ in range(10):
        swept(b, T0 + 50 * MIN)  # at risk
    assert len(b.whmcs.named("add_ticket_note")) == 1
    assert "SLA at risk" in b.whmcs.named("add_ticket_note")[0][0][1]
    assert [n[0] for n in notified].count("sla_at_risk") == 1
    res = swept(b, T0 + 70 * MIN)  # breached
    assert res.states == {"breached": 1}
    for _ in range(9):  # breached and escalated: due again only when an event changes it
        assert swept(b, T0 + 70 * MIN).evaluated == 0
    assert len(b.whmcs.named("add_ticket_note")) == 2
    assert [k for _, k in b.whmcs.named("update_ticket")] == [{"priority": "High"}, {"flag": 7}]
    names = [n[0] for n in notified]
    assert names.count("sla_breached") == 1
    assert names.count("escalation_done") == 2  # one per trigger
    # and they are in the real outbox, once each
    from whmcs_bridge.notify.tables import notifications

    with b.engine.begin() as conn:
        queued = sorted(conn.execute(select(notifications.c.notification)).scalars())
    assert queued == ["escalation_done", "escalation_done", "sla_at_risk", "sla_breached"]
    with b.engine.begin() as conn:
        rec = store.get_ticket(conn, 1)
        assert (rec.priority, rec.flag_admin_id) == ("High", 7)
        rows = {(r["trigger"], r["action"]): (r["outcome"], r["detail"])
                for r in store.list_escalations(conn, 1)}
    assert rows[("breached", "move_department")][0] == "skipped"
    assert rows[("breached", "raise_priority")] == ("done", "priority Medium → High")
    # the bridge's own change, reported back by WHMCS, is not "external"
    b.deliver("TicketPriorityChange", {"ticketid": 1, "priority": "High"}, T0 + 71 * MIN)
    with b.engine.begin() as conn:
        assert all(r["trigger"] != "external" for r in store.list_escalations(conn, 1))


def test_changes_made_outside_the_bridge_are_recorded_not_fought(db_url, bridge_factory) -> None:
    # actions follow the cycle's current level: after WHMCS's change that is "normal"
    settings = make_settings(db_url, escalation={"levels": {"normal": {
        "at_risk": [], "breached": ["raise_priority", "note"]}}})
    b = bridge_factory(db_url, settings)
    open_ticket(b, priority="Low")
    # a WHMCS escalation rule raises the priority after 100 minutes
    b.deliver("TicketPriorityChange", {"ticketid": 1, "priority": "Medium"}, T0 + 100 * MIN)
    with b.engine.begin() as conn:
        ext = [r for r in store.list_escalations(conn, 1) if r["trigger"] == "external"]
        assert [(r["action"], r["outcome"]) for r in ext] == [("priority_changed", "observed")]
    swept(b, T0 + 130 * MIN)
    swept(b, T0 + 131 * MIN)
    assert b.whmcs.named("update_ticket") == []
    assert len(b.whmcs.named("add_ticket_note")) == 1
    with b.engine.begin() as conn:
        rows = {r["action"]: r for r in store.list_escalations(conn, 1)
                if r["trigger"] == "breached"}
    assert rows["raise_priority"]["outcome"] == "skipped"
    assert "outside the bridge" in rows["raise_priority"]["detail"]


def test_failed_write_is_retried_by_the_sender_not_the_sweep(db_url, bridge_factory) -> None:
    settings = make_settings(db_url, whmcs={"write_rate_per_second": 1000})
    b = bridge_factory(db_url, settings)
    open_ticket(b, priority="High")
    b.whmcs.fail.add("add_ticket_note")
    res = sweep(b.engine, settings, b.services, T0 + 25 * MIN)
    assert not res.failed and b.whmcs.calls == []  # the sweep queued it, WHMCS not asked
    report = b.send_writes(T0 + 25 * MIN)
    assert (report.failed, b.whmcs.named("add_ticket_note")) == (1, [])
    swept(b, T0 + 26 * MIN)  # past the backoff: sent now, and the sweep queues nothing more
    swept(b, T0 + 27 * MIN)
    assert len(b.whmcs.named("add_ticket_note")) == 1
    # it timed out before WHMCS applied it, so the retry looked (GetTicket) and then posted
    assert [c[0] for c in b.whmcs.calls] == ["get_ticket", "add_ticket_note"]
    with b.engine.begin() as conn:
        n = conn.execute(select(func.count()).select_from(ticket_escalations).where(
            ticket_escalations.c.action == "note")).scalar_one()
    assert n == 1


def test_chat_and_staff_tickets(db_url, bridge_factory, notified) -> None:
    settings = make_settings(db_url, channels={"chat_department_ids": [9]})
    b = bridge_factory(db_url, settings)
    open_ticket(b, tid=1, dept=9, priority="High")
    open_ticket(b, tid=2, dept=1, priority="Low", admin=True)
    open_ticket(b, tid=3, dept=1, priority="Low", user=0)
    with b.engine.begin() as conn:
        recs = {i: store.get_ticket(conn, i) for i in (1, 2, 3)}
        assert {i: r.channel for i, r in recs.items()} == {1: "chat", 2: "staff", 3: "email"}
        pol = E.Policy.from_settings(settings)
        assert evaluate_record(conn, recs[1], pol, T0 + 99 * MIN).state == "not_applicable"
        assert evaluate_record(conn, recs[2], pol, T0 + 999 * MIN).state == "not_applicable"
    assert notified == []  # urgent chat ticket: no promise, no alert


def test_piped_mail_from_a_known_client_is_email(db_url, bridge_factory) -> None:
    b = bridge_factory(db_url, make_settings(db_url))
    b.deliver("TicketPiping", {"to": "support@example.test", "email": "an@example.net",
                               "name": "An", "subject": "Mail is broken", "body": "..."}, T0)
    open_ticket(b, tid=4, subject="Mail is broken", at=T0 + MIN)
    open_ticket(b, tid=5, subject="Another subject", at=T0 + MIN)
    with b.engine.begin() as conn:
        assert store.get_ticket(conn, 4).channel == "email"
        assert store.get_ticket(conn, 5).channel == "client_area"


def test_periodic_sweep_job(db_url, bridge_factory, notified) -> None:
    from whmcs_bridge.hooks.context import JobContext
    from whmcs_bridge.hooks.sla import _last_sweep, sla_sweep

    _last_sweep.clear()
    settings = make_settings(db_url)
    b = bridge_factory(db_url, settings)
    open_ticket(b, priority="High")
    ctx = JobContext(settings=settings, engine=b.engine, now=T0 + 40 * MIN,
                     services=b.services)
    out = sla_sweep(ctx)
    assert out["evaluated"] == 1 and out["states"] == {"breached": 1}
    assert {(a["trigger"], a["action"]) for a in out["actions"]} == {
        ("breached", "note"), ("breached", "notify"), ("breached", "flag_admin")}
    ctx.now += timedelta(seconds=60)
    assert sla_sweep(ctx)["actions"] == []  # nothing twice
    with b.engine.begin() as conn:
        rec = store.get_ticket(conn, 1)
    assert (rec.sla_state, rec.sla_due_at) == ("breached", T0 + 30 * MIN)


def test_ticket_first_seen_through_a_reply_waits_for_sync(db_url, bridge_factory) -> None:
    b = bridge_factory(db_url, make_settings(db_url))
    b.deliver("TicketUserReply", {"ticketid": 77, "replyid": 9, "userid": 42,
                                  "priority": "High", "status": "Customer-Reply"}, T0)
    with b.engine.begin() as conn:
        rec = store.get_ticket(conn, 77)
        assert rec.sync_pending and rec.opened_at is None
        assert (rec.channel, rec.client_id) == ("client_area", 42)  # best guess until sync
        ev = evaluate_record(conn, rec, E.Policy.from_settings(b.settings), T0 + 99 * MIN)
    assert ev.state == "not_applicable" and ev.cycles == []


def test_on_hold_and_close_events_drive_the_clock(db_url, bridge_factory) -> None:
    b = bridge_factory(db_url, make_settings(db_url))
    open_ticket(b, priority="Medium")
    b.deliver("TicketStatusChange", {"ticketid": 1, "status": "On Hold", "adminid": 1},
              T0 + 10 * MIN)
    pol = E.Policy.from_settings(b.settings)
    with b.engine.begin() as conn:
        ev = evaluate_record(conn, store.get_ticket(conn, 1), pol, T0 + 300 * MIN)
    assert ev.state == "paused" and ev.first.remaining_seconds == 50 * 60
    b.deliver("TicketStatusChange", {"ticketid": 1, "status": "In Progress", "adminid": 1},
              T0 + 300 * MIN)
    with b.engine.begin() as conn:
        ev = evaluate_record(conn, store.get_ticket(conn, 1), pol, T0 + 340 * MIN)
    assert ev.state == "at_risk" and ev.first.due_at == (T0 + 350 * MIN).timestamp()
    b.deliver("TicketClose", {"ticketid": 1}, T0 + 345 * MIN)
    with b.engine.begin() as conn:
        rec = store.get_ticket(conn, 1)
        ev = evaluate_record(conn, rec, pol, T0 + 999 * MIN)
        assert rec.status == "Closed" and ev.first.state == "not_applicable"
        assert list(store.open_ticket_ids(conn, ["Closed"])) == []


@pytest.mark.parametrize("key", ["newTicketID", "newTicketId"])
def test_split_marks_both_tickets_for_sync_whichever_key_names_the_new_one(
        sqlite_url: str, bridge_factory, key: str) -> None:
    """TicketSplit's new ticket is ``newTicketID`` in the docs and ``newTicketId`` in some
    releases (issue 12.7): loaded through the receiver's schema, both reach the handler."""
    b = bridge_factory(sqlite_url, make_settings(sqlite_url))
    open_ticket(b, tid=10)
    data = load_event_data("TicketSplit", {"originalTicketId": "10", key: "13"})
    b.deliver("TicketSplit", data, T0 + MIN)
    with b.engine.begin() as conn:
        original, new = store.get_ticket(conn, 10), store.get_ticket(conn, 13)
    assert original is not None and original.sync_pending
    assert new is not None and new.sync_pending


def test_handlers_registered_at_the_contract_priorities() -> None:
    from whmcs_bridge.hooks import sla, tickets
    from whmcs_bridge.hooks.registry import load_registry

    reg = load_registry([tickets, sla], entry_point_group=None)
    order = [(h.priority, h.name) for h in reg.handlers_for("TicketOpen")]
    assert order == [(10, "tickets.opened"), (20, "tickets.billing_redirect"),
                     (40, "sla.urgent_opened"), (90, "sla.reevaluate")]
    for hook in ("TicketOpenAdmin", "TicketUserReply", "TicketAdminReply", "TicketStatusChange",
                 "TicketPriorityChange", "TicketDepartmentChange", "TicketClose",
                 "TicketAddNote", "TicketPiping", "TicketDelete", "TicketDeleteReply",
                 "TicketMerge", "TicketSplit", "TicketFlagged", "TicketSubjectChange"):
        assert any(h.priority == 10 for h in reg.handlers_for(hook)), hook
    assert [(j.name, j.every_seconds) for j in reg.jobs()] == [("sla.sweep", 60)]


def test_sweep_seconds_spaces_the_periodic_sweeps(sqlite_url, bridge_factory) -> None:
    from whmcs_bridge.hooks.context import JobContext
    from whmcs_bridge.hooks.sla import _last_sweep, sla_sweep

    _last_sweep.clear()
    settings = make_settings(sqlite_url, sla={"sweep_seconds": 300})
    b = bridge_factory(sqlite_url, settings)
    ticks = [sla_sweep(JobContext(settings=settings, engine=b.engine, now=T0 + i * MIN,
                                  services=b.services)) for i in range(7)]
    assert [t.get("skipped", False) for t in ticks] == [False, True, True, True, True,
                                                         False, True]
