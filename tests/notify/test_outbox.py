"""The outbox on SQLite and PostgreSQL: enqueue in the caller's transaction, once per key."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.notify.conftest import NOW, notify_settings, sample_payload
from whmcs_bridge.notify import outbox
from whmcs_bridge.notify.tables import deliveries, notifications
from whmcs_bridge.store import make_engine

SLACK = {"url": "https://hooks.example/s"}
SMTP = {"host": "127.0.0.1", "from": "bridge@example.com"}
STAFF = [{"email": "a@example.com"}, {"email": "b@example.com", "language": "en"}]


@pytest.fixture
def setup(db_url):
    engine = make_engine(db_url)
    yield engine, notify_settings(db_url, slack=SLACK, smtp=SMTP, staff=STAFF)
    engine.dispose()


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_enqueue_writes_one_row_per_delivery_and_dedupes(setup) -> None:
    engine, settings = setup
    payload = sample_payload("sla_breached")
    with engine.begin() as conn:
        first = outbox.enqueue(conn, notification="sla_breached", payload=payload,
                               dedupe_key="sla_breached:1234:c1", now=NOW, settings=settings)
        again = outbox.enqueue(conn, notification="sla_breached", payload=payload,
                               dedupe_key="sla_breached:1234:c1", now=NOW, settings=settings)
    assert isinstance(first, int) and again is None
    with engine.begin() as conn:  # a retried handler, in a later transaction
        assert outbox.enqueue(conn, notification="sla_breached", payload=payload,
                              dedupe_key="sla_breached:1234:c1", now=NOW,
                              settings=settings) is None
    assert _count(engine, notifications) == 1
    with engine.connect() as conn:
        rows = outbox.list_deliveries(conn)
    assert sorted((r["channel"], r["recipient"], r["language"]) for r in rows) == [
        ("slack", "slack", "vi"), ("smtp", "a@example.com", "vi"),
        ("smtp", "b@example.com", "en")]
    assert {r["status"] for r in rows} == {"pending"}
    assert all(r["next_attempt_at"] == NOW for r in rows)
    assert rows[0]["payload"]["tid"] == "ABC-123456"


def test_a_rolled_back_decision_leaves_no_notification(setup) -> None:
    engine, settings = setup
    with pytest.raises(RuntimeError), engine.begin() as conn:
        outbox.enqueue(conn, notification="urgent_ticket_opened",
                       payload=sample_payload("urgent_ticket_opened"), dedupe_key="u:1",
                       now=NOW, settings=settings)
        raise RuntimeError("the handler failed after deciding")
    assert _count(engine, notifications) == 0 and _count(engine, deliveries) == 0


def test_channels_option_narrows_the_routes(setup) -> None:
    engine, settings = setup
    with engine.begin() as conn:
        outbox.enqueue(conn, notification="sla_at_risk", payload=sample_payload("sla_at_risk"),
                       dedupe_key="r:1", now=NOW, settings=settings, channels=["slack"])
        rows = outbox.list_deliveries(conn)
    assert [r["channel"] for r in rows] == ["slack"]


@pytest.mark.parametrize(("notification", "payload", "error"), [
    ("no_such_thing", {}, ValueError),
    ("sla_breached", {"ticket_id": 1}, ValueError),
    ("dead_letter", {**sample_payload("dead_letter"), "last_error": object()}, TypeError),
])
def test_producer_mistakes_are_loud(setup, notification, payload, error) -> None:
    engine, settings = setup
    with pytest.raises(error), engine.begin() as conn:
        outbox.enqueue(conn, notification=notification, payload=payload, dedupe_key="x",
                       now=NOW, settings=settings)


def test_concurrent_enqueues_with_one_key_make_one_notification(setup) -> None:
    engine, settings = setup
    barrier = threading.Barrier(4)
    results: list = []

    def worker() -> None:
        barrier.wait(timeout=10)
        with engine.begin() as conn:
            results.append(outbox.enqueue(
                conn, notification="contact_preference",
                payload=sample_payload("contact_preference"), dedupe_key="cp:1234:phone",
                now=NOW, settings=settings))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 4 and sum(r is not None for r in results) == 1
    assert _count(engine, notifications) == 1


def test_replay_puts_dead_rows_back(setup) -> None:
    engine, settings = setup
    with engine.begin() as conn:
        outbox.enqueue(conn, notification="sla_at_risk", payload=sample_payload("sla_at_risk"),
                       dedupe_key="r:2", now=NOW, settings=settings)
        conn.execute(deliveries.update().values(status="dead", attempts=8, last_error="x"))
        later = NOW + timedelta(hours=1)
        assert outbox.replay(conn, now=later, ids=[999999]) == 0
        assert outbox.replay(conn, now=later, all_dead=True) == 3
        rows = outbox.list_deliveries(conn)
        assert outbox.counts(conn) == {"pending": 3}
    assert all(r["attempts"] == 0 and r["next_attempt_at"] == later for r in rows)


def test_purge_drops_old_sent_notifications_only(setup) -> None:
    engine, settings = setup
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=1)
    with engine.begin() as conn:
        for key, at in (("old-sent", old), ("old-dead", old), ("new-sent", recent)):
            outbox.enqueue(conn, notification="sla_at_risk",
                           payload=sample_payload("sla_at_risk"), dedupe_key=key, now=at,
                           settings=settings)
        conn.execute(deliveries.update().values(status="sent"))
        dead_id = conn.execute(select(notifications.c.id).where(
            notifications.c.dedupe_key == "old-dead")).scalar()
        conn.execute(deliveries.update().where(deliveries.c.notification_id == dead_id,
                                               deliveries.c.channel == "slack")
                     .values(status="dead"))
        assert outbox.purge(conn, before=NOW - timedelta(days=30)) == 1
        keys = set(conn.execute(select(notifications.c.dedupe_key)).scalars())
    assert keys == {"old-dead", "new-sent"}
    assert _count(engine, deliveries) == 6
