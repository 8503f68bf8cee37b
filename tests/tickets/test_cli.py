"""The CLI of the room against the simulator: sync, tickets show / log-call, sla sweep /
report, and the exit codes (0 ok, 1 failed, 2 usage or settings)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_SECRET, TEST_TOKEN
from whmcs_bridge.cli import main
from whmcs_bridge.sim import SimConfig, run_in_thread


@pytest.fixture
def sim() -> Iterator[Any]:
    handle = run_in_thread(SimConfig(tickets=25, clients=5, seed=2))
    yield handle
    handle.stop()


def config(tmp_path: Path, db_url: str, sim: Any, technical: int | None = 1) -> str:
    path = tmp_path / "bridge.toml"
    channels = f"[channels]\ntechnical_department_id = {technical}\n" if technical else ""
    path.write_text(
        f'[database]\nurl = "{db_url}"\n'
        f'[webhooks]\nsecrets = ["{TEST_SECRET}"]\n[api]\ntokens = ["{TEST_TOKEN}"]\n'
        f'[whmcs]\nurl = "{sim.url}"\nidentifier = "{sim.identifier}"\n'
        f'secret = "{sim.secret}"\ntimezone = "UTC"\nadmin_username = "simadmin"\n' + channels)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WHMCS_BRIDGE_") and name != "WHMCS_BRIDGE_DATA_DIR":
            monkeypatch.delenv(name)


def test_sync_show_log_call_sweep_report(tmp_path, sqlite_url, sim, capsys) -> None:
    cfg = config(tmp_path, sqlite_url, sim)
    code, out, _ = run(capsys, "--config", cfg, "sync", "--json")
    assert code == 0
    first = json.loads(out)
    assert (first["mode"], first["listed"], first["fetched"], first["failed"]) == (
        "full", 25, 25, 0)
    code, out, _ = run(capsys, "--config", cfg, "sync", "--json", "--concurrency", "2")
    assert code == 0 and json.loads(out)["fetched"] == 0

    code, out, _ = run(capsys, "--config", cfg, "tickets", "log-call", "--client", "1",
                       "--subject", "Gọi điện: web chậm", "--message", "Khách gọi lúc 9h",
                       "--priority", "High")
    assert code == 0, out
    new_id = max(sim.state.tickets)
    assert f"#{new_id}" in out and "channel phone" in out
    opened = sim.state.tickets[new_id]
    assert (opened.admin != "", opened.userid, opened.deptid) == (True, 1, 1)
    # a later sync keeps the phone channel the call recorded
    assert run(capsys, "--config", cfg, "sync", "--json")[0] == 0
    code, out, _ = run(capsys, "--config", cfg, "tickets", "show", str(new_id), "--json")
    shown = json.loads(out)
    assert (shown["channel"], shown["level"], shown["sla"]["state"]) == ("phone", "urgent",
                                                                        "on_track")
    code, out, _ = run(capsys, "--config", cfg, "tickets", "show", str(new_id))
    assert code == 0 and "channel phone" in out and "SLA on_track" in out
    assert re.search(r"first reply due \d{4}-\d\d-\d\d \d\d:\d\d \+07\b", out), out
    # the ticket number staff see works too, with or without '#'
    for ref in (opened.tid, f"#{opened.tid}"):
        code, out, _ = run(capsys, "--config", cfg, "tickets", "show", ref)
        assert code == 0 and out.startswith(f"#{new_id} {opened.tid}"), out

    code, out, _ = run(capsys, "--config", cfg, "sla", "sweep", "--json")
    assert code == 0
    swept = json.loads(out)
    assert swept["evaluated"] >= 1 and swept["failed"] == []

    code, out, _ = run(capsys, "--config", cfg, "sla", "report", "--since", "2000-01-01",
                       "--format", "json", "--by", "channel")
    assert code == 0
    groups = {g["key"]: g for g in json.loads(out)["groups"]}
    assert groups["phone"]["tickets"] == 1
    code, out, _ = run(capsys, "--config", cfg, "sla", "report", "--since", "2000-01-01",
                       "--json", "--by", "channel")
    assert code == 0 and json.loads(out)["by"] == "channel"
    code, out, _ = run(capsys, "--config", cfg, "sla", "report", "--since", "2000-01-01",
                       "--until", "2000-01-08")
    assert code == 0 and out.startswith("first-reply compliance of tickets opened 2000-01-01 "
                                        "07:00 +07 to 2000-01-08 07:00 +07 (Asia/Ho_Chi_Minh), by "
                                        "priority"), out
    code, out, _ = run(capsys, "--config", cfg, "sla", "report", "--since", "2000-01-01",
                       "--format", "csv")
    assert code == 0 and out.startswith("key,tickets,met,breached")


def test_errors_and_exit_codes(tmp_path, sqlite_url, sim, capsys) -> None:
    cfg = config(tmp_path, sqlite_url, sim, technical=None)
    code, _, err = run(capsys, "--config", cfg, "tickets", "show", "424242")
    assert code == 1 and "not in the store" in err and "Traceback" not in err
    # ids past 32 bits reached the store query: "error: OverflowError", exit 1
    for bad in (str(10**30), "-5", "0"):
        code, _, err = run(capsys, "--config", cfg, "tickets", "show", "--", bad)
        assert code == 2 and "TICKET_ID" in err, err
    code, _, err = run(capsys, "--config", cfg, "tickets", "log-call", "--client", str(2**31),
                       "--subject", "s", "--message", "m")
    assert code == 2 and "--client" in err
    code, _, err = run(capsys, "--config", cfg, "tickets", "log-call", "--client", "1",
                       "--subject", "s", "--message", "m")
    assert code == 2 and "technical_department_id" in err
    code, _, err = run(capsys, "--config", cfg, "sla", "report", "--since", "yesterday")
    assert code == 2 and "--since" in err
    # valid ISO 8601 that has no UTC equivalent: "error: OverflowError", exit 1
    code, _, err = run(capsys, "--config", cfg, "sla", "report", "--since",
                       "0001-01-01T00:00:00+01:00")
    assert code == 2 and "--since" in err, err
    code, _, err = run(capsys, "--config", cfg, "sla", "report", "--until",
                       "9999-12-31T23:59:59-01:00")
    assert code == 2 and "--until" in err, err
    code, _, err = run(capsys, "--config", cfg, "sla", "report", "--by", "colour")
    assert code == 2
    code, _, err = run(capsys, "--config", cfg, "tickets", "log-call", "--client", "999",
                       "--subject", "s", "--message", "m", "--department", "1")
    assert code == 1 and "Client ID Not Found" in err


def test_sync_shows_progress_on_a_terminal(tmp_path, sqlite_url, sim, capsys,
                                           monkeypatch) -> None:
    import sys

    cfg = config(tmp_path, sqlite_url, sim)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, out, err = run(capsys, "--config", cfg, "sync")
    assert code == 0 and out.startswith("full sync: listed 25, fetched 25")
    assert "listing tickets" in err and "reading tickets" in err and "100%" in err
