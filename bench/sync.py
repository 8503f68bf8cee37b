"""Benchmark: a full ticket sync from the WHMCS simulator with injected latency per request.

Prints wall time, requests made, and the ratio of the wall time to the **pipelined floor**: the
first list page alone (it gives ``totalresults``), then the other ``⌈N/L⌉ − 1`` pages and the
``N`` ticket reads sharing ``c`` parallel requests — ``(1 + (⌈N/L⌉ − 1 + N) / c) × latency``.
Goal ≤ 1.15. Also the simulator's share: the CPU seconds its process used during the sync
÷ the wall time (a simulator at 100 % of a core would be the bottleneck, not the bridge), and
the sync's own CPU.

By default the simulator runs as a separate process (``whmcs-bridge sim``), as a real WHMCS is
remote: its request handling then does not compete with the sync for this process's GIL.
``--in-process`` runs it in a loopback thread instead (an upper bound of the ratio; no CPU
split). ``--baseline`` also times the bare GetTicket calls (same concurrency, nothing stored),
to separate the sync's own cost from the client's and the simulator's.

``--memory-sizes 10000,100000`` then runs a full sync of each size in a child process (at
``--memory-latency-ms``, default 0) and prints each child's peak RSS and the ratio of the
largest to the smallest (goal ≤ 1.2): the sync streams, its memory must not follow N.

    python bench/sync.py [--tickets 10000] [--latency-ms 20] [--concurrency 8]
        [--memory-sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
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
from whmcs_bridge.config import load_settings
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.sim.config import DEFAULT_IDENTIFIER, DEFAULT_SECRET
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.sync import DEFAULT_CONCURRENCY, PAGE_SIZE, run_sync


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its live descendants so far (Linux
    ``/proc``): ``whmcs-bridge sim`` is a gunicorn arbiter whose one worker serves."""
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended meanwhile
    return total


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@contextmanager
def simulator(args: argparse.Namespace):
    """Yields ``(base url, calls(), cpu())``; ``calls()`` is the simulator's per-action
    counter, ``cpu()`` its process's CPU seconds (``None`` in-process)."""
    if args.in_process:
        sim = run_in_thread(SimConfig(tickets=args.tickets, clients=200, seed=11,
                                      latency_ms=args.latency_ms))
        try:
            yield sim.url, lambda: dict(sim.state.calls), lambda: None
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
        yield url, calls, lambda: _cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def client_for(url: str, args: argparse.Namespace) -> Any:
    return WhmcsClient(url, DEFAULT_IDENTIFIER, DEFAULT_SECRET, timezone="UTC", retries=0,
                       pool_size=max(10, args.concurrency))


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    """One full sync against a fresh simulator and store; the figures of the run."""
    with tempfile.TemporaryDirectory() as tmp, simulator(args) as (url, calls, sim_cpu):
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
            sim0, own0 = sim_cpu(), _own_cpu()
            started = time.perf_counter()
            summary = run_sync(engine, settings, client, full=True,
                               concurrency=args.concurrency, progress=progress)
            wall = time.perf_counter() - started
            sim1, own1 = sim_cpu(), _own_cpu()
        finally:
            client.close()
            engine.dispose()
        made = calls()
    return {"wall": wall, "listing": phases.get("fetching", started + wall) - started,
            "requests": sum(made.values()) - before,  # /_sim/state reads are not API calls
            "made": made, "listed": summary.listed, "fetched": summary.fetched,
            "failed": summary.failed,
            "sim_cpu": None if sim0 is None or sim1 is None else sim1 - sim0,
            "own_cpu": own1 - own0,
            "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    n, c, lat = args.tickets, args.concurrency, args.latency_ms / 1000.0
    pages = math.ceil(n / PAGE_SIZE)
    floor = (1 + (pages - 1 + n) / c) * lat
    old_floor = (math.ceil(pages / c) + math.ceil(n / c)) * lat  # list, then read
    wall = r["wall"]
    where = "in this process" if args.in_process else "in its own process"
    print(f"full sync of {n:,} tickets, latency {args.latency_ms:g} ms, concurrency {c}, "
          f"simulator {where}")
    print(f"  listed {r['listed']:,}, fetched {r['fetched']:,}, failed {r['failed']}")
    print(f"  wall time        {wall:8.2f} s  (listing complete after {r['listing']:.2f} s; "
          f"reads run alongside it)")
    print(f"  requests         {r['requests']:8,}  ({r['made']})")
    if lat:
        print(f"  pipelined floor  {floor:8.2f} s  (1 + (⌈N/L⌉ − 1 + N) / c round trips, "
              f"L = {PAGE_SIZE})")
        print(f"  ratio            {wall / floor:8.3f}  (goal ≤ 1.15)")
        print(f"  list-then-read floor {old_floor:.2f} s: the pipelined run is "
              f"{wall / old_floor:.3f}× it (the unpipelined sync could not go below 1)")
    if r["sim_cpu"] is not None:
        print(f"  simulator CPU    {r['sim_cpu']:8.2f} s  = {r['sim_cpu'] / wall:6.1%} of the "
              f"wall time ({r['sim_cpu'] / max(r['requests'], 1) * 1e6:.0f} µs a request)")
    print(f"  sync CPU         {r['own_cpu']:8.2f} s  = {r['own_cpu'] / wall:6.1%} of the "
          f"wall time (store writes, client parsing)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--memory-sizes", default="",
                    help="e.g. 10000,100000: peak RSS of a full sync of each, in child processes")
    ap.add_argument("--memory-latency-ms", type=float, default=0.0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_once(args)))
        return

    report(args, run_once(args))
    if args.baseline:
        with simulator(args) as (url, _, _):
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
    sizes = [int(x) for x in args.memory_sizes.split(",") if x]
    if sizes:
        print(f"peak memory (RSS of a child process running only the sync; simulator in its "
              f"own process), latency {args.memory_latency_ms:g} ms, concurrency "
              f"{args.concurrency}:")
        peaks = {}
        for n in sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--child", "--tickets", str(n), "--latency-ms",
                 str(args.memory_latency_ms), "--concurrency", str(args.concurrency)],
                check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            peaks[n] = r["maxrss_kib"]
            share = "" if r["sim_cpu"] is None else (
                f", simulator CPU {r['sim_cpu']:.1f} s = {r['sim_cpu'] / r['wall']:.0%}")
            print(f"  {n:>9,} tickets: peak {r['maxrss_kib'] / 1024:7.1f} MiB, "
                  f"sync {r['wall']:.1f} s, sync CPU {r['own_cpu']:.1f} s{share}", flush=True)
        lo, hi = min(sizes), max(sizes)
        print(f"  ratio {hi:,} / {lo:,}: {peaks[hi] / peaks[lo]:.3f}  (goal ≤ 1.2)")


if __name__ == "__main__":
    main()
