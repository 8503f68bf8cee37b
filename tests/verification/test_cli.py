"""``whmcs-bridge verify …`` against the simulator: secrets from stdin, never argv; exit codes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_SECRET
from tests.verification.helpers import SERVER_KEY, add_ticket, notifications
from whmcs_bridge.cli import main
from whmcs_bridge.sim.data import service_password
from whmcs_bridge.store import make_engine


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WHMCS_BRIDGE_") and name != "WHMCS_BRIDGE_DATA_DIR":
            monkeypatch.delenv(name)


@pytest.fixture
def cli_env(tmp_path: Path, sqlite_url: str, sim: Any, sim_client: Any) -> Any:
    path = tmp_path / "bridge.toml"
    path.write_text(
        f'[database]\nurl = "{sqlite_url}"\n[webhooks]\nsecrets = ["{TEST_SECRET}"]\n'
        f'[whmcs]\nurl = "{sim.url}"\nidentifier = "{sim.identifier}"\n'
        f'secret = "{sim.secret}"\ntimezone = "UTC"\nadmin_username = "simadmin"\n'
        f'[server]\nsecret_key = "{SERVER_KEY}"\npublic_url = "http://bridge.test"\n')
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        ticket = add_ticket(conn, sim, client_id=sim_client.id, channel="phone")
    yield str(path), engine, ticket
    engine.dispose()


def run(capsys: Any, monkeypatch: Any, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_card_digits_from_stdin_verify(cli_env, sim, sim_client, capsys, monkeypatch) -> None:
    config, _engine, ticket = cli_env
    card = next(p for p in sim_client.paymethods if "Card" in p.type)
    wrong = "0000" if card.card_last_four != "0000" else "0001"
    code, _, err = run(capsys, monkeypatch, "--config", config, "verify", "card-last4",
                       "--ticket", str(ticket.id), "--admin", "alice", stdin=f"{wrong}\n")
    assert code == 1 and err.count("\n") == 1 and "mismatch" in err
    assert "Traceback" not in err
    code, out, _ = run(capsys, monkeypatch, "--config", config, "verify", "card-last4",
                       "--ticket", str(ticket.id), "--admin", "alice",
                       stdin=f"{card.card_last_four}\n")
    assert code == 0 and "verified" in out
    code, out, _ = run(capsys, monkeypatch, "--config", config, "verify", "status",
                       "--ticket", str(ticket.id), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["state"] == "verified" and shown["verified_by"] == "alice"
    assert [a["outcome"] for a in shown["attempts"]] == ["failed", "verified"]
    assert card.card_last_four not in out
    # the audit notes were queued in the proof's transactions and posted once they committed
    _, notes = sim.state.conversation(sim.state.tickets[ticket.id])
    assert any("VERIFIED" in n.message and "alice" in n.message for n in notes)
    code, out, _ = run(capsys, monkeypatch, "--config", config, "verify", "status",
                       "--ticket", str(ticket.id))
    lines = out.splitlines()
    assert lines[2].split() == ["AT", "METHOD", "OUTCOME", "REASON", "ACTOR", "CHANNEL"], out
    # the attempt's time as every CLI time: local (the default zone, +07) with the zone
    assert re.match(r"  \d{4}-\d\d-\d\d \d\d:\d\d \+07  card_last4", lines[3]), out


def test_service_password_from_stdin_and_never_argv(cli_env, sim_client, capsys,
                                                    monkeypatch) -> None:
    config, _, ticket = cli_env
    svc = sim_client.services[0]
    code, _, err = run(capsys, monkeypatch, "--config", config, "verify", "service-login",
                       "--ticket", str(ticket.id), "--username", svc.username,
                       "--password", service_password(svc.id))
    assert code == 2 and "--password" in err  # there is no such option
    code, out, _ = run(capsys, monkeypatch, "--config", config, "verify", "service-login",
                       "--ticket", str(ticket.id), "--username", svc.username,
                       stdin=service_password(svc.id) + "\n")
    assert code == 0 and "verified" in out


def test_usage_errors_and_unknown_ticket(cli_env, capsys, monkeypatch) -> None:
    config, _, ticket = cli_env
    code, _, err = run(capsys, monkeypatch, "--config", config, "verify", "card-last4",
                       "--ticket", str(ticket.id), stdin="12\n")
    assert code == 2 and "last4" in err
    code, _, err = run(capsys, monkeypatch, "--config", config, "verify", "card-last4",
                       "--ticket", str(ticket.id), stdin="")
    assert code == 2 and "stdin" in err
    code, _, err = run(capsys, monkeypatch, "--config", config, "verify", "status",
                       "--ticket", "987654")
    assert code == 1 and "no verification record" in err
    # a ticket id past 32 bits reached the store query: "error: OverflowError", exit 1
    code, _, err = run(capsys, monkeypatch, "--config", config, "verify", "status",
                       "--ticket", str(10**30))
    assert code == 2 and "--ticket" in err
    code, _, err = run(capsys, monkeypatch, "--config", config, "verify", "in-person",
                       "--ticket", "987654", "--reference", "R-1")
    assert code == 1 and "not known" in err


def test_link_is_queued(cli_env, capsys, monkeypatch) -> None:
    config, engine, ticket = cli_env
    code, out, _ = run(capsys, monkeypatch, "--config", config, "verify", "link",
                       "--ticket", str(ticket.id))
    assert code == 0 and "link queued" in out
    with engine.connect() as conn:
        sent = notifications(conn, "verification_link")
    assert len(sent) == 1 and sent[0].payload["client_id"] == ticket.client_id
