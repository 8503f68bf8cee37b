from __future__ import annotations

from sqlalchemy import text

from tests.conftest import counted, make_settings
from whmcs_bridge.runtime import build_app
from whmcs_bridge.store import is_current, make_engine


def test_readyz_is_ok_on_a_fully_migrated_database(db_url: str) -> None:
    engine = make_engine(db_url)
    assert is_current(engine)
    client = build_app(make_settings(db_url), engine=engine).test_client()
    assert client.get("/healthz").status_code == 200
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["schema"] == "current"
    engine.dispose()


def test_readyz_reports_an_outdated_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SELECT 1"))
    assert not is_current(engine)
    answer = build_app(make_settings(url), engine=engine).test_client().get("/readyz")
    assert answer.status_code == 503
    assert "db upgrade" in answer.get_json()["hint"]
    engine.dispose()


def test_schema_check_does_not_take_the_sqlite_write_lock(sqlite_url: str) -> None:
    """``/readyz`` runs on every probe beside the receiver's commits: a read, never BEGIN
    IMMEDIATE."""
    engine = make_engine(sqlite_url)
    with counted(engine) as statements:
        assert is_current(engine)
    engine.dispose()
    assert "BEGIN IMMEDIATE" not in statements and "BEGIN" in statements
