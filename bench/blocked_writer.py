"""Gate and /healthz latency of a real ``serve`` while web writers wait for SQLite's lock
(prints figures and the ratio to an idle run measured first, asserts none).

    python bench/blocked_writer.py [--requests 300] [--writers 4] [--workers 1]

Phase 1 (baseline): ``--requests`` signed gate requests and ``/healthz`` calls, one after
another, nothing else happening. Phase 2: this script holds SQLite's write lock from outside
(``BEGIN IMMEDIATE`` on its own connection) while ``--writers`` staff API writes wait for it
inside the server, and the same requests are timed again. Before the waits ran off the gevent
hub, phase 2 answered nothing until the writers gave up (busy_timeout, 30 s).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import TEST_SECRET, TEST_TOKEN
from tests.worker.procs import running_serve
from whmcs_bridge.signing import signed_headers

GATE = json.dumps({"type": "PreModuleCustom", "timestamp": "2026-11-25T10:00:00Z",
                   "data": {"params": {"serviceid": 7, "userid": 42}}}).encode()


def timed(session: requests.Session, base: str, n: int) -> tuple[list[float], list[float]]:
    gates, health = [], []
    for _ in range(n):
        headers = {**signed_headers(TEST_SECRET, f"msg_{uuid.uuid4().hex}", GATE),
                   "Content-Type": "application/json"}
        t = time.perf_counter()
        status = session.post(f"{base}/gates/PreModuleCustom", data=GATE, headers=headers,
                              timeout=60).status_code
        gates.append((time.perf_counter() - t) * 1000)
        assert status == 200, status
        t = time.perf_counter()
        assert session.get(f"{base}/healthz", timeout=60).status_code == 200
        health.append((time.perf_counter() - t) * 1000)
    return gates, health


def line(name: str, ms: list[float], base: list[float] | None = None) -> str:
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98]
    text = f"{name:>22}: p50={statistics.median(ms):7.2f} ms  p99={p99:7.2f} ms  " \
           f"max={max(ms):8.2f} ms"
    if base:
        base_p99 = statistics.quantiles(base, n=100, method="inclusive")[98]
        text += f"  (p99 x{p99 / base_p99:.2f} of idle)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-blocked-writer-"))
    db = tmp / "bridge.db"
    with running_serve(f"sqlite:///{db}", tmp, "--workers", str(args.workers), "--no-worker",
                       WHMCS_BRIDGE_API_TOKEN=TEST_TOKEN,
                       WHMCS_BRIDGE_LOG__LEVEL="ERROR") as (base, _logs):
        session = requests.Session()
        timed(session, base, 20)  # warm-up
        idle_gates, idle_health = timed(session, base, args.requests)

        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        statuses: list[int] = []

        def write() -> None:
            statuses.append(requests.post(
                f"{base}/api/tickets/1/verification", json={"method": "link", "admin": "a"},
                headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=120).status_code)
        writers = [threading.Thread(target=write) for _ in range(args.writers)]
        for w in writers:
            w.start()
        time.sleep(0.5)  # let them reach the lock (a figure, not a test: no assertion on it)
        started = time.perf_counter()
        held_gates, held_health = timed(session, base, args.requests)
        held_for = time.perf_counter() - started
        waiting = sum(w.is_alive() for w in writers)
        lock.rollback()
        lock.close()
        for w in writers:
            w.join(120)
    print(f"serve, {args.workers} web worker(s), SQLite; {args.requests} gate + healthz each")
    print(line("gate, idle", idle_gates))
    print(line("gate, writers blocked", held_gates, idle_gates))
    print(line("healthz, idle", idle_health))
    print(line("healthz, writers blocked", held_health, idle_health))
    print(f"{waiting} of {args.writers} staff writes were still waiting for the lock after "
          f"{held_for:.1f} s of timed requests; they then answered {sorted(statuses)}")


if __name__ == "__main__":
    main()
