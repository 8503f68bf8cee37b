"""database.url problems are one line naming the key, exit 2 (issue 15); SQLite files and the
default data folder are owner-only; only the default data folder is created."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from whmcs_bridge.cli import main
from whmcs_bridge.settings import SettingsError
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.engine import check_connection

CASES = [
    ("not a url", "not a database URL"),
    ("foo://x/y", "unknown database type 'foo'"),
    ("mysql://u@h/db", "mysql is not supported"),
    ("postgresql+pg8000://u:pw-hidden@h/db", "pip install 'whmcs-bridge[postgres]'"),
]


@pytest.mark.parametrize(("url", "message"), CASES)
def test_bad_urls_name_the_key(url: str, message: str) -> None:
    with pytest.raises(SettingsError) as info:
        make_engine(url)
    text = str(info.value)
    assert text.startswith("database.url: ") and message in text and "\n" not in text
    assert "pw-hidden" not in text


def test_a_refusing_server_gives_its_reason() -> None:
    url = "postgresql+psycopg://postgres:pw-hidden@127.0.0.1:9/none"
    with pytest.raises(SettingsError) as info:
        check_connection(make_engine(url))
    text = str(info.value)
    assert "Connection refused" in text and "sqlalche.me" not in text and "\n" not in text


def test_cli_exit_code_and_one_line(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("WHMCS_BRIDGE_WEBHOOK_SECRET", TEST_SECRET)
    monkeypatch.setenv("WHMCS_BRIDGE_DATABASE_URL",
                       "postgresql+psycopg://postgres:pw-hidden@127.0.0.1:9/x")
    with pytest.raises(SystemExit) as info:
        main(["db", "upgrade"])
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("settings error: database.url: ")
    assert "cannot connect" in lines[0] and "pw-hidden" not in lines[0]


def test_sqlite_folder_must_exist_except_the_default(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match=r"database.url: folder .*missing does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'missing' / 'b.db'}")
    assert not (tmp_path / "missing").exists()
    data = tmp_path / "data" / "whmcs-bridge"
    monkeypatch.setenv("WHMCS_BRIDGE_DATA_DIR", str(data))
    engine = make_engine(f"sqlite:///{data / 'bridge.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with engine.connect() as conn:  # the WAL exists while a connection is open
        assert stat.S_IMODE((data / "bridge.db-wal").stat().st_mode) == 0o600
    engine.dispose()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "bridge.db").stat().st_mode) == 0o600


@pytest.mark.parametrize("echo", [False, True])
def test_database_echo_reaches_the_engines(echo: bool) -> None:
    """``database.echo`` (documented: log every SQL statement) turns on SQLAlchemy's echo for
    the engine the CLI and worker use and for the web app's."""
    from tests.conftest import make_settings
    from whmcs_bridge.cli.base import CliState
    from whmcs_bridge.runtime import build_app

    settings = make_settings(database={"echo": echo})
    state = CliState(None)
    state.settings = settings  # as loaded from the config file (a cached property)
    assert state.engine.echo is echo
    assert build_app(settings).extensions["whmcs_bridge"].engine.echo is echo
