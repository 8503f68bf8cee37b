"""Which SQLite calls of a transaction go through store.cooperative's runner (the gevent hub's
thread pool under ``serve``): a write's BEGIN IMMEDIATE (its lock waits), and which go through the
lock holder's own runner: its COMMIT (its fsync); never a read's. Recorded with runners that
note what they run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from whmcs_bridge.store import engine as engine_module
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.cooperative import Mode, ThreadWaiter


def test_write_waits_and_commit_go_through_the_runner_reads_do_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def recorder(runner: str) -> Any:
        def run(fn: Any, *args: Any) -> Any:
            what = " ".join(str(a) for a in args if isinstance(a, str)) or fn.__name__
            ran.append(f"{runner}: {what}")
            return fn(*args)
        return run

    monkeypatch.setattr(engine_module, "current_mode", lambda: Mode(
        "recording", recorder("call"), ThreadWaiter, recorder("commit")))
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert ran == ["call: _begin_immediate", "commit: COMMIT"]
        ran.clear()
        with engine.connect() as conn:
            conn = conn.execution_options(sqlite_readonly=True)
            conn.execute(text("SELECT count(*) FROM t")).scalar()
            conn.commit()
        assert ran == []
        with engine.begin() as conn:  # a rolled-back write commits nothing
            conn.execute(text("INSERT INTO t VALUES (1)"))
            conn.rollback()
        assert ran == ["call: _begin_immediate"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        engine.dispose()
