"""``GET /metrics``: Prometheus text with the request counters and the inbox figures."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from tests.receiver.conftest import envelope, signed_post
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.store.tables import events


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.content_type.startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(resp.data.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_and_read_the_inbox(client: FlaskClient) -> None:
    before = scrape(client)
    assert signed_post(client, envelope(), msg_id="m1").status_code == 202
    assert signed_post(client, envelope(), msg_id="m1").status_code == 200
    assert signed_post(client, envelope("TicketClose", ticketid=3), msg_id="m2").status_code == 202
    assert signed_post(client, {"type": "Whatever", "timestamp": "2026-11-25T00:00:00Z",
                                "data": {}}, msg_id="m3").status_code == 202
    assert signed_post(client, envelope(), msg_id="m4",
                       webhook_signature="garbage").status_code == 401
    assert signed_post(client, envelope(ticketid="x"), msg_id="m5").status_code == 400
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    received = "whmcs_bridge_events_received_total"
    assert delta(received, type="TicketOpen", outcome="accepted") == 1
    assert delta(received, type="TicketOpen", outcome="duplicate") == 1
    assert delta(received, type="TicketClose", outcome="accepted") == 1
    assert delta(received, type="other", outcome="ignored") == 1
    assert delta(received, type="unparsed", outcome="unauthorized") == 1
    assert delta(received, type="TicketOpen", outcome="invalid") == 1
    assert delta("whmcs_bridge_signature_failures_total", reason="malformed_signature") == 1

    assert value(after, "whmcs_bridge_inbox_up") == 1
    assert value(after, "whmcs_bridge_events", type="TicketOpen", status="pending") == 1
    assert value(after, "whmcs_bridge_events", type="other", status="ignored") == 1
    assert value(after, "whmcs_bridge_queue_depth", status="pending") == 2
    assert value(after, "whmcs_bridge_dead_letters") == 0
    assert value(after, "whmcs_bridge_processing_lag_seconds") >= 0


def test_dead_letters_and_lag_come_from_the_database(client: FlaskClient) -> None:
    for i in range(3):
        assert signed_post(client, envelope(), msg_id=f"d{i}").status_code == 202
    engine = client.application.extensions["whmcs_bridge"].engine
    long_ago = utcnow() - timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(update(events).where(events.c.id == "d0").values(status="dead"))
        conn.execute(update(events).where(events.c.id == "d1")
                     .values(received_at=long_ago, next_attempt_at=long_ago))
        conn.execute(update(events).where(events.c.id == "d2")
                     .values(status="failed", received_at=long_ago - timedelta(hours=1),
                             next_attempt_at=utcnow() + timedelta(hours=1)))
    samples = scrape(client)
    assert value(samples, "whmcs_bridge_dead_letters") == 1
    assert value(samples, "whmcs_bridge_queue_depth", status="pending") == 1
    assert value(samples, "whmcs_bridge_queue_depth", status="failed") == 1
    # lag: the oldest *due* event (d1, an hour); the failed one waits for its retry time
    assert 3500 < value(samples, "whmcs_bridge_processing_lag_seconds") < 3700
    assert 7100 < value(samples, "whmcs_bridge_oldest_waiting_event_age_seconds") < 7300


def test_unreachable_database_reports_inbox_down(client: FlaskClient, monkeypatch) -> None:
    engine = client.application.extensions["whmcs_bridge"].engine

    def broken(*_a, **_k):
        raise OSError("db gone")

    monkeypatch.setattr(engine, "connect", broken)
    samples = scrape(client)
    assert value(samples, "whmcs_bridge_inbox_up") == 0


MULTIPROCESS_SCRIPT = r"""
import os, sys
from whmcs_bridge.webhooks import metrics
from whmcs_bridge.store import make_engine

metrics.gunicorn_on_starting(None)        # as gunicorn's master does before forking
folder = os.environ[metrics.MULTIPROC_ENV]
children = []
for n in (1, 2):
    pid = os.fork()
    if pid == 0:                          # a "worker": counts its own requests
        for _ in range(n):
            metrics.count_received("TicketOpen", "accepted")
        metrics.count_signature_failure("no_match")
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
sys.stdout.write(metrics.render(make_engine(sys.argv[1])).decode())
metrics.gunicorn_on_exit(None)
sys.stdout.write("FOLDER_GONE=%s\n" % (not os.path.exists(folder)))
"""


def test_counters_are_summed_over_forked_workers(sqlite_url: str) -> None:
    """Multiprocess mode end to end: two forked 'workers' count, the parent scrapes the sum,
    and the counters folder made by the on_starting hook is removed on exit."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRIPT, sqlite_url], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    samples = {}
    for family in text_string_to_metric_families(done.stdout.split("FOLDER_GONE")[0]):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    assert value(samples, "whmcs_bridge_events_received_total",
                 type="TicketOpen", outcome="accepted") == 3
    assert value(samples, "whmcs_bridge_signature_failures_total", reason="no_match") == 2
    assert value(samples, "whmcs_bridge_inbox_up") == 1
    assert "FOLDER_GONE=True" in done.stdout
