"""The delivery loop with in-memory channels: backoff, dead letters, digests, rate limits,
leases — on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.notify.conftest import NOW, notify_settings, sample_payload
from whmcs_bridge.notify import outbox, policy
from whmcs_bridge.notify.channels import DeliveryError
from whmcs_bridge.notify.deliver import Deliverer
from whmcs_bridge.notify.tables import deliveries
from whmcs_bridge.retry import backoff_seconds
from whmcs_bridge.store import make_engine


class FakeChannel:
    def __init__(self, name: str, failures: list[DeliveryError] | None = None) -> None:
        self.name = name
        self.sent: list = []
        self.failures = list(failures or [])
        self.lock = threading.Lock()

    def send(self, message) -> None:
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.sent.append(message)


@pytest.fixture
def env(db_url):
    engine = make_engine(db_url)
    settings = notify_settings(db_url, slack={"url": "https://hooks.example/s"},
                               max_attempts=3, backoff_base_seconds=10, coalesce_seconds=60,
                               rate_limits={"slack": 100})
    yield engine, settings
    engine.dispose()


def _enqueue(engine, settings, name="sla_breached", n=1, now=NOW, start=0, **overrides):
    with engine.begin() as conn:
        for i in range(start, start + n):
            outbox.enqueue(conn, notification=name,
                           payload=sample_payload(name, ticket_id=i, tid=f"T-{i}", **overrides),
                           dedupe_key=f"{name}:{i}", now=now, settings=settings)


def _rows(engine):
    with engine.connect() as conn:
        q = select(deliveries).order_by(deliveries.c.id)
        return [dict(r._mapping) for r in conn.execute(q)]


def _deliverer(engine, settings, slack) -> Deliverer:
    return Deliverer(engine, settings, channels={"slack": slack}, rng=random.Random(1))


def test_a_sweep_of_40_breaches_is_one_digest(env) -> None:
    engine, settings = env
    _enqueue(engine, settings, n=40)
    slack = FakeChannel("slack")
    report = _deliverer(engine, settings, slack).run_once(NOW)
    assert (report.claimed, report.sent, report.messages) == (40, 40, 1)
    [message] = slack.sent
    assert message.is_digest and len(message.payloads) == 40
    assert message.rendered.subject.startswith("40 ")
    assert "T-0" in message.rendered.text and "T-39" in message.rendered.text
    rows = _rows(engine)
    assert {r["status"] for r in rows} == {"sent"}
    assert {r["digest_id"] for r in rows} == {rows[0]["id"]}


def test_a_trickle_inside_the_window_waits_and_leaves_as_one_digest(env) -> None:
    engine, settings = env
    slack = FakeChannel("slack")
    d = _deliverer(engine, settings, slack)
    _enqueue(engine, settings, n=1)
    assert d.run_once(NOW).messages == 1
    for k in range(1, 4):  # three more arrive 10, 20, 30 s later
        at = NOW + timedelta(seconds=10 * k)
        _enqueue(engine, settings, n=1, start=k, now=at)
        report = d.run_once(at)
        assert report.held == 1 and report.messages == 0
    assert d.run_once(NOW + timedelta(seconds=59)).claimed == 0
    report = d.run_once(NOW + timedelta(seconds=60))
    assert (report.sent, report.messages) == (3, 1)
    assert len(slack.sent) == 2 and len(slack.sent[1].payloads) == 3
    # other kinds are not held by this kind's window
    _enqueue(engine, settings, name="urgent_ticket_opened", n=1, now=NOW + timedelta(seconds=61))
    assert d.run_once(NOW + timedelta(seconds=61)).messages == 1


def test_failure_backs_off_with_jitter_then_dead_letters(env) -> None:
    engine, settings = env
    _enqueue(engine, settings, name="urgent_ticket_opened")
    slack = FakeChannel("slack", [DeliveryError("slack: HTTP 500")] * 3)
    d = _deliverer(engine, settings, slack)
    assert d.run_once(NOW).failed == 1
    [row] = _rows(engine)
    assert row["status"] == "failed" and row["attempts"] == 1
    assert row["last_error"] == "slack: HTTP 500"
    first_delay = (row["next_attempt_at"] - NOW).total_seconds()
    assert 5 <= first_delay <= 10  # base 10 s, equal jitter
    assert d.run_once(NOW + timedelta(seconds=4)).claimed == 0  # not due yet
    t2 = row["next_attempt_at"]
    assert d.run_once(t2).failed == 1
    [row] = _rows(engine)
    assert 10 <= (row["next_attempt_at"] - t2).total_seconds() <= 20  # doubled
    report = d.run_once(row["next_attempt_at"])
    assert report.dead == 1
    [row] = _rows(engine)
    assert row["status"] == "dead" and row["attempts"] == 3 and slack.sent == []


def test_permanent_errors_go_straight_to_the_dead_letters(env) -> None:
    engine, settings = env
    _enqueue(engine, settings, name="contact_preference")
    slack = FakeChannel("slack", [DeliveryError("slack: HTTP 404", permanent=True)])
    assert _deliverer(engine, settings, slack).run_once(NOW).dead == 1
    assert _rows(engine)[0]["attempts"] == 1


def test_rate_limit_holds_what_is_over_budget(db_url) -> None:
    engine = make_engine(db_url)
    settings = notify_settings(db_url, slack={"url": "https://hooks.example/s"},
                               coalesce_seconds=0, rate_limits={"slack": 2})
    # coalescing off: five different tickets are five messages; only two may go per minute
    _enqueue(engine, settings, name="urgent_ticket_opened", n=5)
    slack = FakeChannel("slack")
    d = _deliverer(engine, settings, slack)
    assert d.run_once(NOW).messages == 2
    held = [r for r in _rows(engine) if r["status"] == "pending"]
    assert len(held) == 3 and all(r["attempts"] == 0 for r in held)
    later = held[0]["next_attempt_at"]
    assert NOW < later <= NOW + timedelta(seconds=60)
    assert d.run_once(later).messages == 0  # the two sent at NOW still fill the minute
    assert d.run_once(NOW + timedelta(seconds=60)).messages == 2
    assert d.run_once(NOW + timedelta(seconds=120)).messages == 1
    assert len(slack.sent) == 5 and not any(m.is_digest for m in slack.sent)
    engine.dispose()


def test_an_expired_lease_is_claimed_again(env) -> None:
    engine, settings = env
    _enqueue(engine, settings, name="urgent_ticket_opened")
    d = _deliverer(engine, settings, FakeChannel("slack"))
    assert len(d.claim(NOW)) == 1  # claimed, then the process "crashes"
    assert d.claim(NOW + timedelta(seconds=30)) == []  # still leased
    lease = settings.notifications.lease_seconds
    assert len(d.claim(NOW + timedelta(seconds=lease + 1))) == 1


def test_two_workers_never_claim_the_same_row(env) -> None:
    engine, settings = env
    with engine.begin() as conn:  # 30 rows that do not coalesce (one per ticket per channel)
        for i in range(30):
            outbox.enqueue(conn, notification="urgent_ticket_opened",
                           payload=sample_payload("urgent_ticket_opened", ticket_id=i),
                           dedupe_key=f"u:{i}", now=NOW, settings=settings)
        conn.execute(update(deliveries).values(channel="smtp", recipient="x@example.com"))
    claimed: list[list[int]] = []
    barrier = threading.Barrier(3)

    def work() -> None:
        d = Deliverer(engine, settings, channels={})
        d.cfg = dataclasses.replace(settings.notifications, batch_size=7)
        barrier.wait(timeout=10)
        mine: list[int] = []
        while rows := d.claim(NOW):
            mine += [r["id"] for r in rows]
        claimed.append(mine)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    every = [i for mine in claimed for i in mine]
    assert len(every) == 30 and len(set(every)) == 30


def test_backoff_is_capped_and_jittered() -> None:
    rng = random.Random(3)
    delays = [backoff_seconds(a, base=10, cap=60, rng=rng) for a in range(1, 10)]
    assert all(5 <= d <= 10 for d in delays[:1])
    assert all(30 <= d <= 60 for d in delays[3:])
    assert len({round(d, 6) for d in delays[3:]}) > 1  # jitter spreads a burst
    assert policy.rate_budget(None, 99) is None and policy.rate_budget(3, 5) == 0
    assert policy.hold_until(None, NOW, 60) is None
    assert policy.hold_until(NOW, NOW + timedelta(seconds=61), 60) is None
