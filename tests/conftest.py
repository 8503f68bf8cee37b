"""Shared fixtures: settings, databases (SQLite and the machine's real PostgreSQL), apps.

PostgreSQL tests never skip silently: when the server cannot be reached they fail with a
message saying how to start it. Each test session works in its own fresh database, created
here and dropped at the end.
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from whmcs_bridge.config import load_settings
from whmcs_bridge.settings import Settings
from whmcs_bridge.store import make_engine, upgrade

PG_ADMIN_URL = os.environ.get(
    "WHMCS_BRIDGE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

TEST_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
TEST_TOKEN = "staff-token-" + "x" * 20


def make_settings(db_url: str = "sqlite://", **sections: Any) -> Settings:
    """Settings for tests: a known webhook secret and staff token, overridable per section."""
    data: dict[str, Any] = {
        "database": {"url": db_url},
        "webhooks": {"secrets": [TEST_SECRET]},
        "api": {"tokens": [TEST_TOKEN]},
        # tests drain the WHMCS write outbox in one pass; the budget has its own tests
        "whmcs": {"write_rate_per_second": 1000},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return load_settings(data=data, environ={})


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; fails loudly if PG is down."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(exc).__name__}). Start it "
            "with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    name = f"wb_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    # Per-test databases are named "<session database>_<hex>": drop any a test left behind.
    with admin.connect() as conn:
        leftovers = conn.execute(text(
            "SELECT datname FROM pg_database WHERE datname LIKE :p"
        ), {"p": f"{name}\\_%"}).scalars().all()
    admin.dispose()
    base = url.rsplit("/", 1)[0]
    for leftover in [*leftovers, name]:
        drop_pg_database(f"{base}/{leftover}")


def _fresh_pg_url(base_url: str) -> str:
    """A new empty database next to the session one (so each test starts clean)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{base_url.rsplit('/', 1)[1]}_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base_url.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    """Drop a per-test database (ending any connection a test or its server left open)."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
        ), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL: once on SQLite, once on PostgreSQL (dropped after)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bridge.db'}"
    else:
        url = _fresh_pg_url(request.getfixturevalue("pg_database"))
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    if request.param == "postgres":
        drop_pg_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database URL (for tests that do not need both backends)."""
    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Any]:
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return make_settings(sqlite_url)


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement sent to the database while the block runs (query-count tests)."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def no_http_in_transaction() -> Iterator[Any]:
    """Fail the test when any HTTP call (WHMCS, a channel) is made while the calling thread
    holds a write transaction (see :mod:`tests.txguard`). Suites that talk to WHMCS use it
    for every test (their conftest makes it autouse)."""
    from tests.txguard import guarded

    with guarded() as guard:
        yield guard
    assert not guard.violations, "HTTP inside a write transaction:\n" + "\n".join(
        guard.violations)


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """CLI tests configure logging onto CliRunner's temporary streams; put the root logger back
    so a later log line from a background thread does not hit a closed stream."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
