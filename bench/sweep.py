"""Benchmark: the SLA sweep through the store (SQLite and PostgreSQL) at 10k / 100k / 1M open
tickets — its cost must follow the tickets crossing a threshold, not the tickets open.

Seeds N open tickets directly (bulk insert: a week of openings on a Mon–Fri 08:00–17:30 +
Sat morning calendar in Asia/Ho_Chi_Minh with Vietnamese holidays, a third with a staff reply
and a customer follow-up, a tenth On Hold), each with the state and next transition the
engine computes for it — what the sweeps and events before would have stored. Then, per size:

* **nothing due**: a sweep at an instant no ticket's next transition has reached (the steady
  state between threshold crossings) — goal ≤ 50 ms at 100,000 open tickets;
* **k due**: a sweep at the instant exactly k tickets have crossed a threshold
  (k = 10, 100, 1000; the crossed rows are put back between repeats);
* **baseline** (sizes up to ``--baseline-max``, default 100k): every open ticket due, i.e.
  what each sweep cost before tickets stored their next transition (the previous sweep
  evaluated every open ticket).

Escalation actions are off (``[escalation] enabled = false``): this measures which tickets
the sweep reads and evaluates, not WHMCS calls. Times are the best of ``--repeat`` runs.

    python bench/sweep.py [--sizes 10000,100000,1000000] [--db sqlite,postgresql]
        [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, insert, text, update

from whmcs_bridge.config import load_settings
from whmcs_bridge.context import Services
from whmcs_bridge.sla import engine as E
from whmcs_bridge.store import make_engine, upgrade
from whmcs_bridge.tickets.escalate import SCHEDULE, policy_digest, sweep
from whmcs_bridge.tickets.tables import sla_schedule, ticket_messages, tickets

HOURS = {d: ["08:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": ["08:00-12:00"]}
PRIORITIES = ("High", "Medium", "Low")
NOW = datetime(2026, 2, 24, 3, 30, tzinfo=UTC)  # Tuesday 10:30 in Ho Chi Minh City
CHUNK = 20_000


def settings_for(url: str) -> Any:
    return load_settings(data={
        "database": {"url": url},
        "sla": {"calendar": "office", "calendars": {"office": {
            "timezone": "Asia/Ho_Chi_Minh", "hours": HOURS, "holidays": "VN"}}},
        "escalation": {"enabled": False}}, environ={})


def seed(engine: Any, settings: Any, n: int, rng: random.Random) -> list[float]:
    """Insert ``n`` open tickets with their evaluation; return their next transitions."""
    policy = E.Policy.from_settings(settings)
    tp = policy.for_ticket(1, "client_area")
    now = NOW.timestamp()
    nexts: list[float] = []
    with engine.begin() as conn:
        conn.execute(insert(sla_schedule).values(name=SCHEDULE,
                                                 policy_digest=policy_digest(settings),
                                                 updated_at=NOW))
    for lo in range(0, n, CHUNK):
        rows: list[dict[str, Any]] = []
        msgs: list[dict[str, Any]] = []
        for tid in range(lo + 1, min(n, lo + CHUNK) + 1):
            opened = now - rng.uniform(60, 7 * 86400)
            priority = rng.choice(PRIORITIES)
            hist: list[tuple[float, str, Any]] = [(opened, E.OPEN, priority)]
            status = "Open"
            r = rng.random()
            if r < 0.33:
                t1 = opened + rng.uniform(60, 3600)
                t2 = t1 + rng.uniform(60, max(61.0, (now - t1) * 0.9))
                if t2 < now:
                    hist += [(t1, E.STAFF, None), (t2, E.CUSTOMER, None)]
                    msgs += [{"ticket_id": tid, "source_key": f"reply:{tid}1", "kind": E.STAFF,
                              "at": datetime.fromtimestamp(t1, UTC)},
                             {"ticket_id": tid, "source_key": f"reply:{tid}2",
                              "kind": E.CUSTOMER, "at": datetime.fromtimestamp(t2, UTC)}]
                    status = "Customer-Reply"
            elif r < 0.43:
                status = "On Hold"  # on hold since it opened (no change recorded)
            ev = E.evaluate(hist, now, tp)
            nxt = E.next_transition(hist, now, tp, ev)
            cur = ev.open_cycle
            if nxt is not None:
                nexts.append(nxt)
            at = datetime.fromtimestamp(opened, UTC)
            rows.append({
                "id": tid, "tid": f"T{tid}", "subject": "bench", "priority": priority,
                "opened_priority": priority, "status": status, "department_id": 1,
                "client_id": 1, "channel": "client_area", "opened_at": at,
                "last_reply_at": at, "updated_at": NOW, "sla_state": ev.state,
                "sla_due_at": datetime.fromtimestamp(cur.due_at, UTC)
                if cur is not None and cur.due_at is not None else None,
                "sla_next_at": datetime.fromtimestamp(nxt, UTC) if nxt is not None else None})
        with engine.begin() as conn:
            conn.execute(insert(tickets), rows)
            if msgs:
                conn.execute(insert(ticket_messages), msgs)
    settle(engine)
    return sorted(nexts)


def settle(engine: Any) -> None:
    """The steady state after a bulk load: statistics gathered; on PostgreSQL dead index
    entries vacuumed and the load's WAL checkpointed, so no background flush or autovacuum
    runs under a timing (in production autovacuum does this as rows change)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) tickets"))
            conn.execute(text("VACUUM (ANALYZE) ticket_messages"))
            conn.execute(text("CHECKPOINT"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def timed_sweep(engine: Any, settings: Any, at: datetime, repeat: int,
                reset: list[dict[str, Any]] | None = None) -> tuple[float, int]:
    """Best time of ``repeat`` sweeps at ``at``; ``reset`` rows put the crossed tickets back
    (untimed) so each repeat sweeps the same work."""
    services = Services(settings)
    best = float("inf")
    evaluated = 0
    for _ in range(repeat):
        if reset:
            with engine.begin() as conn:
                conn.execute(update(tickets).where(tickets.c.id == bindparam("b_id")), reset)
        start = time.perf_counter()
        res = sweep(engine, settings, services, at)
        best = min(best, time.perf_counter() - start)
        evaluated = res.evaluated
    return best, evaluated


def bench_one(fresh: Callable[[], str], label: str, sizes: list[int], repeat: int,
              baseline_max: int) -> None:
    """Each size in a fresh empty database from ``fresh()``."""
    base_nothing: float | None = None
    for n in sizes:
        url = fresh()
        engine = make_engine(url)
        upgrade(engine)
        settings = settings_for(url)
        t = time.perf_counter()
        nexts = seed(engine, settings, n, random.Random(n))
        seeded = time.perf_counter() - t
        future = [x for x in nexts if x > NOW.timestamp()]
        # nothing due: one second after the seeding instant, before the first next transition
        quiet = NOW + timedelta(seconds=min(1.0, (future[0] - NOW.timestamp()) / 2))
        with engine.connect() as conn:  # the first crossings, as seeded: put back before
            # each timed sweep so every repeat (and every k) starts from the same store
            reset = [{"b_id": r.id, "sla_next_at": _aware(r.sla_next_at),
                      "sla_state": r.sla_state} for r in conn.execute(text(
                          "SELECT id, sla_next_at, sla_state FROM tickets WHERE sla_next_at "
                          "IS NOT NULL ORDER BY sla_next_at LIMIT 1000"))]
        nothing, ev0 = timed_sweep(engine, settings, quiet, repeat)
        base_nothing = base_nothing or nothing
        line = (f"{label:10} {n:>9,} open ({seeded:5.1f} s to seed)  nothing due "
                f"{nothing * 1000:7.2f} ms ({ev0} evaluated, {nothing / base_nothing:4.2f}× "
                f"the {sizes[0]:,} figure)")
        print(line + ("  goal ≤ 50 ms" if n == 100_000 else ""), flush=True)
        for k in (10, 100, 1000):
            if k > len(future):
                break
            at = datetime.fromtimestamp(future[k - 1], UTC)
            secs, ev = timed_sweep(engine, settings, at, repeat, reset)
            print(f"{'':10} {'':>9}        {k:>5} due: {secs * 1000:8.2f} ms "
                  f"({ev} evaluated, {secs / k * 1e6:6.0f} µs per due ticket)", flush=True)
        if n <= baseline_max:
            with engine.begin() as conn:
                conn.execute(update(tickets).values(sla_next_at=datetime(1970, 1, 1,
                                                                          tzinfo=UTC)))
            settle(engine)
            t = time.perf_counter()
            res = sweep(engine, settings, Services(settings), quiet)
            full = time.perf_counter() - t
            print(f"{'':10} {'':>9}        baseline, every open ticket due (each sweep before "
                  f"this change; now the first after an upgrade or a policy change): "
                  f"{full * 1000:6.0f} ms ({res.evaluated:,}) = {full / nothing:5.0f}× the "
                  f"nothing-due sweep", flush=True)
        engine.dispose()


def _aware(v: Any) -> Any:
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    return v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v


def sqlite_databases(folder: str) -> Callable[[], str]:
    names = iter(range(1_000))
    return lambda: f"sqlite:///{Path(folder) / f'bench{next(names)}.db'}"


def pg_databases(admin: Any, base_url: str, made: list[str]) -> Callable[[], str]:
    def fresh() -> str:
        name = f"wb_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return base_url.rsplit("/", 1)[0] + "/" + name
    return fresh


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline-max", type=int, default=100_000,
                    help="largest size also timed with every open ticket due")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"SLA sweep through the store, now = {NOW.isoformat()}, escalations off")
    for db in args.db.split(","):
        if db == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                bench_one(sqlite_databases(tmp), "SQLite", sizes, args.repeat,
                          args.baseline_max)
        elif db == "postgresql":
            admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            made: list[str] = []
            try:
                bench_one(pg_databases(admin, args.pg_url, made), "PostgreSQL", sizes,
                          args.repeat, args.baseline_max)
            finally:
                with admin.connect() as conn:
                    for name in made:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        else:
            raise SystemExit(f"--db: unknown database {db!r} (sqlite, postgresql)")


if __name__ == "__main__":
    main()
