"""``GET /metrics``: Prometheus text format (``prometheus-client``).

Two kinds of figures, chosen so every number is right under gunicorn's several processes:

* **Read from the database at scrape time** (a custom collector, :class:`InboxCollector`):
  events in the inbox by type and status, queue depth, dead letters and processing lag. The
  inbox is the truth shared by every receiver and worker process (and survives restarts), so
  whichever process answers the scrape reports the same, correct values.
* **Counted per request** (they are never stored): events received by type and outcome
  (``accepted``, ``duplicate``, ``ignored``, ``unauthorized``, ``invalid``, ``too_large``,
  ``unsupported_media_type``, ``unavailable``) and signature failures by reason. With several
  gunicorn workers these use ``prometheus_client``'s multiprocess mode, so every worker's
  counts are summed at scrape time: the gunicorn ``on_starting`` hook in
  ``server.RECEIVER_OPTIONS`` (:func:`gunicorn_on_starting`) gives the server a
  fresh ``PROMETHEUS_MULTIPROC_DIR`` before the workers fork, unless one is set already.
  Without it (one process, tests) the counters live in this process.

Other rooms' scrape-time collectors (the notification outbox) are listed in
:data:`COLLECTORS` and reported alongside.

The ``type`` label only takes hook names the bridge handles (``other`` for the rest,
``unparsed`` before the body was read), so a sender cannot blow up the label set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from whmcs_bridge.event_schemas import is_handled
from whmcs_bridge.notify.metrics import OutboxCollector
from whmcs_bridge.store.tables import DEAD, DONE, FAILED, IGNORED, PENDING, PROCESSING, events
from whmcs_bridge.webhooks.state import bridge

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Statuses that still wait for the worker.
WAITING = (PENDING, FAILED, PROCESSING)
#: Statuses every scrape reports, even at zero, so dashboards and alerts see the series.
STATUSES = (PENDING, PROCESSING, FAILED, DONE, DEAD, IGNORED)


bp = Blueprint("metrics", __name__)

#: Scrape-time collectors of other rooms, each constructed with the engine.
COLLECTORS: tuple[Callable[[Engine], Collector], ...] = (OutboxCollector,)


class RequestCounters:
    """The per-request counters, in a registry of our own (not the global default one).

    Built on first use in each process, i.e. after gunicorn forked and after
    :func:`gunicorn_on_starting` chose the multiprocess mode.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = Counter(
            "whmcs_bridge_events_received",
            "Webhook deliveries by hook type and outcome",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.signature_failures = Counter(
            "whmcs_bridge_signature_failures",
            "Webhook deliveries refused by signature checks, by reason",
            ["reason"],
            registry=self.registry,
        )


_counters: RequestCounters | None = None
_counters_lock = threading.Lock()
_owned_dir: str | None = None  # the multiprocess folder gunicorn_on_starting created


def counters() -> RequestCounters:
    global _counters
    if _counters is None:
        with _counters_lock:
            if _counters is None:
                _counters = RequestCounters()
    return _counters


def type_label(hook_type: str | None) -> str:
    """A bounded label value for a hook type."""
    if hook_type is None:
        return "unparsed"
    return hook_type if is_handled(hook_type) else "other"


def count_received(hook_type: str | None, outcome: str) -> None:
    counters().received.labels(type=type_label(hook_type), outcome=outcome).inc()


def count_signature_failure(reason: str) -> None:
    counters().signature_failures.labels(reason=reason).inc()


def gunicorn_on_starting(server: Any) -> None:
    """Gunicorn ``on_starting`` hook (master, before any worker forks): multiprocess counters.

    ``prometheus_client`` picks its value store when it is imported, which may already have
    happened in the master (``serve`` reads ``server.RECEIVER_OPTIONS``), so it is asked again here,
    before the workers inherit it.
    """
    global _owned_dir
    if not os.environ.get(MULTIPROC_ENV):
        os.environ.update(multiprocess_env())
        _owned_dir = os.environ[MULTIPROC_ENV]
    values.ValueClass = values.get_value_class()


def gunicorn_on_exit(server: Any) -> None:
    """Gunicorn ``on_exit`` hook: remove the counters folder :func:`gunicorn_on_starting` made."""
    global _owned_dir
    if _owned_dir:
        shutil.rmtree(_owned_dir, ignore_errors=True)
        _owned_dir = None


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
        # min() takes the column's type, so UTCDateTime hands back aware datetimes here too
        return [(t, s, int(n)) for t, s, n in rows], oldest_due, oldest_waiting


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0


def render(engine: Engine, now: datetime | None = None) -> bytes:
    """The full exposition: request counters (this process or all of them) + inbox figures."""
    if os.environ.get(MULTIPROC_ENV):
        requests = CollectorRegistry()
        MultiProcessCollector(requests)
    else:
        requests = counters().registry
    tables = CollectorRegistry(auto_describe=False)
    tables.register(InboxCollector(engine, now))
    for collector in COLLECTORS:
        tables.register(collector(engine))
    return generate_latest(requests) + generate_latest(tables)


@bp.get("/metrics")
def metrics() -> Response:
    return Response(render(bridge().engine), content_type=CONTENT_TYPE_LATEST)
