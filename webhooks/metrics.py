"""``GET /metrics``: Prometheus text format (``prometheus-client``).

Two kinds of figures, chosen so every number is right under gunicorn's several processes:

* **Read from the database at scrape time** (a custom collector, :class:`InboxCollector`):
  events in the inbox by type and status, queue depth, dead letters and processing lag. The
  inbox is the truth shared by every receiver and worker process (and survives restarts), so
  whichever process answers the scrape reports the same, correct values.
* **Counted per request** (they are never stored): events received by type and outcome
  (``accepted``, ``duplicate``, ``ignored``, ``unauthorized``, ``invalid``, ``too_large``,
  ``unsupported_media_type``, ``unavailable``) and signature failures by reason. With several
  gunicorn workers these use ``prometheus_client``'s multiprocess mode: whoever starts
  gunicorn sets ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder *before* the workers import
  ``prometheus_client`` (see :func:`multiprocess_env`), and every worker's counters are
  summed at scrape time. Without it (one process, tests) the counters live in this process.

The ``type`` label only takes hook names the bridge handles (``other`` for the rest,
``unparsed`` before the body was read), so a sender cannot blow up the label set.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter as Tally
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, func, select

from webhooks.app import bridge
from whmcs_bridge.event_schemas import is_handled
from whmcs_bridge.store.tables import DEAD, DONE, FAILED, IGNORED, PENDING, PROCESSING, events

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Statuses that still wait for the worker.
WAITING = (PENDING, FAILED, PROCESSING)
#: Statuses every scrape reports, even at zero, so dashboards and alerts see the series.
STATUSES = (PENDING, PROCESSING, FAILED, DONE, DEAD, IGNORED)

bp = Blueprint("metrics", __name__)

# Per-process counters, kept in a registry of our own (not the global default one).
_LOCAL = CollectorRegistry(auto_describe=True)
RECEIVED = Counter(
    "whmcs_bridge_events_received",
    "Webhook deliveries by hook type and outcome",
    ["type", "outcome"],
    registry=_LOCAL,
)
SIGNATURE_FAILURES = Counter(
    "whmcs_bridge_signature_failures",
    "Webhook deliveries refused by signature checks, by reason",
    ["reason"],
    registry=_LOCAL,
)


def type_label(hook_type: str | None) -> str:
    """A bounded label value for a hook type."""
    if hook_type is None:
        return "unparsed"
    return hook_type if is_handled(hook_type) else "other"


def count_received(hook_type: str | None, outcome: str) -> None:
    RECEIVED.labels(type=type_label(hook_type), outcome=outcome).inc()


def count_signature_failure(reason: str) -> None:
    SIGNATURE_FAILURES.labels(reason=reason).inc()


def multiprocess_env(base: str | None = None) -> dict[str, str]:
    """Environment for a multi-process server: a fresh, empty ``PROMETHEUS_MULTIPROC_DIR``.

    Pass it to the gunicorn process (``env={**os.environ, **multiprocess_env()}``) so the
    workers count into shared files. The folder must be empty at start, hence a new one.
    """
    return {MULTIPROC_ENV: tempfile.mkdtemp(prefix="whmcs-bridge-metrics-", dir=base)}


class InboxCollector:
    """Collects inbox figures from the database when Prometheus scrapes."""

    def __init__(self, engine: Engine, now: datetime | None = None) -> None:
        self.engine = engine
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now or datetime.now(UTC)
        up = GaugeMetricFamily("whmcs_bridge_inbox_up",
                               "1 when the inbox could be read for this scrape")
        try:
            rows, oldest_due, oldest_waiting = self._read(now)
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        by_type: Tally[tuple[str, str]] = Tally()
        by_status: Tally[str] = Tally({s: 0 for s in STATUSES})
        for hook_type, status, n in rows:
            by_type[(type_label(hook_type), status)] += n
            by_status[status] += n
        stored = GaugeMetricFamily("whmcs_bridge_events",
                                   "Events in the inbox by hook type and status",
                                   labels=["type", "status"])
        for (label, status), n in sorted(by_type.items()):
            stored.add_metric([label, status], n)
        yield stored

        depth = GaugeMetricFamily(
            "whmcs_bridge_queue_depth",
            "Events waiting for the worker (pending, failed awaiting retry, processing)",
            labels=["status"])
        for status in WAITING:
            depth.add_metric([status], by_status[status])
        yield depth
        yield GaugeMetricFamily("whmcs_bridge_dead_letters",
                                "Events that gave up after the maximum attempts (replayable)",
                                value=by_status[DEAD])
        yield GaugeMetricFamily(
            "whmcs_bridge_processing_lag_seconds",
            "How long the oldest event that is due has been waiting for the worker (0 if none)",
            value=_age(now, oldest_due))
        yield GaugeMetricFamily(
            "whmcs_bridge_oldest_waiting_event_age_seconds",
            "Age of the oldest event not yet processed, retries included (0 if none)",
            value=_age(now, oldest_waiting))

    def _read(self, now: datetime) -> tuple[list[tuple[str, str, int]], datetime | None,
                                           datetime | None]:
        waiting = events.c.status.in_(WAITING)
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_readonly=True)
            rows = conn.execute(
                select(events.c.type, events.c.status, func.count())
                .group_by(events.c.type, events.c.status)
            ).all()
            oldest_due = conn.execute(
                select(func.min(events.c.next_attempt_at))
                .where(waiting, events.c.next_attempt_at <= now)
            ).scalar()
            oldest_waiting = conn.execute(
                select(func.min(events.c.received_at)).where(waiting)
            ).scalar()
        return ([(t, s, int(n)) for t, s, n in rows], _aware(oldest_due),
                _aware(oldest_waiting))


def _aware(value: datetime | None) -> datetime | None:
    """``min()`` bypasses the column type on SQLite: re-attach UTC to what comes back."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0


def render(engine: Engine, now: datetime | None = None) -> bytes:
    """The full exposition: request counters (this process or all of them) + inbox figures."""
    if os.environ.get(MULTIPROC_ENV):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
    else:
        counters = _LOCAL
    inbox = CollectorRegistry(auto_describe=False)
    inbox.register(InboxCollector(engine, now))
    return generate_latest(counters) + generate_latest(inbox)


@bp.get("/metrics")
def metrics() -> Response:
    return Response(render(bridge().engine), content_type=CONTENT_TYPE_LATEST)
