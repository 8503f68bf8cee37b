"""Concurrency: four worker processes on PostgreSQL drain 2,000 events; no event is taken by
two workers and no handler outcome is recorded twice."""

from __future__ import annotations

import subprocess
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.conftest import _fresh_pg_url, drop_pg_database
from tests.worker.crash_handlers import effects, metadata
from tests.worker.helpers import add_events
from tests.worker.procs import CLI, bridge_env, read
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.store.tables import events, handler_outcomes

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EVENTS = 2000
WORKERS = 4
HANDLERS = ("audit.record", "test.first")


def test_four_workers_never_share_an_event(pg_database: str, tmp_path: Path) -> None:
    url = _fresh_pg_url(pg_database)
    engine = make_engine(url)
    with engine.begin() as conn:  # this test is about concurrency, not fsync speed
        conn.execute(text(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" '
                          "SET synchronous_commit = off"))
    upgrade(engine)
    metadata.create_all(engine)
    ids = add_events(engine, [f"evt_{n:05d}" for n in range(EVENTS)])
    log_dir = tmp_path / "starts"
    log_dir.mkdir()
    env = bridge_env(url, tmp_path, WHMCS_BRIDGE_WORKER__BATCH_SIZE="25",
                     TEST_HANDLER_LOG_DIR=str(log_dir), TEST_HANDLER_SECOND="0")
    procs = [subprocess.Popen([*CLI, "worker", "--once", "--no-jobs"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(WORKERS)]
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=80)
            assert proc.returncode == 0, err[-2000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        engine.dispose()

    engine = make_engine(url)
    try:
        rows = read(engine, select(events.c.id, events.c.status, events.c.worker_id))
        assert Counter(r.status for r in rows) == {"done": EVENTS}

        outcome_rows = read(engine, select(handler_outcomes.c.event_id,
                                           handler_outcomes.c.handler))
        assert len(outcome_rows) == EVENTS * len(HANDLERS)
        assert Counter(outcome_rows) == Counter({(e, h): 1 for e in ids for h in HANDLERS})

        # Side effects committed with the outcomes: exactly once per event and handler, and
        # every handler of one event ran in the same worker process.
        effect_rows = read(engine, select(effects.c.event_id, effects.c.handler,
                                          effects.c.worker_pid))
        assert Counter((r.event_id, r.handler) for r in effect_rows) == Counter(
            {(e, "test.first"): 1 for e in ids})
        by_event: dict[str, set[int]] = defaultdict(set)
        for r in effect_rows:
            by_event[r.event_id].add(r.worker_pid)
        assert all(len(pids) == 1 for pids in by_event.values())

        # Written before any database work, outside transactions: no handler was even
        # *started* twice, so no two workers ever held the same event.
        starts = [line.split() for f in log_dir.iterdir() for line in f.read_text().splitlines()]
        assert Counter((e, h) for e, h, _ in starts) == Counter(
            {(e, "test.first"): 1 for e in ids})
        assert len({pid for _, _, pid in starts}) >= 2  # the work really was shared
    finally:
        engine.dispose()
        drop_pg_database(url)
