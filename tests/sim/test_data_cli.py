"""Seeded data is deterministic; quirk switches; the ``sim`` command."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests
from click.testing import CliRunner

from tests.sim.conftest import ANCHOR, sim_config
from whmcs_bridge.cli.commands import cli
from whmcs_bridge.sim import SimState, run_in_thread
from whmcs_bridge.sim.config import EMPTY_SHAPES


def _fingerprint(state: SimState) -> list[tuple]:
    return [(t.tid, t.subject, t.status, t.priority, t.userid, t.date)
            for t in state.tickets.values()] + [
        (c.email, [p.card_last_four for p in c.paymethods]) for c in state.clients.values()]


def test_same_seed_same_data():
    a, b = SimState(sim_config()), SimState(sim_config())
    assert _fingerprint(a) == _fingerprint(b)
    assert a.conversation(a.tickets[9])[0][-1].message == \
        b.conversation(b.tickets[9])[0][-1].message
    assert _fingerprint(SimState(sim_config(seed=8))) != _fingerprint(a)


def test_seeded_conversation_matches_lastreply():
    state = SimState(sim_config())
    for ticket in list(state.tickets.values())[:40]:
        replies, _ = state.conversation(ticket)
        assert replies[0].replyid == 0 and replies[0].date == ticket.date
        assert replies[-1].date == ticket.lastreply <= ANCHOR


def test_billing_department_exists():
    state = SimState(sim_config())
    assert "Billing" in {d.name for d in state.departments.values()}
    assert any(t.deptid == 2 for t in state.tickets.values())


@pytest.mark.parametrize("shape", EMPTY_SHAPES)
def test_client_reads_every_empty_shape(shape):
    with run_in_thread(sim_config(empty_list_shape=shape)) as handle:
        client = handle.client(retries=0)
        assert client.get_tickets(subject="no such subject anywhere").items == []
        opened = client.open_ticket(1, "fresh", "m", clientid=1)
        assert client.get_ticket(opened.id).notes == []
        assert client.get_transactions(invoiceid=424242) == []


def test_single_item_as_object():
    with run_in_thread(sim_config(single_item_as_object=True)) as handle:
        raw_body = requests.post(handle.api_url, data={
            "action": "GetTickets", "identifier": handle.identifier, "secret": handle.secret,
            "limitnum": 1, "responsetype": "json"}, timeout=5).json()
        assert isinstance(raw_body["tickets"]["ticket"], dict)
        assert len(handle.client(retries=0).get_tickets(limitnum=1).items) == 1


def test_cli_help_says_test_double_and_credentials():
    result = CliRunner().invoke(cli, ["sim", "--help"])
    assert result.exit_code == 0
    assert "a test double, not WHMCS" in result.output
    assert "sim-identifier" in result.output and "client-pass-<client id>" in result.output


@pytest.mark.parametrize(("args", "phrase"), [
    (["--error-rate", "2"], "error-rate"),
    (["--timezone", "Mars/Base"], "unknown time zone"),
    (["--timezone", "Asia"], "unknown time zone"),  # a folder: OSError, exit 1
    (["--webhook-secret", "nope"], "whsec_"),
    (["--bridge-url", "http://127.0.0.1:1"], "go together"),
])
def test_cli_bad_options_exit_2(args, phrase):
    result = CliRunner().invoke(cli, ["sim", *args])
    assert result.exit_code == 2
    assert phrase in result.output


def test_cli_serves(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", "from whmcs_bridge.cli import main; main()", "sim", "--port",
         "0", "--tickets", "30", "--clients", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        endpoint = proc.stdout.readline()
        assert "test double" in banner
        url = endpoint.split("API endpoint:")[1].strip()
        body = requests.post(url, data={"action": "GetTickets", "identifier": "sim-identifier",
                                        "secret": "sim-secret", "responsetype": "json",
                                        "ignore_dept_assignments": "1"},
                             timeout=10).json()
        assert body["totalresults"] == "30"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
