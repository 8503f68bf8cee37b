"""The WHMCS write outbox: queued in the caller's transaction, sent after commit within the
write budget, never posted twice after an unknown outcome, dead-lettered and replayable
(``whmcs-bridge outbox --queue whmcs``) — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from tests.conftest import make_settings
from tests.tickets.conftest import FakeWhmcs, utc
from tests.txguard import HttpInTransaction, guarded
from whmcs_bridge.api.errors import (
    AuthenticationError,
    NotFoundError,
    ServerError,
    WhmcsConnectionError,
    WhmcsTimeoutError,
    WhmcsValidationError,
)
from whmcs_bridge.api.models import Note, Reply
from whmcs_bridge.cli import main
from whmcs_bridge.tickets.escalate import sweep
from whmcs_bridge.tickets.replies import post_bridge_reply, post_note
from whmcs_bridge.writes import outbox, policy
from whmcs_bridge.writes.send import Sender
from whmcs_bridge.writes.tables import NOTE, REPLY, SENDING, whmcs_writes

T0 = utc(2026, 3, 2, 2, 0)
SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)


# --------------------------------------------------------------------------- pure rules

def test_budget_counts_what_was_sent_and_what_is_in_flight() -> None:
    assert policy.budget(4, 0) == 4
    assert policy.budget(4, 3) == 1
    assert policy.budget(4, 4) == 0
    assert policy.budget(4, 9) == 0


@pytest.mark.parametrize(("exc", "permanent", "unknown"), [
    (WhmcsTimeoutError("AddTicketReply", None, "t"), False, True),
    (WhmcsConnectionError("AddTicketReply", None, "reset"), False, True),
    (ServerError("AddTicketReply", 502, "bad gateway"), False, True),
    (WhmcsValidationError("AddTicketReply", 200, "Message is required"), True, False),
    (NotFoundError("AddTicketReply", 200, "Ticket ID Not Found"), True, False),
    (AuthenticationError("AddTicketReply", 200, "Authentication Failed"), False, False),
    (RuntimeError("a bug"), False, True),
])
def test_what_a_failure_means(exc: BaseException, permanent: bool, unknown: bool) -> None:
    assert policy.judge(exc) == policy.Verdict(permanent=permanent, unknown=unknown)


def test_a_reply_is_found_in_the_ticket_by_count_not_just_by_text() -> None:
    ticket = SimpleNamespace(
        replies=[Reply(replyid=0, message="same", admin=""),  # the opening is never ours
                 Reply(replyid=1, message="same\r\n", admin="Bridge"),
                 Reply(replyid=2, message="same", admin="")],  # a customer quoting it
        notes=[Note(noteid=1, message="n")])
    assert policy.found_in_ticket(ticket, REPLY, "same", already_sent=0)
    assert not policy.found_in_ticket(ticket, REPLY, "same", already_sent=1)
    assert policy.found_in_ticket(ticket, NOTE, "n", already_sent=0)
    assert not policy.found_in_ticket(ticket, NOTE, "other", already_sent=0)


# --------------------------------------------------------------------------- the sender

def _open(b: Any, tid: int, at: Any = T0, priority: str = "High") -> None:
    b.deliver("TicketOpen", {"ticketid": tid, "ticketmask": f"ABC-{tid:06d}", "userid": 42,
                             "deptid": 1, "subject": "Server down", "message": "help",
                             "priority": priority}, at)


def _rows(b: Any) -> list[dict[str, Any]]:
    with b.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(whmcs_writes).order_by(whmcs_writes.c.id))]


def test_writes_are_queued_in_the_transaction_and_sent_after_commit(db_url, bridge_factory):
    b = bridge_factory(db_url, make_settings(db_url))
    _open(b, 1)
    with b.engine.begin() as conn:
        ctx = b.ctx(conn, T0)
        assert post_bridge_reply(ctx, 1, "We are on it.", status="In Progress",
                                 dedupe_key="k1")
        assert not post_bridge_reply(ctx, 1, "We are on it.", dedupe_key="k1")
        assert post_note(ctx, 1, "internal", dedupe_key="n1")
    assert b.whmcs.calls == []
    with b.engine.begin() as conn:  # a transaction that rolls back queues nothing
        post_note(b.ctx(conn, T0), 1, "never", dedupe_key="n2")
        conn.rollback()
    report = b.send_writes(T0)
    assert (report.claimed, report.sent) == (2, 2)
    assert [(n, a) for n, a, _ in b.whmcs.calls] == [
        ("add_ticket_reply", (1, "We are on it.")), ("add_ticket_note", (1, "internal"))]
    assert b.whmcs.named("add_ticket_reply")[0][1]["status"] == "In Progress"
    assert b.send_writes(T0 + MIN).claimed == 0  # sent once
    # a sent row keeps what it was, not its text
    assert all("message" not in r["params"] and r["params"]["message_sha256"]
               for r in _rows(b))


def test_a_reply_whose_answer_was_lost_is_never_posted_twice(db_url, bridge_factory) -> None:
    b = bridge_factory(db_url, make_settings(db_url))
    _open(b, 1)
    with b.engine.begin() as conn:
        post_bridge_reply(b.ctx(conn, T0), 1, "Hotline: 1900 6046", dedupe_key="a")
    b.whmcs.lose.add("add_ticket_reply")  # WHMCS posts it, the answer never arrives
    first = b.send_writes(T0)
    assert first.failed == 1 and len(b.whmcs.named("add_ticket_reply")) == 1
    [row] = _rows(b)
    assert row["status"] == "failed" and row["outcome_unknown"]
    retry = b.send_writes(T0 + 10 * MIN)  # after the backoff: looked for, found, not re-sent
    assert (retry.deduped, retry.sent) == (1, 0)
    assert len(b.whmcs.named("add_ticket_reply")) == 1
    assert [c[0] for c in b.whmcs.calls] == ["add_ticket_reply", "get_ticket"]
    assert _rows(b)[0]["status"] == "sent"
    # a second reply with the same text (another key) is still posted: counted, not matched
    with b.engine.begin() as conn:
        post_bridge_reply(b.ctx(conn, T0), 1, "Hotline: 1900 6046", dedupe_key="b")
    b.whmcs.fail.add("add_ticket_reply")  # times out before WHMCS applies it
    b.send_writes(T0 + 11 * MIN)
    b.send_writes(T0 + 30 * MIN)
    assert len(b.whmcs.named("add_ticket_reply")) == 2


def test_a_write_claimed_by_a_crashed_sender_is_looked_for_first(db_url, bridge_factory):
    b = bridge_factory(db_url, make_settings(db_url))
    _open(b, 1)
    with b.engine.begin() as conn:
        post_note(b.ctx(conn, T0), 1, "SLA breached", dedupe_key="n")
        # a sender claimed it, posted it, and died before recording the outcome
        conn.execute(update(whmcs_writes).values(status=SENDING, lease_until=T0 + MIN))
    b.whmcs.calls.append(("add_ticket_note", (1, "SLA breached"), {}))
    assert b.send_writes(T0 + 30 * SEC).claimed == 0  # the lease still runs
    report = b.send_writes(T0 + 2 * MIN)
    assert report.deduped == 1 and len(b.whmcs.named("add_ticket_note")) == 1


def test_ticket_changes_are_simply_sent_again(db_url, bridge_factory) -> None:
    settings = make_settings(db_url, escalation={"flag_admin_id": 7, "levels": {"urgent": {
        "at_risk": [], "breached": ["flag_admin"]}}})
    b = bridge_factory(db_url, settings)
    _open(b, 1, priority="High")
    sweep(b.engine, settings, b.services, T0 + 90 * MIN)
    b.whmcs.lose.add("update_ticket")
    b.send_writes(T0 + 90 * MIN)
    b.send_writes(T0 + 120 * MIN)
    assert [k for _, k in b.whmcs.named("update_ticket")] == [{"flag": 7}, {"flag": 7}]
    assert b.whmcs.named("get_ticket") == []  # UpdateTicket sets a value: nothing to look for


class Refusing(FakeWhmcs):
    def add_ticket_note(self, ticketid: int, message: str, **kw: Any) -> None:
        self._rec("add_ticket_note", ticketid, message)
        raise NotFoundError("AddTicketNote", 200, "Ticket ID Not Found")


def test_permanent_refusals_and_exhausted_retries_are_dead_letters(db_url, bridge_factory):
    settings = make_settings(db_url, whmcs={"write_max_attempts": 2})
    b = bridge_factory(db_url, settings, Refusing())
    _open(b, 1)
    with b.engine.begin() as conn:
        post_note(b.ctx(conn, T0), 1, "gone", dedupe_key="gone")
        post_bridge_reply(b.ctx(conn, T0), 1, "try", dedupe_key="try")
    b.whmcs.fail.add("add_ticket_reply")
    assert b.send_writes(T0).dead == 1  # Ticket ID Not Found: no retry can help
    b.whmcs.fail.add("add_ticket_reply")
    assert b.send_writes(T0 + 30 * MIN).dead == 1  # the second of two attempts
    with b.engine.connect() as conn:
        dead = outbox.list_writes(conn, status="dead")
        assert {r["action"] for r in dead} == {"note", "reply"}
        assert all(r["last_error"] for r in dead)
        assert outbox.counts(conn) == {"dead": 2}
    with b.engine.begin() as conn:
        assert outbox.replay(conn, now=T0 + 31 * MIN, all_dead=True) == 2
    report = b.send_writes(T0 + 31 * MIN)
    assert report.sent == 1 and report.dead == 1  # the reply goes; the note is refused again


def test_the_write_budget_spreads_an_escalation_backlog(db_url, bridge_factory) -> None:
    settings = make_settings(db_url, whmcs={"write_rate_per_second": 3}, escalation={
        "levels": {"urgent": {"at_risk": [], "breached": ["note", "raise_priority"]}}})
    b = bridge_factory(db_url, settings)
    for tid in range(1, 11):
        _open(b, tid, priority="High")
    res = sweep(b.engine, settings, b.services, T0 + 90 * MIN)
    queued = len(_rows(b))
    assert queued >= 10 and len(res.actions) == 20 and b.whmcs.calls == []  # queued, not sent
    now = T0 + 90 * MIN
    first = b.send_writes(now)
    assert (first.sent, first.held) == (3, True)
    assert b.send_writes(now).sent == 0  # the same second: the budget is spent
    assert b.send_writes(now + SEC / 2).sent == 0
    # a customer's reply queued behind the backlog leaves first
    with b.engine.begin() as conn:
        post_bridge_reply(b.ctx(conn, now), 5, "Verified, thank you", dedupe_key="cust")
    third = b.send_writes(now + 2 * SEC)
    assert third.sent == 3
    assert b.whmcs.calls[3][0] == "add_ticket_reply"
    t, per_second = now + 3 * SEC, []
    while True:
        report = b.send_writes(t)
        if not report.claimed:
            break
        per_second.append(report.sent)
        t += SEC
    assert max(per_second) <= 3 and len(b.whmcs.calls) == queued + 1


# --------------------------------------------------------------------------- the guard

def test_the_guard_refuses_http_inside_a_write_transaction(db_url, bridge_factory) -> None:
    b = bridge_factory(db_url, make_settings(db_url))
    with guarded() as guard:
        with b.engine.begin() as conn:
            conn.execute(select(1))
            with pytest.raises(HttpInTransaction):
                requests.get("http://127.0.0.1:9/never")
        with b.engine.connect().execution_options(sqlite_readonly=True) as conn:
            conn.execute(select(1))
            if conn.dialect.name == "sqlite":  # a read transaction holds no write lock
                with pytest.raises(requests.ConnectionError):
                    requests.get("http://127.0.0.1:9/closed-port")
    assert len(guard.violations) == 1
    assert "http://127.0.0.1:9/never" in guard.violations[0]


def test_the_guard_refuses_a_whmcs_client_call_inside_a_write_transaction(db_url,
                                                                          bridge_factory):
    """The client sends through its adapter, not Session.send: the guard watches both, and
    a ``responses`` mock still answers under it."""
    import responses

    from whmcs_bridge.api import WhmcsClient, WhmcsConnectionError

    b = bridge_factory(db_url, make_settings(db_url))
    client = WhmcsClient("http://127.0.0.1:9", "ident", "secret", retries=0)
    with guarded() as guard:
        with b.engine.begin() as conn:
            conn.execute(select(1))
            with pytest.raises(HttpInTransaction):
                client.call("GetAdminDetails")
        with responses.RequestsMock() as mocked:
            mocked.post("http://127.0.0.1:9/includes/api.php",
                        json={"result": "success", "adminid": 1})
            assert client.call("GetAdminDetails")["adminid"] == 1  # no transaction open
            with b.engine.begin() as conn:
                conn.execute(select(1))
                with pytest.raises(HttpInTransaction):
                    client.call("GetSupportDepartments")
    with pytest.raises(WhmcsConnectionError):  # the guard gone, the adapter's own send again
        client.call("GetAdminDetails")
    assert len(guard.violations) == 2
    assert all("(action Get" in v for v in guard.violations)


# --------------------------------------------------------------------------- the CLI

def run(argv: list[str], capsys: Any) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_outbox_cli_shows_and_replays_dead_whmcs_writes(tmp_path, sqlite_url, capsys) -> None:
    from whmcs_bridge.store import make_engine

    config = tmp_path / "bridge.toml"
    config.write_text(f'[database]\nurl = "{sqlite_url}"\n')
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        wid = outbox.enqueue(conn, action="note", ticket_id=7, params={"message": "x" * 12},
                             key="k", now=T0)
        conn.execute(update(whmcs_writes).values(status="dead", attempts=8,
                                                 last_error="WhmcsTimeoutError: no answer"))
    engine.dispose()
    code, out, _ = run(["--config", str(config), "outbox", "list", "--queue", "whmcs",
                        "--status", "dead", "--json"], capsys)
    assert code == 0
    [row] = json.loads(out)
    assert (row["id"], row["action"], row["ticket_id"], row["status"], row["chars"]) == (
        wid, "note", 7, "dead", 12)
    assert "message" not in row and "x" * 12 not in out
    code, out, _ = run(["--config", str(config), "outbox", "list", "--queue", "whmcs"], capsys)
    assert code == 0 and "note" in out and "WhmcsTimeoutError" in out
    # the same listing as the notifications queue: a header row, local times with the zone
    assert out.splitlines()[0].split()[:4] == ["ID", "CREATED", "STATUS", "ACTION"], out
    assert "+07" in out.splitlines()[1], out
    code, _, err = run(["--config", str(config), "outbox", "replay", "--queue", "whmcs",
                        "999"], capsys)
    assert code == 1 and "nothing to replay" in err
    code, out, _ = run(["--config", str(config), "outbox", "replay", "--queue", "whmcs",
                        str(wid), "--json"], capsys)
    assert code == 0 and json.loads(out) == {"queue": "whmcs", "replayed": 1}
    code, out, _ = run(["--config", str(config), "outbox", "list", "--queue", "whmcs",
                        "--status", "pending", "--json"], capsys)
    assert [r["attempts"] for r in json.loads(out)] == [0]
    # sending needs WHMCS: without whmcs.url the pass fails with one line, the write waits
    code, _, err = run(["--config", str(config), "outbox", "send"], capsys)
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1
    code, out, _ = run(["--config", str(config), "outbox", "list", "--queue", "whmcs",
                        "--json"], capsys)
    assert [(r["status"], r["attempts"]) for r in json.loads(out)] == [("pending", 0)]


def test_sender_is_run_by_the_worker_after_the_batch(db_url, bridge_factory) -> None:
    """The worker's sender is the same :class:`Sender`; ``run_batch`` runs it once the batch's
    transactions have committed (the guard would refuse a call made inside one)."""
    from whmcs_bridge.worker import Worker

    b = bridge_factory(db_url, make_settings(db_url))
    worker = Worker(b.settings, b.engine, b.registry, services=b.services, run_jobs=False,
                    clock=lambda: T0)
    assert isinstance(worker.writes, Sender)
    with b.engine.begin() as conn:
        post_note(b.ctx(conn, T0), 3, "queued elsewhere (a staff proof)", dedupe_key="w")
    assert worker.run_batch() == 0
    assert b.whmcs.named("add_ticket_note") == [((3, "queued elsewhere (a staff proof)"), {})]


def test_doctor_warns_about_dead_whmcs_writes(db_url, bridge_factory) -> None:
    from whmcs_bridge.doctor import WARN, check_writes

    b = bridge_factory(db_url, make_settings(db_url))
    assert check_writes(b.engine).state == "ok"
    with b.engine.begin() as conn:
        post_note(b.ctx(conn, T0), 1, "a", dedupe_key="a")
        post_note(b.ctx(conn, T0), 1, "b", dedupe_key="b")
        conn.execute(update(whmcs_writes).where(whmcs_writes.c.key == "note:a")
                     .values(status="dead"))
    check = check_writes(b.engine)
    assert check.state == WARN and (check.details["dead"], check.details["depth"]) == (1, 1)
    assert "outbox list --queue whmcs --status dead" in check.summary


class Refused(FakeWhmcs):
    def add_ticket_note(self, ticketid: int, message: str, **kw: Any) -> None:
        self._rec("add_ticket_note", ticketid, message)
        raise AuthenticationError("AddTicketNote", 200, "Authentication Failed")


def test_a_refused_credential_stops_the_pass_and_counts_no_attempt(db_url, bridge_factory):
    b = bridge_factory(db_url, make_settings(db_url), Refused())
    _open(b, 1)
    with b.engine.begin() as conn:
        for n in range(3):
            post_note(b.ctx(conn, T0), 1, f"note {n}", dedupe_key=f"n{n}")
    report = b.send_writes(T0)
    assert isinstance(report.refused, AuthenticationError)
    assert len(b.whmcs.named("add_ticket_note")) == 1  # no second login to be refused
    assert [(r["status"], r["attempts"]) for r in _rows(b)] == [("pending", 0)] * 3
