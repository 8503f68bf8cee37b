"""Fair turns at SQLite's write lock: a webhook is not starved by a worker that commits back to
back (the receiver's batch and every engine write transaction queue on one lock file)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from whmcs_bridge.store import make_engine
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.store.ingest import GroupCommitter, NewEvent
from whmcs_bridge.store.writer_lock import Turnstile, WriterLock, lock_path_for_url

#: How long the stand-in worker keeps committing back to back; a starved insert waits for
#: all of it, a fair one for one of its transactions (HOLD) plus SQLite's poll interval.
HAMMER_SECONDS = 4.0
HOLD = 0.02


@pytest.fixture
def engines(sqlite_url: str) -> Iterator[tuple[Engine, Engine]]:
    receiver, worker = make_engine(sqlite_url), make_engine(sqlite_url)
    with worker.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE scratch (n INTEGER)")
    yield receiver, worker
    receiver.dispose()
    worker.dispose()


def _event(n: int) -> NewEvent:
    return NewEvent(id=f"msg_turn_{n}", type="TicketClose", payload={"data": {"ticketid": 1}},
                    received_at=utcnow(), source="test")


def test_receiver_is_not_starved_by_back_to_back_worker_transactions(
        engines: tuple[Engine, Engine]) -> None:
    receiver, worker = engines
    stop = threading.Event()
    done = 0

    def hammer() -> None:  # the worker draining a backlog: one handler transaction after another
        nonlocal done
        deadline = time.monotonic() + HAMMER_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            with worker.begin() as conn:
                conn.execute(text("INSERT INTO scratch VALUES (1)"))
                time.sleep(HOLD)
            done += 1

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        time.sleep(0.2)  # the hammer is in full swing
        committer = GroupCommitter(receiver)
        waits = []
        for n in range(5):
            started = time.monotonic()
            assert committer.submit(_event(n)) is True
            waits.append(time.monotonic() - started)
    finally:
        stop.set()
        thread.join()
    assert done > 10, "the stand-in worker never got going"
    # starved, the first insert waits out the whole hammer (measured 3.8 s before the fix)
    assert max(waits) < HAMMER_SECONDS / 4, waits


def test_turnstile_waits_while_the_writer_lock_is_held_by_another_thread(
        sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    path = lock_path_for_url(engine.url)
    assert path is not None
    lock, turnstile = WriterLock(path), Turnstile(path)
    passed = threading.Event()

    def through() -> None:
        with turnstile.passing():
            passed.set()

    with lock.held():
        other = threading.Thread(target=through)
        other.start()
        assert not passed.wait(0.3)  # queued behind the holder
    assert passed.wait(5)
    other.join()
    with lock.held(), turnstile.passing():  # the holder's own transactions pass straight on
        pass
    engine.dispose()


def test_write_transactions_from_many_threads_reuse_lock_descriptors(sqlite_url: str) -> None:
    """A descriptor per thread (or per greenlet, under gevent) would leak one per request."""
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:  # warm the pool: connection and one lock descriptor
        conn.exec_driver_sql("CREATE TABLE scratch (n INTEGER)")
    before = _open_fds()
    for _ in range(30):
        thread = threading.Thread(target=_write_once, args=(engine,))
        thread.start()
        thread.join()
    assert _open_fds() - before <= 3, "lock descriptors leaked"
    engine.dispose()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _write_once(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO scratch VALUES (1)"))


def test_a_batch_that_falls_back_to_one_transaction_per_row_does_not_wait_for_itself(
        sqlite_url: str) -> None:
    """A bad row sends the batch down the per-row path (``engine.begin()`` inside the
    receiver's lock): the turnstile must see that the lock is already this thread's."""
    engine = make_engine(sqlite_url)
    committer = GroupCommitter(engine)
    bad = NewEvent(id="msg_bad", type="TicketClose", payload={"x": object()},
                   received_at=utcnow(), source="test")
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(_try(committer, bad)))
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the per-row fallback waited for its own lock"
    assert outcome and isinstance(outcome[0], Exception)
    assert committer.submit(_event(99)) is True
    engine.dispose()


def _try(committer: GroupCommitter, event: NewEvent) -> object:
    try:
        return committer.submit(event, timeout=8)
    except Exception as exc:  # StoreUnavailable: the bad row failed alone
        return exc
