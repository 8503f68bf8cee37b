"""How long the dashboard takes with many open tickets (SQLite; prints figures, asserts nothing).

    python bench/dashboard.py [--tickets 2500] [--repeat 5]

Figures, all server time through the real app (Flask test client, bearer token):

* the data read alone (``load_dashboard``: every open ticket evaluated, compliance);
* the **first render** of ``GET /dashboard`` on a fresh app (templates compiled, compliance
  cache cold) — the goal is ≤ 300 ms with 2,500 open tickets;
* warm renders (median of ``--repeat``) of the first page, a filtered + searched page and a
  late page;
* baselines measured in the same run: the **unpaged** page (every open ticket in one table, as
  the dashboard was before paging) and an **empty** dashboard (no tickets), with the ratios.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import whmcs_bridge.webhooks.dashboard as view
from whmcs_bridge.config import load_settings
from whmcs_bridge.dashboard.source import load_dashboard
from whmcs_bridge.runtime import build_app
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.tickets import store

TOKEN = "bench-token-" + "x" * 20
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _setup(folder: str, name: str, tickets: int, now: datetime) -> tuple[Any, Any]:
    url = f"sqlite:///{Path(folder) / name}"
    settings = load_settings(data={
        "database": {"url": url}, "api": {"tokens": [TOKEN]},
        "webhooks": {"secrets": ["whsec_" + base64.b64encode(b"b" * 32).decode()]},
        "server": {"secret_key": "k" * 32},
        "channels": {"billing_department_ids": [2]}}, environ={})
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        for i in range(1, tickets + 1):
            # ages from minutes to days: a mix of on-track, at-risk and (mostly) breached
            opened = now - timedelta(minutes=(i * 37) % (6 * 24 * 60))
            store.upsert_ticket(conn, i, now=now, tid=f"B-{i:06d}", subject=f"ticket {i}",
                                priority=("High", "Medium", "Low")[i % 3], status="Open",
                                department_id=1 + i % 4, client_id=i,
                                channel=("client_area", "email", "chat")[i % 3],
                                opened_at=opened)
            store.add_message(conn, i, "open", "customer", at=opened)
    return settings, engine


def _get(client: Any, query: str = "") -> tuple[float, Any]:
    started = time.perf_counter()
    resp = client.get(f"/dashboard{query}", headers=AUTH)
    return time.perf_counter() - started, resp


def _median(fn: Callable[[], float], repeat: int) -> float:
    return statistics.median(fn() for _ in range(repeat))


def _clear_compliance_cache() -> None:
    from whmcs_bridge.dashboard import source
    source._CACHE.clear()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        settings, engine = _setup(folder, "bench.db", args.tickets, now)
        empty_settings, empty_engine = _setup(folder, "empty.db", 0, now)

        started = time.perf_counter()
        data = load_dashboard(engine, settings, now)
        load_s = time.perf_counter() - started
        _clear_compliance_cache()

        # first render: a fresh app, cold compliance cache
        client = build_app(settings, engine=engine).test_client()
        first_s, resp = _get(client)
        assert resp.status_code == 200, resp.status_code
        first_kib = len(resp.data) / 1024
        warm_s = _median(lambda: _get(client)[0], args.repeat)
        filtered_s = _median(lambda: _get(client, "?sla=breached&department=2&q=ticket+1")[0],
                             args.repeat)
        late_s = _median(lambda: _get(client, "?page=40")[0], args.repeat)

        # baseline 1: the same data, every open ticket in one table (the page before paging)
        view.PAGE_ROWS = 10**9
        _clear_compliance_cache()
        unpaged_client = build_app(settings, engine=engine).test_client()
        unpaged_first_s, unpaged = _get(unpaged_client)
        unpaged_warm_s = _median(lambda: _get(unpaged_client)[0], args.repeat)
        view.PAGE_ROWS = view.PER_PAGE

        # baseline 2: an empty dashboard (the fixed cost of the page)
        _clear_compliance_cache()
        empty_client = build_app(empty_settings, engine=empty_engine).test_client()
        empty_first_s, _ = _get(empty_client)
        empty_warm_s = _median(lambda: _get(empty_client)[0], args.repeat)

        n = len(data.open_tickets)
        states = {k: v for k, v in data.state_counts.items() if v}
        print(f"open tickets: {n}  {states}")
        print(f"load_dashboard (data only): {load_s * 1000:.0f} ms "
              f"({load_s / max(1, n) * 1e6:.0f} µs per ticket)")
        print(f"first render GET /dashboard: {first_s * 1000:.0f} ms, {first_kib:.0f} KiB "
              f"(goal <= 300 ms: {'met' if first_s <= 0.3 else 'NOT met'})")
        print(f"warm GET /dashboard (median of {args.repeat}): {warm_s * 1000:.0f} ms; "
              f"filtered+search {filtered_s * 1000:.0f} ms; page 40 {late_s * 1000:.0f} ms")
        print(f"baseline unpaged (all {n} rows): first {unpaged_first_s * 1000:.0f} ms, "
              f"warm {unpaged_warm_s * 1000:.0f} ms, {len(unpaged.data) / 1024:.0f} KiB")
        print(f"baseline empty dashboard: first {empty_first_s * 1000:.0f} ms, "
              f"warm {empty_warm_s * 1000:.0f} ms")
        print(f"ratio paged/unpaged: first {first_s / unpaged_first_s:.2f}, "
              f"warm {warm_s / unpaged_warm_s:.2f}; size "
              f"{first_kib / (len(unpaged.data) / 1024):.3f}")
        print(f"ratio paged/empty: first {first_s / empty_first_s:.1f}, "
              f"warm {warm_s / empty_warm_s:.1f}")
        engine.dispose()
        empty_engine.dispose()


if __name__ == "__main__":
    main()
