"""Benchmark: the WHMCS simulator's memory for a large seeded install (a test double's claim,
``sim/records.py``: 100,000 tickets must fit comfortably).

Builds the simulator's state for a small baseline install and a large one in this process and
prints the traced Python heap of each (``tracemalloc``), bytes per ticket, the ratio of the
per-ticket cost at scale to the baseline's, and what listing every ticket through GetTickets
adds (conversations are built lazily, so a listing must not materialise them).

    python bench/sim_memory.py [--tickets 100000] [--clients 10000]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from typing import Any

from whmcs_bridge.sim import SimConfig
from whmcs_bridge.sim.state import SimState


def measure(tickets: int, clients: int) -> dict[str, Any]:
    started = time.perf_counter()  # timed untraced: tracemalloc slows allocation several-fold
    SimState(SimConfig(tickets=tickets, clients=clients))
    build_s = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    state = SimState(SimConfig(tickets=tickets, clients=clients))
    built, _ = tracemalloc.get_traced_memory()
    listed = sum(1 for _ in state.iter_tickets())  # what a GetTickets walk touches
    after_list, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del state
    return {"tickets": tickets, "clients": clients, "built_mib": built / 2**20,
            "per_ticket_b": built / tickets, "list_extra_kib": (after_list - built) / 1024,
            "peak_mib": peak / 2**20, "build_s": build_s, "listed": listed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=10_000)
    args = parser.parse_args()
    base = measure(1_000, max(1, args.clients // 100))
    big = measure(args.tickets, args.clients)
    for row in (base, big):
        print(f"{row['tickets']:>7,} tickets, {row['clients']:>6,} clients: "
              f"heap {row['built_mib']:7.1f} MiB ({row['per_ticket_b']:,.0f} B/ticket incl. "
              f"clients), built in {row['build_s']:.2f} s; listing all {row['listed']:,} "
              f"adds {row['list_extra_kib']:.0f} KiB; peak {row['peak_mib']:.1f} MiB")
    print(f"per-ticket cost at scale / baseline: {big['per_ticket_b'] / base['per_ticket_b']:.2f}")


if __name__ == "__main__":
    main()
