"""Worker semantics on SQLite and PostgreSQL: order, isolation of failures, backoff, dead
letters, replay, lease expiry and periodic-job leases."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.conftest import make_settings
from tests.worker.helpers import T0, Clock, add_events, event_row, outcomes
from whmcs_bridge.hooks.registry import HookRegistry
from whmcs_bridge.retry import backoff_seconds
from whmcs_bridge.settings import Settings
from whmcs_bridge.store import inbox, make_engine
from whmcs_bridge.store.tables import audit_log, job_runs
from whmcs_bridge.worker import Worker, to_event

HOOK = "InvoicePaid"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url, worker={"max_attempts": 3, "backoff_base_seconds": 10,
                                       "backoff_max_seconds": 100, "lease_seconds": 30,
                                       "batch_size": 10})


def make_worker(settings: Settings, engine: Engine, registry: HookRegistry, clock: Clock,
                **kwargs: Any) -> Worker:
    return Worker(settings, engine, registry, clock=clock, rng=random.Random(7), **kwargs)


def registry_with(*handlers: tuple[str, int, Callable[..., Any]]) -> HookRegistry:
    registry = HookRegistry()
    for name, priority, handler in handlers:
        registry.register(HOOK, handler, priority=priority, name=name)
    return registry


def audit(ctx: Any, event_id: str, summary: str) -> None:
    """A side effect in the handler's own transaction."""
    ctx.conn.execute(audit_log.insert().values(event_id=event_id, type=HOOK, summary=summary,
                                               recorded_at=ctx.now))


def audit_rows(engine: Engine, summary: str | None = None) -> list[tuple[str, str]]:
    stmt = select(audit_log.c.event_id, audit_log.c.summary)
    if summary:
        stmt = stmt.where(audit_log.c.summary == summary)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


def test_handlers_run_in_priority_order_and_event_is_done(settings, engine) -> None:
    calls: list[str] = []

    def make(name: str) -> Callable[..., None]:
        def handler(event: Any, ctx: Any) -> None:
            assert event.data == {"invoiceid": 7}  # loaded through the receiver's schema
            calls.append(name)
            audit(ctx, event.id, name)
        return handler

    registry = registry_with(("t.late", 30, make("late")), ("t.first", 5, make("first")),
                             ("t.mid", 10, make("mid")))
    add_events(engine, ["e1", "e2"])
    clock = Clock(T0)
    assert make_worker(settings, engine, registry, clock).run_batch() == 2
    assert calls == ["first", "mid", "late"] * 2
    row = event_row(engine, "e1")
    assert (row.status, row.attempts, row.last_error, row.processed_at) == ("done", 1, None, T0)
    assert {h: o.status for h, o in outcomes(engine, "e1").items()} == {
        "t.first": "succeeded", "t.mid": "succeeded", "t.late": "succeeded"}
    assert sorted(audit_rows(engine)) == sorted(
        (e, n) for e in ("e1", "e2") for n in ("first", "mid", "late"))


def test_failing_handler_is_rolled_back_and_retried_alone(settings, engine) -> None:
    counts: Counter[str] = Counter()
    broken = {"on": True}

    def good(event: Any, ctx: Any) -> None:
        counts["good"] += 1
        audit(ctx, event.id, "good")

    def flaky(event: Any, ctx: Any) -> None:
        counts["flaky"] += 1
        audit(ctx, event.id, "flaky")  # must vanish with the rollback when we raise
        if broken["on"]:
            raise RuntimeError("WHMCS said no")

    def after(event: Any, ctx: Any) -> None:
        counts["after"] += 1

    registry = registry_with(("t.good", 1, good), ("t.flaky", 2, flaky), ("t.after", 3, after))
    add_events(engine, ["e1"])
    clock = Clock(T0)
    worker = make_worker(settings, engine, registry, clock)
    worker.run_batch()

    row = event_row(engine, "e1")
    assert row.status == "failed" and row.attempts == 1
    assert "t.flaky: RuntimeError: WHMCS said no" in row.last_error
    out = outcomes(engine, "e1")
    assert out["t.good"].status == "succeeded"
    assert out["t.after"].status == "succeeded"  # a failure does not stop later handlers
    assert (out["t.flaky"].status, out["t.flaky"].attempts) == ("failed", 1)
    assert "WHMCS said no" in out["t.flaky"].last_error
    assert audit_rows(engine) == [("e1", "good")]

    assert worker.run_batch() == 0  # not due before its backoff
    broken["on"] = False
    clock.advance(settings.worker.backoff_max_seconds)
    assert worker.run_batch() == 1
    assert counts == {"good": 1, "flaky": 2, "after": 1}
    row = event_row(engine, "e1")
    assert (row.status, row.attempts, row.last_error) == ("done", 2, None)
    out = outcomes(engine, "e1")
    assert (out["t.flaky"].status, out["t.flaky"].attempts, out["t.flaky"].last_error) == (
        "succeeded", 2, None)
    assert sorted(audit_rows(engine)) == [("e1", "flaky"), ("e1", "good")]


def test_backoff_is_equal_jitter_within_exponential_bounds() -> None:
    rng = random.Random(1)
    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (4, 40), (9, 100), (30, 100)]:
        samples = [backoff_seconds(attempt, base=5, cap=100, rng=rng) for _ in range(300)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples)  # never straight back
        assert max(samples) > 0.95 * ceiling and min(samples) < 0.55 * ceiling  # spread out
    assert backoff_seconds(3, base=0, cap=100, rng=rng) == 0


def test_retry_is_scheduled_with_backoff_and_jitter(settings, engine) -> None:
    def fail(event: Any, ctx: Any) -> None:
        raise ValueError("nope")

    retry_settings = make_settings(settings.database_url, worker={
        "max_attempts": 10, "backoff_base_seconds": 10, "backoff_max_seconds": 1000})
    registry = registry_with(("t.fail", 1, fail))
    add_events(engine, [f"e{i}" for i in range(8)])
    clock = Clock(T0)
    worker = make_worker(retry_settings, engine, registry, clock)
    for attempt in (1, 2, 3):
        assert worker.run_batch() == 8
        delays = [(event_row(engine, f"e{i}").next_attempt_at - clock.now).total_seconds()
                  for i in range(8)]
        ceiling = 10 * 2 ** (attempt - 1)
        assert all(0 <= d <= ceiling for d in delays), (attempt, delays)
        assert len({round(d, 3) for d in delays}) > 1  # jittered, not in lockstep
        assert all(event_row(engine, f"e{i}").status == "failed" for i in range(8))
        clock.advance(ceiling)


def test_dead_letter_after_max_attempts(settings, engine, monkeypatch) -> None:
    notes: list[dict[str, Any]] = []

    def enqueue(conn: Any, **kwargs: Any) -> None:
        notes.append(kwargs)

    monkeypatch.setattr("whmcs_bridge.notify.outbox.enqueue", enqueue)

    def fail(event: Any, ctx: Any) -> None:
        raise ValueError("always")

    registry = registry_with(("t.fail", 1, fail))
    add_events(engine, ["e1"])
    clock = Clock(T0)
    worker = make_worker(settings, engine, registry, clock)
    for _ in range(settings.worker.max_attempts):
        assert worker.run_batch() == 1
        clock.advance(settings.worker.backoff_max_seconds)
    row = event_row(engine, "e1")
    assert (row.status, row.attempts, row.next_attempt_at) == ("dead", 3, None)
    assert "ValueError: always" in row.last_error
    assert worker.run_batch() == 0  # dead events are never claimed again
    assert len(notes) == 1
    assert notes[0]["notification"] == "dead_letter"
    assert notes[0]["payload"] == {"event_id": "e1", "event_type": HOOK, "attempts": 3,
                                   "last_error": row.last_error}
    assert notes[0]["dedupe_key"].startswith("dead_letter:e1:")


def test_invalid_stored_data_is_dead_lettered_at_once(settings, engine) -> None:
    add_events(engine, ["bad"], hook="TicketOpen", data={"ticketid": "not-a-number"})
    registry = HookRegistry()
    registry.register("TicketOpen", lambda e, c: None, name="t.noop")
    make_worker(settings, engine, registry, Clock(T0)).run_batch()
    row = event_row(engine, "bad")
    assert row.status == "dead" and "invalid data" in row.last_error
    assert "ticketid" in row.last_error


def test_replay_keeps_succeeded_handlers_and_clears_failed(settings, engine) -> None:
    counts: Counter[str] = Counter()
    broken = {"on": True}

    def good(event: Any, ctx: Any) -> None:
        counts["good"] += 1

    def bad(event: Any, ctx: Any) -> None:
        counts["bad"] += 1
        if broken["on"]:
            raise RuntimeError("down")

    registry = registry_with(("t.good", 1, good), ("t.bad", 2, bad))
    add_events(engine, ["e1", "e2"])
    clock = Clock(T0)
    worker = make_worker(settings, engine, registry, clock)
    for _ in range(3):
        worker.run_batch()
        clock.advance(1000)
    assert event_row(engine, "e1").status == "dead"

    inbox.replay(engine, "e1", now=clock.now)
    row = event_row(engine, "e1")
    assert (row.status, row.attempts, row.last_error, row.next_attempt_at) == (
        "pending", 0, None, clock.now)
    assert {h: o.status for h, o in outcomes(engine, "e1").items()} == {"t.good": "succeeded"}
    assert event_row(engine, "e2").status == "dead"  # only the one asked for

    broken["on"] = False
    worker.run_batch()
    assert event_row(engine, "e1").status == "done"
    assert counts == {"good": 2, "bad": 7}  # 3 attempts x 2 events + 1; good never re-ran
    assert inbox.replay_dead(engine, now=clock.now) == 1
    worker.run_batch()
    assert event_row(engine, "e2").status == "done"
    assert counts == {"good": 2, "bad": 8}
    assert inbox.replay_dead(engine, now=clock.now) == 0


def test_replay_refuses_unknown_ignored_and_in_flight(engine) -> None:
    with pytest.raises(inbox.ReplayRefused, match="no event"):
        inbox.replay(engine, "nope", now=T0)
    add_events(engine, ["e1"])
    inbox.claim(engine, worker_id="w", now=T0, limit=5, lease_seconds=60)
    with pytest.raises(inbox.ReplayRefused, match="being processed"):
        inbox.replay(engine, "e1", now=T0 + timedelta(seconds=10))
    inbox.replay(engine, "e1", now=T0 + timedelta(seconds=61))  # lease gone: allowed
    from whmcs_bridge.store.ingest import NewEvent, store_one
    store_one(engine, NewEvent(id="x", type="Unknown", payload={}, received_at=T0,
                               ignored=True))
    with pytest.raises(inbox.ReplayRefused, match="does not handle"):
        inbox.replay(engine, "x", now=T0)


def test_lease_expiry_lets_another_worker_reclaim(settings, engine) -> None:
    add_events(engine, ["e1", "e2"])
    first = inbox.claim(engine, worker_id="dead-worker", now=T0, limit=10, lease_seconds=30)
    assert [e.id for e in first] == ["e1", "e2"]
    assert inbox.claim(engine, worker_id="w2", now=T0 + timedelta(seconds=29), limit=10,
                       lease_seconds=30) == []

    ran: list[str] = []
    registry = registry_with(("t.rec", 1, lambda e, c: ran.append(e.id)))
    clock = Clock(T0 + timedelta(seconds=31))
    assert make_worker(settings, engine, registry, clock, worker_id="w2").run_batch() == 2
    assert ran == ["e1", "e2"]
    row = event_row(engine, "e1")
    assert (row.status, row.attempts, row.worker_id) == ("done", 2, "w2")
    # The first worker waking up late cannot overwrite what the second one decided.
    assert inbox.mark_done(engine, ["e1"], worker_id="dead-worker", now=clock.now) == 0
    assert inbox.release(engine, ["e2"], worker_id="dead-worker", now=clock.now) == 0
    assert event_row(engine, "e2").status == "done"


def test_handler_already_succeeded_elsewhere_is_not_run(settings, engine) -> None:
    """A worker that lost its lease mid-event: the outcome row keeps the handler exactly-once."""
    add_events(engine, ["e1"])
    with engine.begin() as conn:
        assert inbox.claim_outcome(conn, "e1", "t.rec", now=T0)
    with engine.begin() as conn:
        assert not inbox.claim_outcome(conn, "e1", "t.rec", now=T0)
    event = to_event(inbox.claim(engine, worker_id="w", now=T0, limit=1, lease_seconds=5)[0])
    ran: list[str] = []
    registry = registry_with(("t.rec", 1, lambda e, c: ran.append(e.id)))
    worker = make_worker(settings, engine, registry, Clock(T0))
    assert worker.run_handler(event, registry.handlers_for(HOOK)[0]) is None
    assert ran == []


def test_graceful_stop_finishes_current_handler_and_releases_the_rest(settings, engine) -> None:
    ran: list[tuple[str, str]] = []
    holder: dict[str, Worker] = {}

    def first(event: Any, ctx: Any) -> None:
        ran.append((event.id, "first"))
        audit(ctx, event.id, "first")
        holder["w"].stop()  # SIGTERM arrives while this handler runs

    def second(event: Any, ctx: Any) -> None:
        ran.append((event.id, "second"))

    registry = registry_with(("t.first", 1, first), ("t.second", 2, second))
    add_events(engine, ["e1", "e2", "e3"])
    worker = make_worker(settings, engine, registry, Clock(T0))
    holder["w"] = worker
    worker.run()  # returns once the running handler is done
    assert ran == [("e1", "first")]
    assert audit_rows(engine) == [("e1", "first")]  # the running handler committed
    for event_id in ("e1", "e2", "e3"):
        row = event_row(engine, event_id)
        assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, T0)

    ran.clear()
    make_worker(settings, engine, registry, Clock(T0)).run_batch()
    assert ran == [("e1", "second"), ("e2", "first"), ("e2", "second"), ("e3", "first"),
                   ("e3", "second")]  # first never re-ran on e1


def test_run_once_drains_in_batches_and_stops(settings, engine) -> None:
    seen: Counter[str] = Counter()
    registry = registry_with(("t.rec", 1, lambda e, c: seen.update([e.id])))
    ids = add_events(engine, [f"e{i:03d}" for i in range(35)])  # batch_size is 10
    worker = make_worker(settings, engine, registry, Clock(T0))
    worker.run(once=True)
    assert seen == Counter(ids)
    assert inbox.status_counts(engine) == {"done": 35}


def test_threads_with_own_connections_never_share_an_event(settings, engine) -> None:
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def rec(event: Any, ctx: Any) -> None:
        with lock:
            seen.append((event.id, threading.current_thread().name))

    ids = add_events(engine, [f"e{i:03d}" for i in range(120)])
    registry = registry_with(("t.rec", 1, rec))
    engines = [make_engine(settings.database_url) for _ in range(3)]
    workers = [make_worker(settings, eng, registry, Clock(T0)) for eng in engines]
    threads = [threading.Thread(target=w.run, kwargs={"once": True}, name=f"w{i}")
               for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for eng in engines:
        eng.dispose()
    assert not any(t.is_alive() for t in threads)
    assert sorted(e for e, _ in seen) == ids  # each event exactly once
    assert inbox.status_counts(engine) == {"done": 120}


def test_periodic_job_runs_once_at_a_time_across_workers(settings, engine) -> None:
    runs: list[str] = []
    holder: dict[str, Any] = {}

    def sweep(ctx: Any) -> None:
        runs.append(ctx.now.isoformat())
        # While this run holds the lease, another worker must not start the job.
        holder["other"] = holder["w2"].run_job(holder["job"], ctx.now)

    registry = HookRegistry()
    job = registry.register_job("t.sweep", sweep, every_seconds=60)
    clock = Clock(T0)
    w1 = make_worker(settings, engine, registry, clock)
    w2 = make_worker(settings, engine, registry, clock)
    holder.update(w2=w2, job=job)
    assert w1.run_due_jobs() == 1
    assert holder["other"] is False and len(runs) == 1
    with engine.connect() as conn:
        row = conn.execute(select(job_runs).where(job_runs.c.name == "t.sweep")).one()
    assert (row.last_started_at, row.lease_until, row.last_error) == (T0, None, None)
    assert row.last_finished_at is not None

    clock.advance(30)
    assert not w2.run_job(job, clock.now)  # not due yet
    clock.advance(30)
    holder["w2"] = w1
    assert w2.run_job(job, clock.now)  # due again: any worker may take it
    assert len(runs) == 2 and holder["other"] is False


def test_job_lease_of_a_killed_worker_expires(settings, engine) -> None:
    from whmcs_bridge.store import job_runs as leases

    assert leases.try_start(engine, "j", now=T0, every_seconds=1, lease_seconds=30) == T0
    # The worker died without finishing: nobody may start it until the lease runs out.
    assert leases.try_start(engine, "j", now=T0 + timedelta(seconds=20), every_seconds=1,
                            lease_seconds=30) is None
    later = T0 + timedelta(seconds=31)
    assert leases.try_start(engine, "j", now=later, every_seconds=1, lease_seconds=30) == later
    assert not leases.finish(engine, "j", started_at=T0, now=later, error=None)  # fenced
    assert leases.finish(engine, "j", started_at=later, now=later, error="boom")


def test_failing_job_records_error_and_releases_lease(settings, engine) -> None:
    def broken(ctx: Any) -> None:
        raise RuntimeError("sweep failed")

    registry = HookRegistry()
    registry.register_job("t.broken", broken, every_seconds=5)
    worker = make_worker(settings, engine, registry, Clock(T0))
    assert worker.run_due_jobs() == 1
    with engine.connect() as conn:
        row = conn.execute(select(job_runs)).one()
        assert conn.execute(select(func.count()).select_from(job_runs)).scalar() == 1
    assert row.lease_until is None and "RuntimeError: sweep failed" in row.last_error


def test_dead_letter_is_queued_in_the_real_outbox(settings, engine) -> None:
    from whmcs_bridge.notify.tables import notifications

    def fail(event: Any, ctx: Any) -> None:
        raise ValueError("gone")

    long_id = "x" * 250  # the dedupe key must still fit
    add_events(engine, [long_id])
    clock = Clock(T0)
    worker = make_worker(settings, engine, registry_with(("t.fail", 1, fail)), clock)
    for _ in range(settings.worker.max_attempts):
        worker.run_batch()
        clock.advance(settings.worker.backoff_max_seconds)
    assert event_row(engine, long_id).status == "dead"
    with engine.connect() as conn:
        rows = conn.execute(select(notifications.c.notification, notifications.c.payload,
                                   notifications.c.dedupe_key)).all()
    assert len(rows) == 1 and rows[0].notification == "dead_letter"
    assert rows[0].payload["event_id"] == long_id and rows[0].payload["attempts"] == 3
    assert len(rows[0].dedupe_key) <= 255


def test_failure_logs_and_last_error_carry_no_secret(settings, engine, caplog) -> None:
    secret = "whsec_" + "Q" * 40

    def leaky(event: Any, ctx: Any) -> None:
        raise RuntimeError(f"upstream rejected secret {secret} password=hunter2")

    add_events(engine, ["e1"])
    caplog.set_level("INFO")
    make_worker(settings, engine, registry_with(("t.leaky", 1, leaky)), Clock(T0)).run_batch()
    row = event_row(engine, "e1")
    assert "RuntimeError: upstream rejected secret whsec_********" in row.last_error
    stored = row.last_error + outcomes(engine, "e1")["t.leaky"].last_error
    assert secret not in stored and "hunter2" not in stored
    failures = [r for r in caplog.records if r.getMessage() == "handler failed"]
    assert len(failures) == 1 and failures[0].handler == "t.leaky"
    for record in caplog.records:
        text = record.getMessage() + " ".join(str(v) for v in vars(record).values())
        assert secret not in text and "hunter2" not in text
        assert record.levelno < 20 or record.exc_info is None  # tracebacks only at DEBUG
