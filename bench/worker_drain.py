"""How fast one worker drains the inbox (prints figures; not a test).

    python bench/worker_drain.py                      # SQLite file in a temp dir
    python bench/worker_drain.py postgresql+psycopg://postgres@127.0.0.1:5432/test

Stores N events (``InvoicePaid``: only the built-in audit handler and any ``[handlers]``
modules run) and times ``Worker.run(once=True)``: claims in batches, one transaction per
handler. On PostgreSQL a fresh database is created next to the one named and dropped after.
"""

from __future__ import annotations

import argparse
import base64
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from whmcs_bridge.config import load_settings
from whmcs_bridge.runtime import build_registry
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.store.ingest import NewEvent, store_batch
from whmcs_bridge.worker import Worker

SECRET = "whsec_" + base64.b64encode(b"b" * 32).decode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("admin_url", nargs="?", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()

    admin = None
    if args.admin_url:
        name = f"wb_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = args.admin_url.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    try:
        upgrade(engine)
        now = datetime.now(UTC) - timedelta(seconds=1)
        rows = [NewEvent(id=f"b{i:06d}", type="InvoicePaid",
                         payload={"type": "InvoicePaid", "data": {"invoiceid": str(i)}},
                         received_at=now) for i in range(args.events)]
        for start in range(0, len(rows), 200):
            store_batch(engine, rows[start:start + 200])
        settings = load_settings(data={"database": {"url": url},
                                       "webhooks": {"secrets": [SECRET]},
                                       "worker": {"batch_size": args.batch}}, environ={})
        worker = Worker(settings, engine, build_registry(settings), run_jobs=False)
        handlers = len(worker.registry.handlers_for("InvoicePaid"))
        started = time.perf_counter()
        worker.run(once=True)
        elapsed = time.perf_counter() - started
        print(f"{engine.dialect.name}: {worker.stats['done']} events x {handlers} handler(s) "
              f"in {elapsed:.2f} s = {worker.stats['done'] / elapsed:.0f} events/s "
              f"(batch {args.batch})")
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()


if __name__ == "__main__":
    main()
