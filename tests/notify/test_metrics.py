"""Outbox figures in the Prometheus text format."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import update

from tests.notify.conftest import NOW, notify_settings, sample_payload
from whmcs_bridge.notify import outbox
from whmcs_bridge.notify.metrics import OutboxCollector
from whmcs_bridge.notify.tables import deliveries
from whmcs_bridge.store import make_engine


def test_collector_reports_status_dead_and_lag(sqlite_url) -> None:
    engine = make_engine(sqlite_url)
    settings = notify_settings(sqlite_url, slack={"url": "https://hooks.example/s"})
    with engine.begin() as conn:
        for i in range(3):
            outbox.enqueue(conn, notification="sla_at_risk",
                           payload=sample_payload("sla_at_risk", ticket_id=i),
                           dedupe_key=f"m:{i}", now=NOW, settings=settings)
        conn.execute(update(deliveries).where(deliveries.c.id == 1).values(status="dead"))
    registry = CollectorRegistry()
    registry.register(OutboxCollector(engine, now=NOW + timedelta(seconds=90)))
    text = generate_latest(registry).decode()
    assert "whmcs_bridge_outbox_up 1.0" in text
    assert 'whmcs_bridge_notifications{channel="slack",status="pending"} 2.0' in text
    assert 'whmcs_bridge_notifications{channel="slack",status="sent"} 0.0' in text
    assert "whmcs_bridge_notifications_dead 1.0" in text
    assert "whmcs_bridge_notification_lag_seconds 90.0" in text
    engine.dispose()
