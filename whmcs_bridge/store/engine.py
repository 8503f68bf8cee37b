"""Engine factory with the durability settings each backend needs."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from whmcs_bridge.store.cooperative import current_mode
from whmcs_bridge.store.writer_lock import Turnstile, lock_path_for_url

#: ``conn.info`` key: this transaction began with ``BEGIN IMMEDIATE`` (it may write).
_WRITING = "whmcs_bridge.sqlite_writing"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own implicit BEGIN is switched off: SQLAlchemy's "begin" event (below) issues
    # the BEGIN, so we choose IMMEDIATE or deferred per transaction.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(turnstile: Turnstile | None, conn: Any) -> None:
    """Take SQLite's write lock up front so two writers never deadlock on lock upgrade (the
    second waits for busy_timeout instead), after waiting for our turn in the ``turnstile``
    (see :mod:`whmcs_bridge.store.writer_lock`). Read-only work opts out with
    ``conn.execution_options(sqlite_readonly=True)`` and keeps WAL's concurrent reads.

    Both waits (the lock file's ``flock`` and SQLite's busy handler) block in C. Under
    gevent (``serve``'s web workers) they would stop every request of the process, so they
    run in the hub's thread pool while the request's greenlet waits (the same runner as the
    group commit, :mod:`whmcs_bridge.store.cooperative`); elsewhere they run here."""
    writing = not conn.get_execution_options().get("sqlite_readonly", False)
    conn.info[_WRITING] = writing  # per DBAPI connection: set at every begin, never stale
    if not writing:
        conn.exec_driver_sql("BEGIN")
        return
    current_mode().call(_begin_immediate, turnstile, conn)


def _begin_immediate(turnstile: Turnstile | None, conn: Any) -> None:
    if turnstile is None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    with turnstile.passing():
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_commit(conn: Any) -> None:
    """A write transaction's ``COMMIT`` (its fsync, and a WAL checkpoint now and then) runs
    through the same runner as its ``BEGIN``; the driver's own commit afterwards finds no
    transaction open and does nothing. Read-only transactions commit where they are."""
    if conn.info.pop(_WRITING, False):
        current_mode().call(conn.exec_driver_sql, "COMMIT")


def _sqlite_rollback(conn: Any) -> None:
    conn.info.pop(_WRITING, None)


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL + durable commits and its folder is created."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        path = lock_path_for_url(parsed)
        event.listen(engine, "begin",
                     functools.partial(_sqlite_begin, Turnstile(path) if path else None))
        event.listen(engine, "commit", _sqlite_commit)
        event.listen(engine, "rollback", _sqlite_rollback)
        return engine
    kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    return create_engine(url, **kwargs)

