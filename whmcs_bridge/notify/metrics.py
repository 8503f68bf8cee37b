"""Outbox figures for Prometheus, read from the database at scrape time.

Like the inbox collector in ``webhooks/metrics.py``: the table is the truth shared by every
process, so any process answering a scrape reports the same values. Register with
``registry.register(OutboxCollector(engine))``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import Engine, func, select

from whmcs_bridge.notify.tables import DEAD, FAILED, PENDING, STATUSES, deliveries


class OutboxCollector:
    def __init__(self, engine: Engine, now: datetime | None = None) -> None:
        self.engine = engine
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now or datetime.now(UTC)
        d = deliveries
        try:
            with self.engine.connect().execution_options(sqlite_readonly=True) as conn:
                rows = conn.execute(select(d.c.channel, d.c.status, func.count())
                                    .group_by(d.c.channel, d.c.status)).all()
                oldest = conn.execute(select(func.min(d.c.next_attempt_at)).where(
                    d.c.status.in_([PENDING, FAILED]), d.c.next_attempt_at <= now)).scalar()
        except Exception:
            yield GaugeMetricFamily("whmcs_bridge_outbox_up",
                                    "1 when the outbox could be read for this scrape", value=0)
            return
        yield GaugeMetricFamily("whmcs_bridge_outbox_up",
                                "1 when the outbox could be read for this scrape", value=1)
        by = GaugeMetricFamily("whmcs_bridge_notifications",
                               "Notification deliveries by channel and status",
                               labels=["channel", "status"])
        seen = {(channel, status): n for channel, status, n in rows}
        channels = sorted({c for c, _ in seen})
        for channel in channels:
            for status in STATUSES:
                by.add_metric([channel, status], seen.get((channel, status), 0))
        yield by
        yield GaugeMetricFamily(
            "whmcs_bridge_notifications_dead",
            "Deliveries that gave up (replay with whmcs-bridge outbox replay)",
            value=sum(n for (_, status), n in seen.items() if status == DEAD))
        age = (now - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "whmcs_bridge_notification_lag_seconds",
            "How long the oldest due delivery has been waiting (0 if none)", value=max(0.0, age))
