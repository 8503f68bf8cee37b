"""Go-live on a busy WHMCS (issue 15): a backlog of old breached tickets on the simulator gives
one summary for staff and no escalation action; thresholds crossed after go-live escalate; a dry
run writes nothing. Also the pure go-live rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.conftest import make_settings
from whmcs_bridge.cli.commands import cli
from whmcs_bridge.context import Services
from whmcs_bridge.notify.tables import notifications
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.sla import engine as E
from whmcs_bridge.sla.escalation import BEFORE_GO_LIVE, crossed, split_go_live
from whmcs_bridge.store import make_engine
from whmcs_bridge.sync import run_sync
from whmcs_bridge.ticket_view import enrich
from whmcs_bridge.tickets import golive, store
from whmcs_bridge.tickets.escalate import evaluate_loaded, state_at_go_live, sweep
from whmcs_bridge.tickets.tables import ticket_escalations, tickets
from whmcs_bridge.writes.send import send_due

WRITES = ("AddTicketNote", "UpdateTicket", "AddTicketReply", "SendAdminEmail",
          "TriggerNotificationEvent")


def test_rule_withholds_triggers_already_crossed_at_go_live() -> None:
    due = [("at_risk", "note"), ("breached", "note"), ("breached", "notify")]
    assert split_go_live(due, None) == (due, [])
    assert split_go_live(due, E.ON_TRACK) == (due, [])
    assert split_go_live(due, E.AT_RISK) == ([("breached", "note"), ("breached", "notify")],
                                             [("at_risk", "note")])
    assert split_go_live(due, E.BREACHED) == ([], due)
    assert crossed(E.PAUSED) == frozenset()


@pytest.fixture
def sim() -> Iterator[Any]:
    handle = run_in_thread(SimConfig(tickets=150, clients=10, seed=15))
    yield handle
    handle.stop()


def _writes(sim: Any) -> dict[str, int]:
    return {a: sim.state.calls[a] for a in WRITES if sim.state.calls[a]}


def _kinds(engine: Any) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(notifications.c.notification, func.count())
                                 .group_by(notifications.c.notification)).all())


def test_backlog_gives_one_summary_and_later_breaches_escalate(db_url: str, sim: Any) -> None:
    settings = make_settings(db_url, server={"public_url": "https://bridge.example.com"})
    engine = make_engine(db_url)
    api = sim.client(retries=0, backoff=0, backoff_jitter=0)
    services = Services(settings, whmcs=api)
    go_live = datetime.now(UTC)
    run_sync(engine, settings, api, now=go_live)
    with engine.connect() as conn:
        recorded = golive.effective(conn, settings)
    assert recorded is not None and recorded.at == go_live and recorded.source == "first_sync"

    # a dry run: says what it would withhold, writes nothing
    dry = sweep(engine, settings, services, go_live, dry_run=True)
    assert dry.withheld and not dry.actions
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ticket_escalations)).scalar() == 0
        assert conn.execute(select(func.count()).where(tickets.c.sla_state.is_not(None))
                            ).scalar() == 0
    assert _kinds(engine) == {}

    first = sweep(engine, settings, services, go_live + timedelta(seconds=30))
    # the worker's sender pass after the sweep: nothing was queued for WHMCS either
    assert send_due(engine, settings, whmcs=api, now=go_live + timedelta(seconds=30)).claimed == 0
    policy = E.Policy.from_settings(settings)
    with engine.connect() as conn:  # open cycles overdue (not merely answered late)
        recs = store.get_tickets(conn, list(store.open_ticket_ids(conn, ["Closed"])))
        hists = store.histories(conn, recs)
    overdue = {r.id for r in recs if (c := evaluate_loaded(r, hists[r.id], policy,
                                                           go_live.timestamp()).open_cycle)
               and c.state == E.BREACHED}
    assert len(overdue) > 20  # the simulator's backlog: weeks-old unanswered tickets
    assert first.actions == [] and first.failed == []
    assert _writes(sim) == {}
    assert _kinds(engine) == {"go_live_backlog": 1}
    with engine.connect() as conn:
        payload = conn.execute(select(notifications.c.payload)).scalar_one()
        # still shown honestly: the cached state the dashboard lists is "breached"
        shown = set(conn.execute(select(tickets.c.id).where(tickets.c.sla_state == "breached")
                                 ).scalars())
    assert payload["count"] == len(overdue) == first.backlog_summary
    assert overdue <= shown
    with engine.connect() as conn:  # the ticket panel / staff API says breached too
        some = sorted(overdue)[0]
        view = enrich(conn, some, settings=settings, now=go_live + timedelta(seconds=30))
    assert view["sla"]["state"] == "breached"
    assert [e["outcome"] for e in view["escalations"]] and all(
        e["outcome"] == "skipped" for e in view["escalations"])
    assert payload["list_url"] == "https://bridge.example.com/dashboard#breaches"

    # a customer writes in after go-live; two hours later that ticket escalates, the backlog
    # still does not, and no second summary is queued
    new = api.open_ticket(1, "Site down", "Please help", clientid=next(iter(sim.state.clients)),
                          priority="High")
    later = go_live + timedelta(hours=2)
    run_sync(engine, settings, api, now=later)
    second = sweep(engine, settings, services, later)
    touched = {t for t, _, _, outcome in second.actions if outcome == "done"}
    assert new.id in touched
    send_due(engine, settings, whmcs=api, now=later)  # the worker's sender pass after the sweep
    assert sim.state.calls["AddTicketNote"] == len(touched)
    with engine.connect() as conn:
        gl = golive.effective(conn, settings)
        for tid, trigger, _, _ in second.actions:  # each threshold was crossed after go-live
            rec = store.get_ticket(conn, tid)
            hist = store.history(conn, rec)
            cyc = evaluate_loaded(rec, hist, policy, later.timestamp()).open_cycle
            assert trigger not in crossed(state_at_go_live(rec, hist, policy, cyc, gl)), tid
    assert _kinds(engine)["go_live_backlog"] == 1
    engine.dispose()


def test_without_a_sync_the_first_stored_ticket_is_go_live(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url)
    engine = make_engine(sqlite_url)
    t0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        store.upsert_ticket(conn, 5, now=t0, actor="whmcs", source="event", tid="X-5",
                            subject="s", priority="Medium", status="Open", opened_at=t0)
    sweep(engine, settings, Services(settings, whmcs=object()), t0 + timedelta(minutes=1),
          dry_run=True)
    with engine.connect() as conn:
        assert golive.recorded(conn) is None  # the dry run recorded nothing
    sweep(engine, settings, Services(settings, whmcs=object()), t0 + timedelta(minutes=1))
    with engine.connect() as conn:
        assert golive.recorded(conn) == golive.GoLive(t0, "first_ticket")
    engine.dispose()


def test_setting_pins_go_live_and_cli_sets_and_lists(sqlite_url: str, tmp_path: Any) -> None:
    pinned = make_settings(sqlite_url, escalation={"go_live_at": "2026-11-01T09:00:00"})
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        golive.record(conn, datetime(2026, 12, 1, tzinfo=UTC), golive.BY_SYNC)
        got = golive.effective(conn, pinned)
    # naive: in the bridge's zone (Asia/Ho_Chi_Minh, UTC+7)
    assert got == golive.GoLive(datetime(2026, 11, 1, 2, 0, tzinfo=UTC), "setting")
    with engine.begin() as conn:
        store.record_escalation(conn, 9, "first_reply:1", "breached", "note",
                                outcome="skipped", at=datetime.now(UTC), detail=BEFORE_GO_LIVE)
    engine.dispose()
    config = tmp_path / "b.toml"
    config.write_text(f'[database]\nurl = "{sqlite_url}"\n')
    runner = CliRunner()
    out = runner.invoke(cli, ["--config", str(config), "sla", "go-live", "--set",
                              "2026-11-20T10:00:00+00:00", "--json"], env={})
    assert out.exit_code == 0, out.output
    assert '"go_live_at": "2026-11-20T10:00:00+00:00"' in out.output
    assert '"source": "admin"' in out.output and '"overdue_at_go_live": 1' in out.output
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        store.upsert_ticket(conn, 9, now=datetime.now(UTC), tid="OLD-9", subject="Old one",
                            status="Closed")  # closed: the dry-run sweep below sees no ticket
    engine.dispose()
    out = runner.invoke(cli, ["--config", str(config), "sla", "go-live", "--list"], env={})
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    # the go-live time as every CLI time (bridge zone +07), then a headed list
    assert lines[0].startswith("go-live: 2026-11-20 17:00 +07 (Asia/Ho_Chi_Minh; admin)")
    assert lines[1].split() == ["TICKET", "ID", "STATUS", "SUBJECT"]
    assert lines[2].split() == ["#OLD-9", "9", "Closed", "Old", "one"]
    out = runner.invoke(cli, ["--config", str(config), "sla", "sweep", "--dry-run"], env={})
    assert out.exit_code == 0, out.output
    assert out.output.startswith("dry run: evaluated 0 open ticket(s)")


def test_sweep_text_names_go_live_in_the_cli_time_format(sqlite_url: str, tmp_path: Any,
                                                         monkeypatch: Any) -> None:
    from whmcs_bridge.tickets import escalate

    def fake_sweep(*_: Any, **__: Any) -> escalate.SweepResult:
        return escalate.SweepResult(evaluated=1, withheld=[(9, "breached", "note")],
                                    actions=[(8, "breached", "raise_priority", "done")],
                                    go_live_at="2026-11-20T10:00:00+00:00")

    monkeypatch.setattr(escalate, "sweep", fake_sweep)
    config = tmp_path / "b.toml"
    config.write_text(f'[database]\nurl = "{sqlite_url}"\n')
    out = CliRunner().invoke(cli, ["--config", str(config), "sla", "sweep", "--dry-run"],
                             env={})
    assert out.exit_code == 0, out.output
    assert "crossed before go-live (2026-11-20 17:00 +07)" in out.output, out.output
    assert "  ticket 8: Reply overdue: priority raised\n" in out.output  # words, not codes
