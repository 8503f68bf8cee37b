"""The inbox write path: duplicate detection, per-row fallback and group commit (SQLite and
PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from whmcs_bridge.store import ingest, make_engine
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.store.ingest import GroupCommitter, NewEvent, StoreUnavailable, store_batch
from whmcs_bridge.store.tables import events


@pytest.fixture
def store(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def event(msg_id: str, payload: Any = None, *, ignored: bool = False) -> NewEvent:
    return NewEvent(id=msg_id, type="TicketClose",
                    payload=payload if payload is not None else {"data": {"ticketid": 1}},
                    received_at=utcnow(), source="test", ignored=ignored)


def stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(events.c.id).order_by(events.c.id)).scalars())


def test_store_batch_reports_new_and_duplicates(store: Engine) -> None:
    assert store_batch(store, [event("a"), event("b")]) == [True, True]
    assert store_batch(store, [event("b"), event("c"), event("c"), event("a")]) == [
        False, True, False, False]
    assert stored_ids(store) == ["a", "b", "c"]


def test_ignored_events_have_no_next_attempt(store: Engine) -> None:
    store_batch(store, [event("x", ignored=True)])
    with store.connect() as conn:
        row = conn.execute(select(events)).one()
    assert (row.status, row.next_attempt_at) == ("ignored", None)


def test_one_bad_row_fails_alone(store: Engine) -> None:
    bad = event("bad", payload={"not json": object()})
    results = store_batch(store, [event("ok1"), bad, event("ok2")])
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], Exception)
    assert stored_ids(store) == ["ok1", "ok2"]


def test_group_commit_batches_concurrent_submits(store: Engine,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the first commit until every other thread has queued its event: they must then
    go out together (fewer commits than rows), and each id is reported new exactly once."""
    committer = GroupCommitter(store, max_batch=64)
    release = threading.Event()
    real = ingest.store_batch
    calls: list[int] = []

    def gated(engine: Engine, batch: list[NewEvent]) -> list[Any]:
        calls.append(len(batch))
        if len(calls) == 1:
            release.wait(10)
        return real(engine, batch)

    monkeypatch.setattr(ingest, "store_batch", gated)
    ids = [f"evt-{i % 30}" for i in range(60)]  # every id submitted twice
    results: dict[int, Any] = {}

    def submit(i: int) -> None:
        try:
            results[i] = committer.submit(event(ids[i]))
        except Exception as exc:  # pragma: no cover - reported by the assertions below
            results[i] = exc

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while (not calls or calls[0] + committer._queue.qsize() < 60) and (
            time.monotonic() < deadline):
        time.sleep(0.005)
    release.set()
    for t in threads:
        t.join(10)

    assert all(isinstance(results[i], bool) for i in range(60)), results
    assert sorted(stored_ids(store)) == sorted(set(ids))
    new_per_id: dict[str, int] = {}
    for i, new in results.items():
        new_per_id[ids[i]] = new_per_id.get(ids[i], 0) + int(new)
    assert set(new_per_id.values()) == {1}
    assert committer.rows == 60
    assert committer.commits == len(calls) < 60
    assert sum(calls) == 60


def test_group_commit_without_contention_commits_each(store: Engine) -> None:
    committer = GroupCommitter(store)
    assert committer.submit(event("one")) is True
    assert committer.submit(event("one")) is False
    assert committer.submit(event("two")) is True
    assert committer.commits == 3


def test_failed_commit_fails_every_waiting_request(store: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(engine: Engine, batch: list[NewEvent]) -> list[Any]:
        raise OSError("fsync failed")

    monkeypatch.setattr(ingest, "store_batch", broken)
    committer = GroupCommitter(store)
    errors: list[BaseException] = []

    def submit(i: int) -> None:
        try:
            committer.submit(event(f"e{i}"))
        except StoreUnavailable as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(errors) == 8
    assert stored_ids(store) == []


def test_a_failing_runner_answers_every_request_and_the_writer_goes_on(store: Engine) -> None:
    from whmcs_bridge.store.cooperative import Mode, ThreadWaiter, run_here

    calls = []

    def flaky(fn: Any, *args: Any) -> Any:
        calls.append(fn)
        if len(calls) == 1:
            raise RuntimeError("thread pool gone")
        return run_here(fn, *args)

    committer = GroupCommitter(store, mode=Mode("flaky", flaky, ThreadWaiter))
    with pytest.raises(StoreUnavailable, match="RuntimeError"):
        committer.submit(event("lost"), timeout=5)
    assert committer.submit(event("kept"), timeout=5) is True
    assert stored_ids(store) == ["kept"]


def test_a_bad_row_in_a_group_fails_only_its_request(store: Engine) -> None:
    committer = GroupCommitter(store)
    with pytest.raises(StoreUnavailable):
        committer.submit(event("bad", payload={"x": object()}))
    assert committer.submit(event("good")) is True
    assert stored_ids(store) == ["good"]


def test_writer_thread_stops_when_idle_and_restarts(store: Engine) -> None:
    committer = GroupCommitter(store, idle_exit=0.05)
    assert committer.submit(event("first")) is True
    deadline = time.monotonic() + 5
    while committer._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert committer._thread is None
    assert committer.submit(event("second")) is True
    assert stored_ids(store) == ["first", "second"]


def test_commit_timeout_is_unavailable(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def slow(engine: Engine, batch: list[NewEvent]) -> list[Any]:
        release.wait(5)
        return [True] * len(batch)

    monkeypatch.setattr(ingest, "store_batch", slow)
    committer = GroupCommitter(store)
    try:
        with pytest.raises(StoreUnavailable):
            committer.submit(event("late"), timeout=0.05)
    finally:
        release.set()


def test_row_count_matches(store: Engine) -> None:
    store_batch(store, [event(f"n{i}") for i in range(300)])
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 300


def test_transient_failure_of_the_fast_path_gets_a_second_chance(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(sqlite_url)

    def locked(*_: Any) -> set[str]:
        raise OSError("database is locked")

    monkeypatch.setattr(ingest, "_sqlite_one_statement", locked)
    try:
        assert store_batch(engine, [event("retry-me")]) == [True]
        assert stored_ids(engine) == ["retry-me"]
    finally:
        engine.dispose()
