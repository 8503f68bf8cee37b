"""Gate latency: p50/p99 of ``POST /gates/<HookName>`` decisions (prints figures, asserts none).

    python bench/gates.py [--requests 2000] [--clients 5000] [--db URL] [--http]

Seeds ``--clients`` clients' verification requests (a mix of required, verified, locked,
refused, closed and no request at all), then times ``--requests`` signed gate requests spread
over the six gate hooks and over clients with and without pending requests:

* ``decision``: the store query + the pure decision, ``webhooks.gates.decide`` (what the
  20 ms budget is about);
* ``request``: the whole signed request through the Flask app in-process (signature check,
  JSON parsing, decision, JSON answer) — or over HTTP on 127.0.0.1 with ``--http``.

Default database: a temporary SQLite file (the embedded default). ``--db`` takes any URL,
e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/bench_gates`` (must exist, empty).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whmcs_bridge.config import load_settings
from whmcs_bridge.runtime import build_app
from whmcs_bridge.signing import signed_headers
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.verification import policy
from whmcs_bridge.verification.tables import verification_requests
from whmcs_bridge.webhooks.gates import decide

SECRET = "whsec_" + base64.b64encode(b"b" * 32).decode()
STATES = ["required", "verified", "locked", "refused", "required", "verified"]
HOOKS = sorted(policy.GATE_CHANGES)


def seed(engine, clients: int, rng: random.Random) -> None:
    now = utcnow()
    rows = []
    ticket = 0
    for client in range(1, clients + 1):
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            ticket += 1
            state = rng.choice(STATES)
            rows.append({
                "ticket_id": ticket, "client_id": client, "tid": f"B-{ticket}",
                "changes": ",".join(sorted(rng.sample(list(set(policy.GATE_CHANGES.values())),
                                                      rng.randint(1, 2)))),
                "channel": "email", "language": rng.choice(("vi", "en")), "state": state,
                "created_at": now, "updated_at": now,
                "expires_at": now + timedelta(hours=rng.choice((-1, 24)))
                if state == "verified" else None,
                "closed_at": now if rng.random() < 0.2 else None,
            })
    with engine.begin() as conn:
        for i in range(0, len(rows), 1000):
            conn.execute(verification_requests.insert(), rows[i:i + 1000])
    print(f"seeded {len(rows)} requests for {clients} clients")


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def report(name: str, ms: list[float]) -> None:
    print(f"{name:>9}: n={len(ms)}  p50={statistics.median(ms):.3f} ms  "
          f"p99={pct(ms, 99):.3f} ms  max={max(ms):.3f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=5000)
    ap.add_argument("--db", default=None)
    ap.add_argument("--http", action="store_true", help="go over HTTP on 127.0.0.1")
    args = ap.parse_args()
    rng = random.Random(5)
    tmp = tempfile.TemporaryDirectory()
    url = args.db or f"sqlite:///{tmp.name}/gates.db"
    settings = load_settings(data={"database": {"url": url},
                                   "webhooks": {"secrets": [SECRET]}}, environ={})
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, args.clients, rng)
    app = build_app(settings, engine=engine)
    plan = [(rng.choice(HOOKS), rng.randint(1, args.clients),
             rng.choice(("admin", "admin", "client"))) for _ in range(args.requests)]

    decision_ms = []
    for hook, client, _ in plan:
        t0 = time.perf_counter()
        decide(engine, hook, {"type": "admin"}, (client,), utcnow(), "vi")
        decision_ms.append((time.perf_counter() - t0) * 1000)

    bodies = []
    for hook, client, actor in plan:
        envelope = {"type": hook, "timestamp": utcnow().isoformat(),
                    "data": {"userid": client},
                    "actor": {"type": actor, "client_id": client if actor == "client" else None,
                              "user_id": None, "admin_id": 1, "admin_username": "bench"}}
        bodies.append((hook, json.dumps(envelope).encode()))

    request_ms = []
    refused = 0
    if args.http:
        import requests
        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        session = requests.Session()
        session.trust_env = False
        for hook, body in bodies:
            headers = {**signed_headers(SECRET, f"msg_{uuid.uuid4().hex}", body),
                       "Content-Type": "application/json"}
            t0 = time.perf_counter()
            resp = session.post(f"{base}/gates/{hook}", data=body, headers=headers, timeout=5)
            request_ms.append((time.perf_counter() - t0) * 1000)
            refused += not resp.json()["allow"]
        server.shutdown()
    else:
        client = app.test_client()
        for hook, body in bodies:
            headers = {**signed_headers(SECRET, f"msg_{uuid.uuid4().hex}", body),
                       "Content-Type": "application/json"}
            t0 = time.perf_counter()
            resp = client.post(f"/gates/{hook}", data=body, headers=headers)
            request_ms.append((time.perf_counter() - t0) * 1000)
            refused += not resp.get_json()["allow"]

    print(f"database: {engine.url.get_backend_name()}  requests: {args.requests}  "
          f"refused: {refused}  ({'HTTP 127.0.0.1' if args.http else 'in-process'})")
    report("decision", decision_ms)
    report("request", request_ms)
    print("budget: p99 <= 20 ms for the decision on the gate path (no WHMCS call)")
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
