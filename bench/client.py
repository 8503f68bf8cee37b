"""Benchmark of the WHMCS API client against the simulator on 127.0.0.1 (prints figures).

    python bench/client.py [--calls 400] [--tickets 10000] [--big 100000]

(a) per-call overhead: ``WhmcsClient`` (generic ``call`` and typed ``get_ticket``) vs a bare
    ``requests.Session.post`` of the same form to the same endpoint (target ≤ 1.3×);
(b) requests and wall time to list 10,000 tickets at page sizes 25/100/250 — the request
    count is read from the simulator and must equal ⌈N/L⌉;
(c) peak Python memory (tracemalloc) of the client while iterating 100,000 tickets vs 10,000
    (target ≤ 1.2×).

Each simulator runs in its own process so the client's time and memory are its own.

``--instructions`` counts instead of timing: the CPU instructions one GetTicket costs this
process, by valgrind's ``callgrind`` (``apt-get install valgrind``). Times on a shared 2-core
machine move by a third from one run to the next (other tenants, CPU steal) and hide a 10 %
change in the client; instruction counts are the same for the same code, inputs and hash
seed whatever the machine is doing. For each way of calling, one child process makes
``--calls`` calls after five warm-up calls and another only the warm-up; the difference per
call is printed beside the bare ``http.client`` round trip as a ratio: ``bare`` (bench/sync.py's
``raw_get_tickets``: GetTicket forms POSTed over one kept-alive connection, bodies read),
``json`` (plus ``json.loads``),
``call`` (``WhmcsClient.call``: encoding, requests, the result check) and ``get_ticket``
(plus the marshmallow load into a ``Ticket``: what every sync read costs before the store).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whmcs_bridge.api import WhmcsClient
from whmcs_bridge.sim.config import DEFAULT_IDENTIFIER, DEFAULT_SECRET

sys.path.insert(1, str(Path(__file__).resolve().parent))
from sync import raw_get_tickets  # bench/sync.py: its bare round trip is the baseline here

WAYS = ("bare", "json", "call", "get_ticket")
WARM = 5


@contextmanager
def simulator(tickets: int, clients: int = 50) -> Iterator[str]:
    """Start ``whmcs-bridge sim`` on a free loopback port; yield its root URL."""
    code = "from whmcs_bridge.cli import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "sim", "--host", "127.0.0.1", "--port", "0",
         "--tickets", str(tickets), "--clients", str(clients)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            if "API endpoint:" in line:
                url = line.split("API endpoint:")[1].strip().rsplit("/includes/", 1)[0]
                break
        if not url:
            raise RuntimeError("the simulator did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sim_calls(url: str, action: str) -> int:
    return int(requests.get(url + "/_sim/state", timeout=10).json()["calls"].get(action, 0))


def per_call(fn: Callable[[], object], calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def bench_overhead(url: str, calls: int) -> None:
    client = WhmcsClient(url, DEFAULT_IDENTIFIER, DEFAULT_SECRET, retries=0)
    session = requests.Session()
    form = {"action": "GetTicket", "identifier": DEFAULT_IDENTIFIER,
            "secret": DEFAULT_SECRET, "responsetype": "json", "ticketid": "1",
            "repliessort": "ASC"}
    endpoint = url + "/includes/api.php"

    def bare() -> object:
        response = session.post(endpoint, data=form, timeout=10)
        return response.json()

    for fn in (bare, lambda: client.call("GetTicket", ticketid=1, repliessort="ASC"),
               lambda: client.get_ticket(1)):
        per_call(fn, 20)  # warm up connections and caches
    rounds: dict[str, list[float]] = {"bare": [], "call": [], "typed": []}
    for _ in range(4):  # interleave to share drift on a busy machine
        rounds["bare"] += per_call(bare, calls // 4)
        rounds["call"] += per_call(
            lambda: client.call("GetTicket", ticketid=1, repliessort="ASC"), calls // 4)
        rounds["typed"] += per_call(lambda: client.get_ticket(1), calls // 4)
    med = {k: statistics.median(v) * 1000 for k, v in rounds.items()}
    print(f"(a) per-call, GetTicket, {calls} calls each (median ms):")
    print(f"    bare requests.Session.post + .json(): {med['bare']:.3f} ms")
    print(f"    WhmcsClient.call:                     {med['call']:.3f} ms  "
          f"ratio {med['call'] / med['bare']:.2f}x (target <= 1.3x)")
    print(f"    WhmcsClient.get_ticket (typed):       {med['typed']:.3f} ms  "
          f"ratio {med['typed'] / med['bare']:.2f}x")
    client.close()
    session.close()


def bench_listing(url: str, total: int) -> None:
    print(f"(b) listing {total} tickets:")
    client = WhmcsClient(url, DEFAULT_IDENTIFIER, DEFAULT_SECRET, retries=0)
    for size in (25, 100, 250):
        before = sim_calls(url, "GetTickets")
        start = time.perf_counter()
        count = sum(1 for _ in client.iter_tickets(page_size=size))
        wall = time.perf_counter() - start
        made = sim_calls(url, "GetTickets") - before
        expected = math.ceil(total / size)
        verdict = "ok" if made == expected and count == total else "MISMATCH"
        print(f"    page size {size:>3}: {made} requests (ceil(N/L) = {expected}, {verdict}), "
              f"{count} tickets, {wall:.2f} s")
    client.close()


def peak_while_iterating(url: str, page_size: int) -> tuple[int, int]:
    client = WhmcsClient(url, DEFAULT_IDENTIFIER, DEFAULT_SECRET, retries=0)
    client.get_tickets(limitnum=1)  # connection and schema caches outside the measurement
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    count = sum(1 for _ in client.iter_tickets(page_size=page_size))
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    client.close()
    return count, peak


def counted_calls(way: str, calls: int, url: str) -> None:
    """WARM + ``calls`` GetTicket calls made one way (the child valgrind runs)."""
    ids = itertools.chain(range(1, WARM + 1), range(1, calls + 1))
    if way in ("bare", "json"):
        raw_get_tickets(url, ids, decode=way == "json")  # one connection for all
        return
    client = WhmcsClient(url, DEFAULT_IDENTIFIER, DEFAULT_SECRET, timezone="UTC", retries=0)
    for tid in ids:
        if way == "call":
            client.call("GetTicket", ticketid=tid, repliessort="ASC")
        else:
            client.get_ticket(tid)


def _callgrind(way: str, calls: int, url: str, tmp: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONHASHSEED="0")  # the same dict layouts every run
    return subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.{way}.{calls}",
         sys.executable, __file__, "--child", way, "--calls", str(calls), "--url", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def _collected(proc: subprocess.Popen[str]) -> int:
    _, err = proc.communicate()
    found = re.search(r"Collected : (\d+)", err)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"the valgrind run failed:\n{err[-2000:]}")
    return int(found.group(1))


def bench_instructions(url: str, calls: int) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    cost: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for way in WAYS:  # the two children of a way run at once: one per core
            warm, more = _callgrind(way, 0, url, tmp), _callgrind(way, calls, url, tmp)
            cost[way] = (_collected(more) - _collected(warm)) / calls
    print(f"(d) instructions per GetTicket call in this process (valgrind callgrind, {calls} "
          f"calls; the simulator's own are not counted):")
    for way in WAYS:
        print(f"    {way:11s} {cost[way] / 1e6:6.2f} M   {cost[way] / cost['bare']:5.2f}x bare")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=250, help="for the memory run")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per call with valgrind instead of timing")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        counted_calls(args.child, args.calls, args.url)
        return
    if args.instructions:
        with simulator(max(args.calls, 100)) as url:
            bench_instructions(url, args.calls)
        return
    print("WHMCS API client benchmark (simulator on 127.0.0.1, a test double, not WHMCS)")
    with simulator(args.tickets) as url:
        bench_overhead(url, args.calls)
        bench_listing(url, args.tickets)
        small_count, small_peak = peak_while_iterating(url, args.page_size)
    with simulator(args.big) as url:
        big_count, big_peak = peak_while_iterating(url, args.page_size)
    print(f"(c) peak client memory while iterating (page size {args.page_size}):")
    print(f"    {small_count} tickets: {small_peak / 1024:.0f} KiB")
    print(f"    {big_count} tickets: {big_peak / 1024:.0f} KiB  "
          f"ratio {big_peak / small_peak:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
