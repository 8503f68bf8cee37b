"""Zero-configuration staff notifications (issue 15): with WHMCS configured and no staff
channel set, staff hear through WHMCS itself (SendAdminEmail to the ticket's department), with
the outbox's dedupe and rate limit; end to end on the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import make_settings
from tests.notify.conftest import sample_payload
from whmcs_bridge.context import Services
from whmcs_bridge.notify import outbox, routing
from whmcs_bridge.notify.deliver import deliver_due
from whmcs_bridge.notify.tables import deliveries
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.store import make_engine
from whmcs_bridge.sync import run_sync
from whmcs_bridge.tickets.escalate import sweep


@pytest.fixture
def sim() -> Iterator[Any]:
    handle = run_in_thread(SimConfig(tickets=40, clients=6, seed=3))
    yield handle
    handle.stop()


def _settings(db_url: str, sim: Any, **notifications: Any) -> Any:
    return make_settings(db_url, whmcs={"url": sim.url, "identifier": sim.identifier,
                                        "secret": sim.secret, "timezone": "UTC",
                                        "admin_username": "bridge"},
                         notifications=notifications)


def test_routing_defaults_to_whmcs_admin_mail_only_without_other_channels() -> None:
    section = make_settings().notifications
    payload = sample_payload("sla_breached", department_id=4)
    assert routing.resolve(section, "sla_breached", payload) == []
    got = routing.resolve(section, "sla_breached", payload, whmcs=True)
    assert [(t.channel, t.recipient) for t in got] == [("whmcs_admin", "dept:4")]
    system = routing.resolve(section, "escalation_done", sample_payload("escalation_done"),
                             whmcs=True)
    assert [(t.channel, t.recipient) for t in system] == [("whmcs_admin", "system")]
    slack = make_settings(notifications={"slack": {"url": "https://hooks.slack.test/x"}})
    assert [t.channel for t in routing.resolve(slack.notifications, "sla_breached", payload,
                                               whmcs=True)] == ["slack"]


def test_dedupe_and_rate_limit_through_send_admin_email(sqlite_url: str, sim: Any) -> None:
    settings = _settings(sqlite_url, sim, coalesce_seconds=0, rate_limits={"whmcs_admin": 3})
    engine = make_engine(sqlite_url)
    now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for i in range(5):
            payload = sample_payload("sla_breached", ticket_id=100 + i, tid=f"T-{i}",
                                     department_id=2)
            assert outbox.enqueue(conn, notification="sla_breached", payload=payload,
                                  dedupe_key=f"b:{i}", now=now, settings=settings)
        # the same decision again: nothing new queued
        assert outbox.enqueue(conn, notification="sla_breached", payload=payload,
                              dedupe_key="b:4", now=now, settings=settings) is None
    api = sim.client(retries=0, backoff=0, backoff_jitter=0)
    first = deliver_due(engine, settings, now=now, whmcs=api)
    assert (first.sent, first.held) == (3, 2)
    mails = sim.state.admin_emails
    assert len(mails) == 3
    assert {(m["type"], m["deptid"]) for m in mails} == {("support", 2)}
    assert all(m["subject"].startswith("[#T-") and m["message"] for m in mails)
    second = deliver_due(engine, settings, now=now + timedelta(seconds=61), whmcs=api)
    assert second.sent == 2 and len(sim.state.admin_emails) == 5
    with engine.connect() as conn:
        assert set(conn.execute(select(deliveries.c.recipient)).scalars()) == {"dept:2"}
    engine.dispose()


def test_a_breach_after_go_live_reaches_the_department_admins(sqlite_url: str,
                                                               sim: Any) -> None:
    settings = _settings(sqlite_url, sim)
    engine = make_engine(sqlite_url)
    api = sim.client(retries=0, backoff=0, backoff_jitter=0)
    services = Services(settings, whmcs=api)
    go_live = datetime.now(UTC)
    run_sync(engine, settings, api, now=go_live)
    sweep(engine, settings, services, go_live)
    deliver_due(engine, settings, now=go_live, whmcs=api)
    # the one summary, not one mail per old ticket
    assert [(m["type"], m["deptid"]) for m in sim.state.admin_emails] == [("system", None)]
    assert "sla go-live --list" in sim.state.admin_emails[0]["message"]

    new = api.open_ticket(2, "Mail bounced", "Help", clientid=next(iter(sim.state.clients)),
                          priority="High")
    later = go_live + timedelta(hours=2)
    run_sync(engine, settings, api, now=later)
    sweep(engine, settings, services, later)
    deliver_due(engine, settings, now=later, whmcs=api)
    about_new = [m for m in sim.state.admin_emails if f"#{new.tid}" in m["subject"]]
    assert about_new and {(m["type"], m["deptid"]) for m in about_new} == {("support", 2)}
    engine.dispose()
