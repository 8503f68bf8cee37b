"""Engine factory with the durability settings each backend needs."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from whmcs_bridge.store.writer_lock import Turnstile, lock_path_for_url


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
    ``conn.execution_options(sqlite_readonly=True)`` and keeps WAL's concurrent reads."""
    if conn.get_execution_options().get("sqlite_readonly", False):
        conn.exec_driver_sql("BEGIN")
    elif turnstile is None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        with turnstile.passing():
            conn.exec_driver_sql("BEGIN IMMEDIATE")


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
        return engine
    kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    return create_engine(url, **kwargs)

