"""Benchmark: a full ticket sync of 10,000 tickets from the WHMCS simulator with 20 ms of
injected latency per request.

Prints wall time, requests made, and the ratio of the wall time to the round-trip floor
(requests × latency ÷ concurrency) — target ≤ 1.25. The simulator runs in this process (a
loopback thread), so its CPU time competes with the sync's: the ratio is an upper bound of
what a remote WHMCS would see.

    python bench/sync.py [--tickets 10000] [--latency-ms 20] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from whmcs_bridge.settings import load_settings
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.tickets.sync import DEFAULT_CONCURRENCY, run_sync


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    ap.add_argument("--baseline", action="store_true",
                    help="also time the bare GetTicket calls (same concurrency, no store), to "
                         "separate the sync's own cost from the client's and simulator's")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        settings = load_settings(data={"database": {"url": url}}, environ={})
        sim = run_in_thread(SimConfig(tickets=args.tickets, clients=200, seed=11,
                                      latency_ms=args.latency_ms))
        client = sim.client(retries=0, pool_size=max(10, args.concurrency))
        last = [0.0]

        def progress(phase: str, n: int, total: int | None) -> None:
            if time.monotonic() - last[0] > 5:
                last[0] = time.monotonic()
                print(f"  … {phase}", file=sys.stderr)

        try:
            started = time.perf_counter()
            summary = run_sync(engine, settings, client, full=True,
                               concurrency=args.concurrency, progress=progress)
            wall = time.perf_counter() - started
        finally:
            client.close()
            sim.stop()
            engine.dispose()
        requests = sum(sim.state.calls.values())
        floor = requests * args.latency_ms / 1000.0 / args.concurrency
        print(f"full sync of {args.tickets:,} tickets, latency {args.latency_ms:g} ms, "
              f"concurrency {args.concurrency}")
        print(f"  listed {summary.listed:,}, fetched {summary.fetched:,}, "
              f"failed {summary.failed}")
        print(f"  wall time       {wall:8.2f} s")
        print(f"  requests        {requests:8,}  ({dict(sim.state.calls)})")
        print(f"  round-trip floor {floor:7.2f} s  (requests × latency ÷ concurrency)")
        print(f"  ratio           {wall / floor:8.3f}  (target ≤ 1.25)")
        if args.baseline:
            baseline(args)


def baseline(args: argparse.Namespace) -> None:
    """The same GetTicket calls with nothing stored: the client + simulator floor."""
    sim = run_in_thread(SimConfig(tickets=args.tickets, clients=200, seed=11,
                                  latency_ms=args.latency_ms))
    client = sim.client(retries=0, pool_size=max(10, args.concurrency))
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for _ in pool.map(client.get_ticket, range(1, args.tickets + 1)):
                pass
        wall = time.perf_counter() - started
    finally:
        client.close()
        sim.stop()
    floor = args.tickets * args.latency_ms / 1000.0 / args.concurrency
    print(f"baseline: {args.tickets:,} bare GetTicket calls, no store: {wall:.2f} s, "
          f"ratio {wall / floor:.3f}")


if __name__ == "__main__":
    main()
