"""Issue 12.11: after WHMCS refuses the API credential once, ``sync``, ``doctor``, the worker
and the notification delivery stop calling WHMCS and say why in one line; nothing retries a
bad credential (WHMCS bans an IP after three failed logins in 30 minutes)."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from tests.conftest import TEST_SECRET, make_settings
from tests.worker.helpers import T0, Clock, add_events, event_row
from whmcs_bridge import logs
from whmcs_bridge.api import AuthenticationError, WhmcsClient
from whmcs_bridge.api.errors import ClientTrippedError, refusal_line
from whmcs_bridge.cli.base import EXIT_WHMCS_REFUSED
from whmcs_bridge.cli.commands import cli
from whmcs_bridge.hooks.registry import HookRegistry
from whmcs_bridge.sim import SimHandle, run_in_thread
from whmcs_bridge.sim.config import ADMIN_USERNAME, SimConfig
from whmcs_bridge.store import make_engine
from whmcs_bridge.sync import run_sync
from whmcs_bridge.tickets.tables import sync_state, tickets
from whmcs_bridge.worker import Worker

REFUSED = AuthenticationError("GetClientsDetails", 403, "Invalid or missing credentials")


@pytest.fixture(autouse=True)
def _keep_test_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI configures the root logger; in-process that would outlive the test."""
    monkeypatch.setattr(logs, "configure", lambda *a, **k: None)


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    # bans off: these tests count the failed logins themselves, and each makes at most one
    handle = run_in_thread(SimConfig(seed=5, clients=4, tickets=30, ban_after_failures=None))
    yield handle
    handle.stop()


def failed_logins(sim: SimHandle) -> int:
    return sum(sim.state.calls.values()) - sim.state.calls["_with_cookie"]


def bad_env(sim: SimHandle, url: str) -> dict[str, str]:
    return {"WHMCS_BRIDGE_DATABASE_URL": url, "WHMCS_BRIDGE_WEBHOOK_SECRET": TEST_SECRET,
            "WHMCS_BRIDGE_WHMCS_URL": sim.url, "WHMCS_BRIDGE_WHMCS_IDENTIFIER": sim.identifier,
            "WHMCS_BRIDGE_WHMCS_SECRET": "not-the-secret",
            "WHMCS_BRIDGE_WHMCS__ADMIN_USERNAME": ADMIN_USERNAME}


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_refusal_line_says_what_to_fix_in_one_line() -> None:
    tripped = ClientTrippedError("GetTicket", None, "not calling WHMCS again")
    tripped.first = REFUSED
    for exc in (REFUSED, tripped):  # a tripped client names the refusal that tripped it
        line = refusal_line(exc)
        assert "\n" not in line
        assert line.startswith("WHMCS refused the bridge's API credential (GetClientsDetails: "
                               "Invalid or missing credentials); check whmcs.identifier and "
                               "whmcs.secret")
        assert "3 failed logins in 30 minutes" in line


# --------------------------------------------------------------------------- worker


def _worker(settings: Any, engine: Any, registry: HookRegistry) -> Worker:
    return Worker(settings, engine, registry, clock=Clock(T0), rng=random.Random(7))


def test_the_worker_stops_at_the_first_refusal(sqlite_url: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def handler(event: Any, ctx: Any) -> None:
        calls.append(event.id)
        raise REFUSED

    registry = HookRegistry()
    registry.register("InvoicePaid", handler, name="t.whmcs")
    settings = make_settings(sqlite_url, worker={"max_attempts": 1})
    engine = make_engine(sqlite_url)
    add_events(engine, ["e1", "e2", "e3"])
    worker = _worker(settings, engine, registry)
    with caplog.at_level(logging.WARNING, logger="whmcs_bridge.worker"):
        worker.run()  # returns by itself
    assert calls == ["e1"] and worker.refused is REFUSED
    for event_id in ("e1", "e2", "e3"):  # handed back uncounted: none dead at max_attempts 1
        row = event_row(engine, event_id)
        assert row.status in ("pending", "failed") and row.attempts == 0, event_id
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"worker stopping: {refusal_line(REFUSED)}"]
    engine.dispose()


def test_a_refused_periodic_job_stops_the_worker(sqlite_url: str) -> None:
    ran: list[str] = []

    def job(ctx: Any) -> None:
        ran.append("job")
        raise REFUSED

    registry = HookRegistry()
    registry.register_job("t.job", job, every_seconds=1)
    engine = make_engine(sqlite_url)
    worker = _worker(make_settings(sqlite_url), engine, registry)
    worker.run()
    assert ran == ["job"] and worker.refused is REFUSED
    engine.dispose()


def test_a_refused_whmcs_write_stops_the_worker(sqlite_url: str) -> None:
    """The sender pass after a batch meets the refusal: the worker stops as for a handler's,
    and the write waits uncounted for the fixed credential."""
    from types import SimpleNamespace

    from whmcs_bridge.context import Services
    from whmcs_bridge.tickets.replies import post_note
    from whmcs_bridge.writes.tables import whmcs_writes

    refused = AuthenticationError("AddTicketNote", 200, "Authentication Failed")
    notes: list[int] = []

    class Refusing:
        def add_ticket_reply(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("no reply was queued")

        def add_ticket_note(self, ticket_id: int, message: str) -> None:
            notes.append(ticket_id)
            raise refused

    settings = make_settings(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        post_note(SimpleNamespace(conn=conn, now=T0, settings=settings), 1, "note",
                  dedupe_key="n1")
    worker = Worker(settings, engine, HookRegistry(), clock=Clock(T0), rng=random.Random(7),
                    services=Services(settings, whmcs=Refusing()), run_jobs=False)
    worker.run(once=True)
    assert notes == [1] and worker.refused is refused and worker.stopping
    with engine.connect() as conn:
        row = conn.execute(select(whmcs_writes.c.status, whmcs_writes.c.attempts)).one()
    assert tuple(row) == ("pending", 0)
    engine.dispose()


def test_worker_cli_exits_78_in_one_line_after_one_failed_login(sqlite_url: str,
                                                                 sim: SimHandle) -> None:
    engine = make_engine(sqlite_url)
    add_events(engine, ["inv-1", "inv-2", "inv-3"])
    env = {**bad_env(sim, sqlite_url),
           "WHMCS_BRIDGE_HANDLERS__MODULES": '["tests.worker.whmcs_handlers"]'}
    before = failed_logins(sim)
    result = invoke(env, "worker", "--once", "--no-jobs")
    assert result.exit_code == EXIT_WHMCS_REFUSED == 78
    assert result.output.splitlines() == [
        "Error: worker stopped: WHMCS refused the bridge's API credential (GetAdminDetails: "
        "Authentication Failed); check whmcs.identifier and whmcs.secret (an API credential "
        "of an admin whose role has API Access). Nothing retries it until the bridge is "
        "restarted: WHMCS bans an IP after 3 failed logins in 30 minutes"]
    assert "not-the-secret" not in result.output
    assert failed_logins(sim) - before == 1  # three events, one failed login
    assert {event_row(engine, e).attempts for e in ("inv-1", "inv-2", "inv-3")} == {0}
    engine.dispose()


def test_serve_does_not_restart_a_refused_worker() -> None:
    from whmcs_bridge.server import WorkerProcess

    now = [0.0]
    wp = WorkerProcess(["true"], clock=lambda: now[0])

    class Exited:
        pid = 4242

        def __init__(self, code: int) -> None:
            self.code = code

        def poll(self) -> int:
            return self.code

    started: list[int] = []

    def start() -> None:  # as WorkerProcess.start, without a process
        started.append(1)
        wp.started_at, wp.restart_at = now[0], None

    wp.start = start  # type: ignore[method-assign]
    wp.proc = Exited(1)  # type: ignore[assignment]
    wp.check()
    now[0] += 60
    wp.check()
    assert started == [1]  # a crash is restarted after the delay
    wp.proc = Exited(EXIT_WHMCS_REFUSED)  # type: ignore[assignment]
    wp.check()
    now[0] += 600
    wp.check()
    assert started == [1] and wp.stopping  # a refused credential is not


def test_the_systemd_unit_does_not_restart_a_refused_worker() -> None:
    from pathlib import Path

    unit = (Path(__file__).resolve().parents[2] / "deploy"
            / "whmcs-bridge-worker.service").read_text(encoding="utf-8")
    assert f"RestartPreventExitStatus={EXIT_WHMCS_REFUSED}" in unit.splitlines()


# --------------------------------------------------------------------------- sync


def _synced(sim: SimHandle, url: str) -> Any:
    """A store that went through one good sync, then has every ticket pending and the run
    interrupted in its fetching phase (so the next run starts with parallel GetTickets)."""
    engine = make_engine(url)
    run_sync(engine, make_settings(url), sim.client(retries=0))
    with engine.begin() as conn:
        conn.execute(update(tickets).values(sync_pending=True))
        conn.execute(update(sync_state).values(phase="fetching"))
    return engine


def test_sync_stops_at_once_and_sends_one_failed_login(sqlite_url: str,
                                                       sim: SimHandle) -> None:
    engine = _synced(sim, sqlite_url)
    bad = WhmcsClient(sim.url, sim.identifier, "not-the-secret", retries=0)
    before = sim.state.calls["GetTicket"]
    with pytest.raises(AuthenticationError):
        run_sync(engine, make_settings(sqlite_url), bad, concurrency=8)
    # eight threads, thirty pending tickets: one request reached WHMCS
    assert sim.state.calls["GetTicket"] - before == 1
    with engine.connect() as conn:
        assert set(conn.execute(select(tickets.c.sync_pending)).scalars()) == {True}
    engine.dispose()


def test_sync_cli_says_why_in_one_line(sqlite_url: str, sim: SimHandle) -> None:
    before = failed_logins(sim)
    result = invoke(bad_env(sim, sqlite_url), "sync", "--concurrency", "8")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: sync stopped: WHMCS refused the bridge's API credential (GetTickets: "
        "Authentication Failed); check whmcs.identifier and whmcs.secret (an API credential "
        "of an admin whose role has API Access). Nothing retries it until the bridge is "
        "restarted: WHMCS bans an IP after 3 failed logins in 30 minutes"]
    assert failed_logins(sim) - before == 1


# --------------------------------------------------------------------------- doctor


def test_doctor_asks_once_and_says_why(sqlite_url: str, sim: SimHandle) -> None:
    before = failed_logins(sim)
    result = invoke(bad_env(sim, sqlite_url), "doctor", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output.split("\nError:")[0])
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["whmcs"]["state"] == "fail"
    assert checks["whmcs"]["summary"] == f"{sim.url}: " + refusal_line(
        AuthenticationError("GetAdminDetails", 403, "Authentication Failed"))
    assert checks["replies"]["state"] == "warn"
    assert "not checked" in checks["replies"]["summary"]
    assert failed_logins(sim) - before == 1


def test_doctor_checks_share_one_client() -> None:
    from whmcs_bridge.doctor import shared_client

    built: list[int] = []
    factory = shared_client(lambda s: built.append(1) or object())
    assert factory(None) is factory(None) and built == [1]


# --------------------------------------------------------------------------- notifications


def test_a_refused_customer_lookup_is_handed_back_not_dead(sqlite_url: str) -> None:
    from whmcs_bridge.notify import outbox
    from whmcs_bridge.notify.channels import DeliveryError
    from whmcs_bridge.notify.deliver import Deliverer
    from whmcs_bridge.notify.tables import deliveries

    class Refusing:
        def get_client(self, *a: Any, **k: Any) -> Any:
            raise REFUSED

        def get_ticket(self, *a: Any, **k: Any) -> Any:
            raise REFUSED

    settings = make_settings(sqlite_url, whmcs={"admin_username": ADMIN_USERNAME})
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        outbox.enqueue(conn, notification="verification_required",
                       payload={"ticket_id": 7, "tid": "ABC-7", "client_id": 3,
                                "change": "package_change", "language": "en"},
                       dedupe_key="t:7", now=T0, settings=settings)
    with engine.connect() as conn:
        claimed = [r for r in conn.execute(select(deliveries)) if r.channel == "customer"]
    assert claimed, "the customer channel must be routed for this test"
    deliverer = Deliverer(engine, settings, whmcs=Refusing())
    with pytest.raises(DeliveryError) as info:
        deliverer.run_once(T0)
    assert info.value.auth_failure and not info.value.permanent
    with engine.connect() as conn:
        rows = [r for r in conn.execute(select(deliveries)) if r.channel == "customer"]
    assert [(r.status, r.attempts) for r in rows] == [("pending", 0)]
    engine.dispose()
