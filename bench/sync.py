"""Benchmark: a full ticket sync of 10,000 tickets from the WHMCS simulator with 20 ms of
injected latency per request.

Prints wall time, requests made, and the ratio of the wall time to the round-trip floor
(requests × latency ÷ concurrency) — target ≤ 1.25.

By default the simulator runs as a separate process (``whmcs-bridge sim``), as a real WHMCS is
remote: its request handling then does not compete with the sync for this process's GIL.
``--in-process`` runs it in a loopback thread instead (an upper bound of the ratio).
``--baseline`` also times the bare GetTicket calls (same concurrency, nothing stored), to
separate the sync's own cost from the client's and the simulator's.

    python bench/sync.py [--tickets 10000] [--latency-ms 20] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.settings import load_settings
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.sim.config import DEFAULT_IDENTIFIER, DEFAULT_SECRET
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.tickets.sync import DEFAULT_CONCURRENCY, run_sync


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def simulator(args: argparse.Namespace):
    """Yields ``(base url, calls())``; ``calls()`` is the simulator's per-action counter."""
    if args.in_process:
        sim = run_in_thread(SimConfig(tickets=args.tickets, clients=200, seed=11,
                                      latency_ms=args.latency_ms))
        try:
            yield sim.url, lambda: dict(sim.state.calls)
        finally:
            sim.stop()
        return
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from whmcs_bridge.cli import main; main()", "sim",
         "--port", str(port), "--tickets", str(args.tickets), "--clients", "200",
         "--seed", "11", "--latency-ms", str(args.latency_ms)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def calls() -> dict[str, int]:
        with urllib.request.urlopen(url + "/_sim/state", timeout=10) as r:
            return json.load(r)["calls"]

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                calls()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the simulator did not start") from None
                time.sleep(0.2)
        yield url, calls
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def client_for(url: str, args: argparse.Namespace) -> Any:
    return WhmcsClient(url, DEFAULT_IDENTIFIER, DEFAULT_SECRET, timezone="UTC", retries=0,
                       pool_size=max(10, args.concurrency))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--baseline", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp, simulator(args) as (url, calls):
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(db)
        upgrade(engine)
        settings = load_settings(data={"database": {"url": db}}, environ={})
        client = client_for(url, args)
        before = sum(calls().values())
        phases: dict[str, float] = {}

        def progress(phase: str, n: int, total: int | None) -> None:
            phases.setdefault(phase, time.perf_counter())

        try:
            started = time.perf_counter()
            summary = run_sync(engine, settings, client, full=True,
                               concurrency=args.concurrency, progress=progress)
            wall = time.perf_counter() - started
        finally:
            client.close()
            engine.dispose()
        made = calls()
        requests = sum(made.values()) - before  # /_sim/state reads are not API calls
        floor = requests * args.latency_ms / 1000.0 / args.concurrency
        where = "in this process" if args.in_process else "in its own process"
        print(f"full sync of {args.tickets:,} tickets, latency {args.latency_ms:g} ms, "
              f"concurrency {args.concurrency}, simulator {where}")
        print(f"  listed {summary.listed:,}, fetched {summary.fetched:,}, "
              f"failed {summary.failed}")
        listing = phases.get("fetching", started + wall) - started
        print(f"  wall time        {wall:8.2f} s  (listing {listing:.2f} s, "
              f"reading {wall - listing:.2f} s)")
        print(f"  requests         {requests:8,}  ({made})")
        print(f"  round-trip floor {floor:8.2f} s  (requests × latency ÷ concurrency)")
        print(f"  ratio            {wall / floor:8.3f}  (target ≤ 1.25)")
        if args.baseline:
            client = client_for(url, args)
            try:
                started = time.perf_counter()
                with ThreadPoolExecutor(args.concurrency) as pool:
                    for _ in pool.map(client.get_ticket, range(1, args.tickets + 1)):
                        pass
                bare = time.perf_counter() - started
            finally:
                client.close()
            bare_floor = args.tickets * args.latency_ms / 1000.0 / args.concurrency
            print(f"baseline: {args.tickets:,} bare GetTicket calls, nothing stored: "
                  f"{bare:.2f} s, ratio {bare / bare_floor:.3f}")


if __name__ == "__main__":
    main()
