"""Outbox throughput: enqueue (one handler transaction per notification) and delivery to a
local signed webhook, on SQLite or PostgreSQL. Prints figures; asserts nothing.

    python bench/notify_outbox.py [--count 2000] [--db-url postgresql+psycopg://…/db]

The PostgreSQL database must exist and be empty (it is migrated here).
"""

from __future__ import annotations

import argparse
import base64
import random
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from whmcs_bridge.config import load_settings
from whmcs_bridge.notify import outbox
from whmcs_bridge.notify.deliver import Deliverer
from whmcs_bridge.store import make_engine, upgrade

SECRET = "whsec_" + base64.b64encode(b"b" * 32).decode()


class Sink(BaseHTTPRequestHandler):
    count = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Sink.count += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--db-url")
    args = parser.parse_args()
    url = args.db_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = load_settings(environ={}, data={
        "database": {"url": url},
        "notifications": {"coalesce_seconds": 0, "batch_size": 200, "rate_limits": {},
                          "webhook": {"url": f"http://127.0.0.1:{server.server_port}/h",
                                      "secret": SECRET}}})
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    payload = {"ticket_id": 1, "tid": "BEN-000001", "subject": "bench", "level": "urgent",
               "department_id": 1, "client_id": 1, "due_at": now.isoformat()}

    started = time.perf_counter()
    for i in range(args.count):
        with engine.begin() as conn:
            outbox.enqueue(conn, notification="urgent_ticket_opened",
                           payload={**payload, "ticket_id": i}, dedupe_key=f"bench:{i}",
                           now=now, settings=settings)
    enqueue_s = time.perf_counter() - started

    deliverer = Deliverer(engine, settings, rng=random.Random(1))
    started = time.perf_counter()
    while deliverer.run_once(now).claimed:
        pass
    deliver_s = time.perf_counter() - started
    backend = engine.dialect.name
    print(f"{backend}: enqueue {args.count} notifications: {enqueue_s:.2f} s "
          f"({args.count / enqueue_s:.0f}/s, one transaction each)")
    print(f"{backend}: deliver {Sink.count} signed webhooks: {deliver_s:.2f} s "
          f"({Sink.count / deliver_s:.0f}/s, one worker, sequential sends)")
    server.shutdown()
    engine.dispose()


if __name__ == "__main__":
    main()
