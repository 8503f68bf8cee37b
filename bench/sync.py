"""Benchmark: a full ticket sync from the WHMCS simulator with injected latency per request.

Prints wall time, requests made, and the ratio of the wall time to the **pipelined floor**: the
first list page alone (it gives ``totalresults``), then the other ``⌈N/L⌉ − 1`` pages and the
``N`` ticket reads sharing ``c`` parallel requests — ``(1 + (⌈N/L⌉ − 1 + N) / c) × latency``.
Goal ≤ 1.15. Also the simulator's share: the CPU seconds its process used during the sync
÷ the wall time (a simulator at 100 % of a core would be the bottleneck, not the bridge), and
the sync's own CPU, each per request; and what both together need at the floor's rate (c
requests every latency), in cores: on a shared machine, more than it has free puts the floor
out of reach whatever the sync does. The load average before and after each run is printed
with it, and how long a sleep of the latency really takes on the machine just before (the
simulator's latency is such a sleep; under load each wake-up waits for a CPU). ``--repeat 3``
runs the sync three times (fresh simulator and store each) and prints the best and the
median ratio, since one run on a loaded machine says little. ``--neighbours 2`` keeps two
busy-looping processes running through the runs and the baseline (each wants a whole core):
a noisy neighbour made to order, to see how the ratio follows the machine's contention.

By default the simulator runs as a separate process (``whmcs-bridge sim``), as a real WHMCS is
remote: its request handling then does not compete with the sync for this process's GIL.
``--in-process`` runs it in a loopback thread instead (an upper bound of the ratio; no CPU
split). ``--baseline`` also times the same N GetTicket calls at the same concurrency with
nothing stored, as bare HTTP round trips (``http.client``: what the machine and the simulator
allow) and through ``WhmcsClient`` (adds the client's parsing), to separate the sync's own
cost from the client's, the simulator's and the machine's; it then prints the sync's best
ratio divided by the bare round trips' ratio of the same run (what the sync adds to what the
machine and the simulator allow at that moment).

``--memory-sizes 10000,100000`` then runs a full sync of each size in a child process (at
``--memory-latency-ms``, default 0) and prints each child's peak RSS and the ratio of the
largest to the smallest (goal ≤ 1.2): the sync streams, its memory must not follow N.

    python bench/sync.py [--tickets 10000] [--latency-ms 20] [--concurrency 8] [--repeat 3]
        [--baseline] [--neighbours 1] [--memory-sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.config import load_settings
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.sim.config import API_PATH, DEFAULT_IDENTIFIER, DEFAULT_SECRET
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.sync import DEFAULT_CONCURRENCY, PAGE_SIZE, run_sync


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its live descendants so far (Linux
    ``/proc``; ``whmcs-bridge sim`` serves from its one process, children would count)."""
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


@contextmanager
def neighbours(count: int):
    """``count`` processes that each spin on a core until the block ends (for --neighbours)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def sleep_probe(concurrency: int, latency: float, seconds: float = 1.0) -> float:
    """Mean seconds a ``time.sleep(latency)`` really takes here now, ``concurrency`` threads
    sleeping at once: the simulator's injected latency is such a sleep, and on a shared
    machine each wake-up waits for a free CPU. No sync can beat the floor computed with it."""
    took: list[float] = []

    def sleeper() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t = time.perf_counter()
            time.sleep(latency)
            took.append(time.perf_counter() - t)

    threads = [threading.Thread(target=sleeper) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(took) / len(took)


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

        load0 = os.getloadavg()[0]
        slept = sleep_probe(args.concurrency, args.latency_ms / 1000.0) if args.latency_ms \
            else None
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
            "own_cpu": own1 - own0, "load": (load0, os.getloadavg()[0]), "slept": slept,
            "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def report(args: argparse.Namespace, r: dict[str, Any]) -> float | None:
    """Print one run's figures; returns its ratio to the pipelined floor (None at 0 ms)."""
    n, c, lat = args.tickets, args.concurrency, args.latency_ms / 1000.0
    pages = math.ceil(n / PAGE_SIZE)
    floor = (1 + (pages - 1 + n) / c) * lat
    old_floor = (math.ceil(pages / c) + math.ceil(n / c)) * lat  # list, then read
    wall = r["wall"]
    where = "in this process" if args.in_process else "in its own process"
    print(f"full sync of N = {n:,} tickets, L = {PAGE_SIZE} a page, c = {c} parallel "
          f"requests, latency {args.latency_ms:g} ms, simulator {where}; load average "
          f"{r['load'][0]:.1f} before, {r['load'][1]:.1f} after ({os.cpu_count()} CPUs)")
    print(f"  listed {r['listed']:,}, fetched {r['fetched']:,}, failed {r['failed']}")
    print(f"  wall time        {wall:8.2f} s  (listing complete after {r['listing']:.2f} s; "
          f"reads run alongside it)")
    print(f"  requests         {r['requests']:8,}  ({r['made']})")
    ratio = None
    if lat:
        ratio = wall / floor
        print(f"  pipelined floor  {floor:8.2f} s  (1 + (⌈N/L⌉ − 1 + N) / c round trips)")
        print(f"  ratio            {ratio:8.3f}  (goal ≤ 1.15)")
        print(f"  list-then-read floor {old_floor:.2f} s: the pipelined run is "
              f"{wall / old_floor:.3f}× it (the unpipelined sync could not go below 1)")
        slept = r["slept"]
        print(f"  this machine now: a {args.latency_ms:g} ms sleep takes {slept * 1000:.2f} ms "
              f"({c} threads at once); the floor with that: {floor * slept / lat:.2f} s, the "
              f"run {wall / (floor * slept / lat):.3f}× it")
    per = max(r["requests"], 1)
    own = r["own_cpu"] / per * 1000
    print(f"  sync CPU         {r['own_cpu']:8.2f} s  = {r['own_cpu'] / wall:6.1%} of the "
          f"wall time ({own:.2f} ms a request: client, parsing, store writes)")
    if r["sim_cpu"] is not None:
        sim = r["sim_cpu"] / per * 1000
        print(f"  simulator CPU    {r['sim_cpu']:8.2f} s  = {r['sim_cpu'] / wall:6.1%} of the "
              f"wall time ({sim:.2f} ms a request; 100 % would make it the bottleneck)")
        if lat:
            # at the floor, c requests complete every latency: the CPU both processes need
            # for that rate, in cores — above what the machine has free, the floor is out of
            # reach whatever the sync's pipelining does
            need = (own + sim) / 1000 * c / lat
            print(f"  CPU at the floor's rate ({c / lat:.0f} requests/s): {own:.2f} + {sim:.2f} "
                  f"ms a request = {need:.2f} cores of the {os.cpu_count()}, shared with the "
                  f"load above")
    return ratio


def raw_get_tickets(url: str, ids: Iterable[int], *, decode: bool = False) -> None:
    """GetTicket of ``ids`` over one kept-alive connection with nothing but ``http.client``:
    the least a client can do per call (the answer read, and parsed only with ``decode``).
    ``bench/client.py --instructions`` counts it as its bare round trip."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        for tid in ids:
            body = urllib.parse.urlencode({
                "action": "GetTicket", "ticketid": tid, "identifier": DEFAULT_IDENTIFIER,
                "secret": DEFAULT_SECRET, "responsetype": "json"})
            conn.request("POST", API_PATH, body=body, headers=headers)
            answer = conn.getresponse()
            body = answer.read()
            if decode:
                json.loads(body)
            if answer.status != 200:
                raise SystemExit(f"GetTicket {tid}: HTTP {answer.status}")
    finally:
        conn.close()


def baseline(args: argparse.Namespace) -> dict[str, float]:
    """The same N GetTicket calls at the same concurrency, nothing stored: once as bare HTTP
    round trips (what the machine and the simulator allow), once through WhmcsClient (adds
    the client's own work). The sync's ratio above, minus these, is what storing costs."""
    n, c = args.tickets, args.concurrency
    bare_floor = n * args.latency_ms / 1000.0 / c
    with simulator(args) as (url, _, sim_cpu):
        runs = []
        client = client_for(url, args)
        try:
            for name in ("bare HTTP round trips (http.client)", "WhmcsClient.get_ticket"):
                sim0, own0, started = sim_cpu(), _own_cpu(), time.perf_counter()
                if name.startswith("bare"):
                    with ThreadPoolExecutor(c) as pool:
                        list(pool.map(lambda k: raw_get_tickets(url, range(1 + k, n + 1, c)),
                                      range(c)))
                else:
                    with ThreadPoolExecutor(c) as pool:
                        for _ in pool.map(client.get_ticket, range(1, n + 1)):
                            pass
                took = time.perf_counter() - started
                sim1, own1 = sim_cpu(), _own_cpu()
                runs.append((name, took, own1 - own0,
                             None if sim0 is None or sim1 is None else sim1 - sim0))
        finally:
            client.close()
    print(f"baseline: {n:,} GetTicket calls, {c} at once, nothing stored (floor "
          f"{bare_floor:.2f} s = N / c round trips):")
    for name, took, own, sim in runs:
        line = (f"  {name:38s} {took:7.2f} s, ratio {took / bare_floor:.3f}; this process "
                f"{own / n * 1000:.2f} ms CPU a call")
        if sim is not None:
            line += f", simulator {sim / n * 1000:.2f} ms"
        print(line)
    return {name: took / bare_floor for name, took, _, _ in runs}


def timed_runs(args: argparse.Namespace) -> tuple[list[float | None], dict[str, float] | None]:
    """The ``--repeat`` runs of the sync (and ``--baseline``): their ratios, the baseline's."""
    ratios = []
    for i in range(max(args.repeat, 1)):
        if args.repeat > 1:
            print(f"run {i + 1} of {args.repeat}:")
        ratios.append(report(args, run_once(args)))
    if args.repeat > 1 and None not in ratios:
        ordered = sorted(ratios)  # type: ignore[type-var]
        print(f"ratio over {len(ordered)} runs: best {ordered[0]:.3f}, median "
              f"{ordered[len(ordered) // 2]:.3f}, worst {ordered[-1]:.3f}  (goal ≤ 1.15)")
    return ratios, baseline(args) if args.baseline else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of the sync (each against a fresh simulator and store); "
                         "prints each, then the best and the median ratio")
    ap.add_argument("--neighbours", type=int, default=0,
                    help="busy-looping processes kept running through the runs and the "
                         "baseline (a noisy neighbour each)")
    ap.add_argument("--memory-sizes", default="",
                    help="e.g. 10000,100000: peak RSS of a full sync of each, in child processes")
    ap.add_argument("--memory-latency-ms", type=float, default=0.0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_once(args)))
        return

    with neighbours(args.neighbours):
        if args.neighbours:
            print(f"{args.neighbours} busy neighbour process(es) running throughout")
        ratios, base = timed_runs(args)
    if base is not None:
        bare = base["bare HTTP round trips (http.client)"]
        if None not in ratios:
            best = min(ratios)  # type: ignore[type-var]
            # the bare round trips' ratio is what this machine and simulator allow now; the
            # sync's over it is what the sync itself adds (client, parsing, store, pipeline)
            print(f"the sync's best ratio over the bare round trips' ratio in this run: "
                  f"{best:.3f} / {bare:.3f} = {best / bare:.3f}  (1.0: the sync adds nothing "
                  f"to what the machine allows)")
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
