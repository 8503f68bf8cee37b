"""The whole chain through the real worker: a TicketOpen event saying "please call me" is
handled (tickets, SLA, notify handlers), queued in the outbox, and delivered by the worker's
``notify.deliver`` job to a real SMTP server — once, even when the event is replayed."""

from __future__ import annotations

from datetime import timedelta

from tests.notify.conftest import NOW, notify_settings
from whmcs_bridge.hooks.context import Services
from whmcs_bridge.hooks.registry import load_registry
from whmcs_bridge.notify import outbox
from whmcs_bridge.runtime import BUILTIN_HANDLERS
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.store import inbox, make_engine
from whmcs_bridge.store.ingest import NewEvent, store_one
from whmcs_bridge.tickets import store
from whmcs_bridge.worker import Worker


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def test_ticket_event_to_staff_mailbox_through_the_worker(sqlite_url, smtp_server) -> None:
    recorder, port = smtp_server
    sim = run_in_thread(SimConfig(seed=5, clients=4, tickets=12))
    engine = make_engine(sqlite_url)
    try:
        ticket = next(t for t in sim.state.tickets.values() if t.userid)
        settings = notify_settings(
            sqlite_url, smtp={"host": "127.0.0.1", "port": port, "starttls": False,
                              "from": "bridge@example.com"},
            staff=[{"email": "oncall@example.com", "language": "en"}])
        data = {"ticketid": ticket.id, "ticketmask": ticket.tid, "userid": ticket.userid,
                "deptid": ticket.deptid, "subject": "Server down",
                "message": "Our server is down. Please call me on 0903 123 456.",
                "priority": "High"}
        assert store_one(engine, NewEvent(
            id="evt-call-me", type="TicketOpen",
            payload={"type": "TicketOpen", "timestamp": NOW.isoformat(), "data": data},
            received_at=NOW - timedelta(seconds=1)))
        clock = Clock()
        # every built-in handler and job
        registry = load_registry(BUILTIN_HANDLERS, entry_point_group=None)
        worker = Worker(settings, engine, registry, clock=clock,
                        services=Services(settings, whmcs=sim.client(retries=0)))
        worker.run(once=True)
        with engine.connect() as conn:
            assert store.get_ticket(conn, ticket.id).contact_preference == "phone"
            queued = [r for r in outbox.list_deliveries(conn)
                      if r["notification"] == "contact_preference"]
        assert [(r["channel"], r["recipient"]) for r in queued] == [
            ("smtp", "oncall@example.com")]

        clock.now = NOW + timedelta(seconds=10)
        [job] = [j for j in registry.jobs() if j.name == "notify.deliver"]
        assert worker.run_job(job, clock.now)
        subjects = [m["Subject"] for m in recorder.messages]
        assert subjects.count(
            f"[#{ticket.tid}] Customer asks to be contacted by a phone call") == 1
        assert len(subjects) == len(set(subjects))  # nothing went twice
        # the SLA room's producer reaches the same outbox: the urgent ticket is announced too
        assert f"[#{ticket.tid}] New URGENT ticket: Server down" in subjects

        inbox.replay(engine, "evt-call-me", now=clock.now)  # an admin replays the event
        worker.run(once=True)
        clock.now += timedelta(seconds=10)
        assert worker.run_job(job, clock.now)
        assert [m["Subject"] for m in recorder.messages] == subjects
    finally:
        engine.dispose()
        sim.stop()
