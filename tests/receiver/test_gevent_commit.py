"""Group commit under gevent, as ``serve`` runs it: requests are greenlets of one OS thread and
the blocking commit runs in the hub's thread pool, so the other greenlets keep running.

Monkey-patching cannot be undone, so each case runs in a fresh interpreter (SQLite and
PostgreSQL).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()

    import json, sys, time
    import gevent
    # the OS's own: patched, get_ident names the greenlet and sleep yields to the hub, so a
    # commit run on the hub would look like one run in a pool thread
    os_thread_id = monkey.get_original("threading", "get_ident")
    blocking_sleep = monkey.get_original("time", "sleep")
    from whmcs_bridge.store import make_engine, upgrade
    from whmcs_bridge.store import ingest
    from whmcs_bridge.store.base import utcnow

    engine = make_engine(sys.argv[1])
    upgrade(engine)
    commit_threads = set()
    original = ingest.store_batch

    during = []

    def store_batch(engine, batch):
        commit_threads.add(os_thread_id())
        before = len(ticks)
        blocking_sleep(0.02)  # a slow fsync: blocks its OS thread, as fsync does
        during.append(len(ticks) - before)
        return original(engine, batch)

    ingest.store_batch = store_batch
    committer = ingest.GroupCommitter(engine)
    ticks = []

    def ticker():  # keeps running while commits block their thread
        for _ in range(20):
            ticks.append(time.monotonic())
            gevent.sleep(0.005)

    def submit(i):
        ev = ingest.NewEvent(id=f"g-{i}", type="TicketClose",
                             payload={"data": {"ticketid": i}}, received_at=utcnow())
        return committer.submit(ev)

    tick = gevent.spawn(ticker)
    jobs = [gevent.spawn(submit, i) for i in range(200)]
    gevent.joinall(jobs + [tick], timeout=60)
    again = committer.submit(ingest.NewEvent(id="g-7", type="TicketClose",
                                             payload={"data": {}}, received_at=utcnow()))
    from sqlalchemy import func, select
    from whmcs_bridge.store.tables import events
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(events)).scalar_one()
    print(json.dumps({
        "results": [j.value for j in jobs], "duplicate": again, "stored": stored,
        "commits": committer.commits, "rows": committer.rows,
        "ticks_during_commits": sum(during),
        "hub_thread": gevent.get_hub().thread_ident in commit_threads,
        "mode": ingest.current_mode().name,
    }))
""")


def test_commits_run_off_the_hub_and_batch_greenlets(db_url: str) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, db_url], cwd=ROOT, text=True,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["mode"] == "gevent"
    assert out["results"] == [True] * 200 and out["duplicate"] is False
    assert out["stored"] == 200 and out["rows"] == 201
    # 200 greenlets waiting on 20 ms commits share a few of them
    assert out["commits"] <= 20
    # the commits ran in a pool thread, and the hub kept the ticker going meanwhile
    assert out["hub_thread"] is False
    assert out["ticks_during_commits"] > 0


def test_without_gevent_the_writer_calls_directly() -> None:
    from whmcs_bridge.store.cooperative import THREADS, current_mode

    assert current_mode() is THREADS
