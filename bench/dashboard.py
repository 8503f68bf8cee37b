"""How long the dashboard takes with many open tickets (SQLite; prints figures, asserts nothing).

    python bench/dashboard.py [--tickets 2000]
"""

from __future__ import annotations

import argparse
import base64
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from webhooks.app import create_app
from whmcs_bridge.dashboard.source import load_dashboard
from whmcs_bridge.settings import load_settings
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.tickets import store

TOKEN = "bench-token-" + "x" * 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        settings = load_settings(data={
            "database": {"url": url}, "api": {"tokens": [TOKEN]},
            "webhooks": {"secrets": ["whsec_" + base64.b64encode(b"b" * 32).decode()]},
            "server": {"secret_key": "k" * 32}}, environ={})
        engine = make_engine(url)
        upgrade(engine)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            for i in range(1, args.tickets + 1):
                opened = now - timedelta(minutes=i % 180)
                store.upsert_ticket(conn, i, now=now, tid=f"B-{i}", subject=f"ticket {i}",
                                    priority=("High", "Medium", "Low")[i % 3], status="Open",
                                    department_id=1, client_id=i, channel="client_area",
                                    opened_at=opened)
                store.add_message(conn, i, "open", "customer", at=opened)
        started = time.perf_counter()
        data = load_dashboard(engine, settings, now)
        load_s = time.perf_counter() - started
        client = create_app(settings, engine=engine).test_client()
        started = time.perf_counter()
        resp = client.get("/dashboard", headers={"Authorization": f"Bearer {TOKEN}"})
        page_s = time.perf_counter() - started
        print(f"open tickets: {len(data.open_tickets)}")
        print(f"load_dashboard: {load_s * 1000:.0f} ms "
              f"({load_s / max(1, len(data.open_tickets)) * 1e6:.0f} µs per ticket)")
        print(f"GET /dashboard: {page_s * 1000:.0f} ms, {len(resp.data) / 1024:.0f} KiB, "
              f"status {resp.status_code}")
        engine.dispose()


if __name__ == "__main__":
    main()
