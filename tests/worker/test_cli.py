"""The running commands: ``events list|replay``, ``worker --once``, ``doctor``, and ``serve``'s
schema handling (SQLite upgraded by itself, PostgreSQL refused until ``db upgrade``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from tests.conftest import TEST_SECRET, _fresh_pg_url
from tests.worker.helpers import add_events, event_row
from whmcs_bridge import logs
from whmcs_bridge.cli.commands import cli
from whmcs_bridge.sim import SimHandle, run_in_thread
from whmcs_bridge.sim.config import SimConfig
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.tables import events

WHMCS_SECRET = "wh-secret-value-do-not-print"


@pytest.fixture(autouse=True)
def _keep_test_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI configures the root logger; in-process that would outlive the test."""
    monkeypatch.setattr(logs, "configure", lambda *a, **k: None)


def run(url: str, *args: str, **env: str) -> Result:
    base = {"WHMCS_BRIDGE_DATABASE_URL": url, "WHMCS_BRIDGE_WEBHOOK_SECRET": TEST_SECRET}
    return CliRunner().invoke(cli, list(args), env={**base, **env}, catch_exceptions=False)


@pytest.fixture
def seeded(sqlite_url: str) -> Iterator[str]:
    """Events in several states: two pending invoices, a dead ticket event, a done one."""
    engine = make_engine(sqlite_url)
    add_events(engine, ["inv-1", "inv-2"])
    add_events(engine, ["tic-dead"], hook="TicketOpen", data={"ticketid": "5"})
    add_events(engine, ["tic-done"], hook="TicketClose", data={"ticketid": "6"})
    with engine.begin() as conn:
        conn.execute(update(events).where(events.c.id == "tic-dead")
                     .values(status="dead", attempts=8, last_error="tickets.opened: boom"))
        conn.execute(update(events).where(events.c.id == "tic-done").values(status="done"))
    engine.dispose()
    yield sqlite_url


def test_events_list_filters_and_json(seeded: str) -> None:
    result = run(seeded, "events", "list", "--status", "dead", "--status", "done", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["id"]: r["status"] for r in rows} == {"tic-dead": "dead", "tic-done": "done"}
    dead = next(r for r in rows if r["id"] == "tic-dead")
    assert dead["attempts"] == 8 and dead["last_error"] == "tickets.opened: boom"
    assert dead["source"].startswith("whmcs-bridge-addon/")

    result = run(seeded, "events", "list", "--type", "InvoicePaid", "--limit", "1")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0].split() == ["RECEIVED", "STATUS", "TRIES", "TYPE", "ID", "ERROR"]
    assert len(lines) == 2 and "InvoicePaid" in lines[1] and "pending" in lines[1]
    # received_at in the bridge's zone with its abbreviation (the default zone is +07)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d \+07  ", lines[1]), lines[1]

    text = run(seeded, "events", "list", "--status", "dead").output
    assert "tic-dead" in text and "tickets.opened: boom" in text
    assert run(seeded, "events", "list", "--status", "ignored").output.strip() == "no events"
    bad = run(seeded, "events", "list", "--status", "weird")
    assert bad.exit_code == 2 and "weird" in bad.output


def test_events_replay_one_and_dead(seeded: str) -> None:
    result = run(seeded, "events", "replay", "tic-dead")
    assert result.exit_code == 0 and "tic-dead queued again" in result.output
    engine = make_engine(seeded)
    row = event_row(engine, "tic-dead")
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)

    missing = run(seeded, "events", "replay", "nope")
    assert missing.exit_code == 1
    assert missing.output.strip() == "Error: no event with id 'nope'"
    assert run(seeded, "events", "replay").exit_code == 2
    several = run(seeded, "events", "replay", "tic-dead", "nope", "tic-dead")
    assert several.exit_code == 1
    assert several.output.splitlines() == ["event tic-dead queued again",
                                           "Error: no event with id 'nope'"]
    assert run(seeded, "events", "replay", "x", "--dead").exit_code == 2

    with engine.begin() as conn:
        conn.execute(update(events).where(events.c.id.in_(["inv-1", "inv-2"]))
                     .values(status="dead", attempts=8))
    result = run(seeded, "events", "replay", "--dead")
    assert result.exit_code == 0 and result.output.strip() == "2 dead events queued again"
    assert {event_row(engine, i).status for i in ("inv-1", "inv-2")} == {"pending"}
    engine.dispose()


def test_worker_once_drains_with_the_configured_handlers(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    add_events(engine, [f"e{i}" for i in range(5)])
    result = run(sqlite_url, "worker", "--once", "--no-jobs")
    assert result.exit_code == 0, result.output
    assert "processed 5 events: 5 done, 0 to retry, 0 dead" in result.output
    assert event_row(engine, "e3").status == "done"
    engine.dispose()

    broken = run(sqlite_url, "worker", "--once",
                 WHMCS_BRIDGE_HANDLERS__MODULES='["tests.worker.no_such_module"]')
    assert broken.exit_code == 1 and "handlers:" in broken.output
    assert "no_such_module" in broken.output


def test_worker_and_events_refuse_an_outdated_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    for args in (["worker", "--once"], ["events", "list"]):
        result = run(url, *args)
        assert result.exit_code == 1
        assert result.output.strip() == (
            "Error: database schema is outdated: run `whmcs-bridge db upgrade` first")


def test_serve_upgrades_sqlite_by_itself(tmp_path: Path, monkeypatch) -> None:
    from whmcs_bridge import server
    from whmcs_bridge.store import is_current as schema_is_current

    started: dict[str, Any] = {}

    def fake_run(self: Any) -> None:
        started.update(options=self.options, worker=self.worker_process)

    monkeypatch.setattr(server.BridgeServer, "run", fake_run)
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run(url, "serve", "--port", "9999", "--workers", "3", "--host", "0.0.0.0")
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    assert schema_is_current(engine)
    engine.dispose()
    assert started["options"]["bind"] == "0.0.0.0:9999"
    assert started["options"]["workers"] == 3
    assert started["worker"] is not None and started["worker"].argv[-1] == "worker"

    result = run(url, "serve", "--no-worker")
    assert result.exit_code == 0 and started["worker"] is None
    assert started["options"]["bind"] == "127.0.0.1:8080"


def test_serve_refuses_outdated_postgres_schema(pg_database: str, monkeypatch) -> None:

    url = _fresh_pg_url(pg_database)  # created, never migrated
    result = run(url, "serve")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: database schema is outdated: run `whmcs-bridge db upgrade` first")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    handle = run_in_thread(SimConfig(seed=3, clients=2, tickets=3))
    yield handle
    handle.stop()


def test_doctor_reports_without_showing_secrets(seeded: str, sim: SimHandle) -> None:
    env = {"WHMCS_BRIDGE_WHMCS_URL": sim.url, "WHMCS_BRIDGE_WHMCS_IDENTIFIER": sim.identifier,
           "WHMCS_BRIDGE_WHMCS_SECRET": sim.secret,
           "WHMCS_BRIDGE_WHMCS__ADMIN_USERNAME": "simadmin"}
    result = run(seeded, "doctor", "--json", **env)
    assert result.exit_code == 0, result.output
    assert TEST_SECRET not in result.output and sim.secret not in result.output
    report = json.loads(result.output)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is True
    assert checks["settings"]["details"]["webhooks.secrets"] == "set (1)"
    assert checks["settings"]["details"]["whmcs.secret"] == "set"
    assert checks["settings"]["details"]["api.tokens"] == "not set"
    assert checks["database"]["state"] == "ok"
    assert checks["queue"]["state"] == "warn" and checks["queue"]["details"]["dead"] == 1
    assert checks["queue"]["details"]["depth"] == 2
    assert checks["addon"]["details"]["source"] == "whmcs-bridge-addon/1.0.0 WHMCS/8.10.1"
    # the simulator's API admin belongs to departments 1 and 2 only (GetTickets filtering)
    assert checks["whmcs"]["details"]["admin_departments"] == [1, 2]
    assert "support departments: 1, 2" in checks["whmcs"]["summary"]
    assert checks["whmcs"]["state"] == "ok" and sim.url in checks["whmcs"]["summary"]
    assert checks["replies"]["state"] == "ok"
    assert checks["replies"]["summary"] == "replies are posted as WHMCS admin 'simadmin' (#1)"


def test_doctor_fails_when_whmcs_is_unreachable(seeded: str) -> None:
    result = run(seeded, "doctor", WHMCS_BRIDGE_WHMCS_URL="http://127.0.0.1:9",
                 WHMCS_BRIDGE_WHMCS_IDENTIFIER="ident", WHMCS_BRIDGE_WHMCS_SECRET=WHMCS_SECRET,
                 WHMCS_BRIDGE_WHMCS__ADMIN_USERNAME="bridge", WHMCS_BRIDGE_WHMCS__TIMEOUT="2")
    assert result.exit_code == 1
    assert WHMCS_SECRET not in result.output
    lines = result.output.splitlines()
    assert any(line.startswith("fail  whmcs") for line in lines)
    assert any(line.startswith("ok    database") for line in lines)
    assert lines[-1] == "Error: some checks failed"


def test_doctor_fails_on_unreachable_database() -> None:
    result = run("postgresql+psycopg://postgres:pw-not-shown@127.0.0.1:9/none", "doctor")
    assert result.exit_code == 1
    assert "pw-not-shown" not in result.output
    assert "fail  database  postgresql+psycopg://postgres:***@127.0.0.1:9/none unreachable" \
        in result.output


def test_serve_refuses_to_start_without_a_webhook_secret(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    import whmcs_bridge.cli
    from whmcs_bridge import server
    from whmcs_bridge.cli import main

    started: list[Any] = []
    monkeypatch.setattr(server.BridgeServer, "run", lambda self: started.append(self))
    monkeypatch.setattr(whmcs_bridge.cli, "patch_for_gevent", lambda: None)  # not this process
    for name in [k for k in __import__("os").environ if k.startswith("WHMCS_BRIDGE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("WHMCS_BRIDGE_DATABASE_URL", sqlite_url)
    with pytest.raises(SystemExit) as info:
        main(["serve", "--no-worker"])
    assert info.value.code == 2 and started == []
    err = capsys.readouterr().err.strip()
    assert err.startswith("settings error: webhooks.secrets: not set") and "\n" not in err
