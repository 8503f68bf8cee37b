"""Engine factory with the durability settings each backend needs.

A bad ``database.url`` is a :class:`~whmcs_bridge.settings.SettingsError` naming the key, in
one line (the CLI exits 2): unparsable, an unknown dialect, a driver that is not installed,
a SQLite folder that does not exist (only the default data folder is created, owner-only), and
— through :func:`connection_problem` — the reason a server refused the connection. A new
SQLite file is created readable by its owner only; SQLite gives its -wal/-shm files the same
mode.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from whmcs_bridge.settings import SettingsError, default_data_dir
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
    """A write transaction's ``COMMIT`` (its fsync, and a WAL checkpoint now and then) leaves
    the gevent hub like its ``BEGIN``, but through the holder's own runner: the hub's thread
    pool may be full of ``BEGIN`` waits for the very lock this commit releases (see
    :mod:`whmcs_bridge.store.cooperative`). The driver's own commit afterwards finds no
    transaction open and does nothing. Read-only transactions commit where they are."""
    if conn.info.pop(_WRITING, False):
        current_mode().commit(conn.exec_driver_sql, "COMMIT")


def _sqlite_rollback(conn: Any) -> None:
    conn.info.pop(_WRITING, None)


#: What to install for a dialect whose driver is missing.
DRIVER_HINT = {"postgresql": "pip install 'whmcs-bridge[postgres]' and use postgresql+psycopg://"}
#: The databases the bridge runs on (its migrations and upserts are written for these).
SUPPORTED = ("sqlite", "postgresql")


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise SettingsError("database.url: not a database URL (examples: "
                            "sqlite:////var/lib/whmcs-bridge/bridge.db, "
                            "postgresql+psycopg://user@host/db)") from None


def _create(url: str, parsed: URL, **kwargs: Any) -> Engine:
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED and backend in _known_dialects():
        raise SettingsError(f"database.url: {shown}: {backend} is not supported "
                            "(use sqlite:/// or postgresql+psycopg://)")
    try:
        return create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise SettingsError(f"database.url: {shown}: unknown database type "
                            f"{parsed.drivername!r} (use sqlite:/// or postgresql+psycopg://)"
                            ) from None
    except ImportError as exc:
        hint = DRIVER_HINT.get(parsed.get_backend_name(), f"install the {exc.name} module")
        raise SettingsError(f"database.url: {shown}: the {parsed.drivername} driver "
                            f"({exc.name}) is not installed: {hint}") from None


def _known_dialects() -> frozenset[str]:
    from sqlalchemy import dialects

    return frozenset(dialects.__all__)


def _sqlite_file(db: str) -> None:
    """Check the folder (create only the default data folder) and create the file 0600."""
    path = Path(db).expanduser()
    folder = path.parent
    if not folder.is_dir():
        if folder.resolve() != default_data_dir().expanduser().resolve():
            raise SettingsError(f"database.url: folder {folder} does not exist (create it, or "
                                "leave database.url unset for the default data folder)")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:  # another process created it meanwhile: theirs is as good
            pass
        except OSError as exc:
            raise SettingsError(f"database.url: cannot create {path} "
                                f"({exc.strerror})") from None


def connection_problem(exc: BaseException) -> str:
    """The driver's own reason a connection failed, in one line: no SQLAlchemy wrapper text
    or background link, no password."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    reason = next((line.strip() for line in text if line.strip()), type(orig).__name__)
    return reason[:300]


def check_connection(engine: Engine) -> None:
    """Connect once; a refusal is a settings error naming ``database.url`` and the reason."""
    try:
        with engine.connect():
            pass
    except Exception as exc:
        shown = engine.url.render_as_string(hide_password=True)
        raise SettingsError(f"database.url: {shown}: cannot connect: "
                            f"{connection_problem(exc)}") from None


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL + durable commits and an owner-only file."""
    parsed = _parse(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            _sqlite_file(db)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = _create(url, parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        path = lock_path_for_url(parsed)
        event.listen(engine, "begin",
                     functools.partial(_sqlite_begin, Turnstile(path) if path else None))
        event.listen(engine, "commit", _sqlite_commit)
        event.listen(engine, "rollback", _sqlite_rollback)
        return engine
    kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    return _create(url, parsed, **kwargs)

