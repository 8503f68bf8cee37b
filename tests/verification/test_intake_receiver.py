"""Through the signed receiver: a ticket holding a password, a card number and an SSH key is
stored already redacted (before any worker runs), the worker records the leaks from the
stored fingerprints, and a dump of every table holds none of the secrets — also when the
verification handlers are not installed at all, since nothing in clear was ever stored."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import TEST_SECRET
from tests.verification.helpers import dump_database, job, vsettings
from whmcs_bridge.hooks import verification as verification_handlers
from whmcs_bridge.hooks.context import Services
from whmcs_bridge.hooks.registry import load_registry
from whmcs_bridge.runtime import BUILTIN_HANDLERS, build_app, build_registry
from whmcs_bridge.signing import signed_headers
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.tables import DONE, PENDING, events
from whmcs_bridge.verification import service, store, tokens
from whmcs_bridge.verification.proofs import build_proof
from whmcs_bridge.worker import Worker

PASSWORD = "Tr0ub4dor&3x-91"
CARD = "5555 5555 5555 4444"  # Luhn-valid
KEY_LINE = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
SSH_KEY = (f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_LINE}\n"
           "QyNTUxOQAAACDGhlbGxvIHdvcmxkIHRoaXMgaXMgbm90IGEgcmVhbCBrZXk=\n"
           "-----END OPENSSH PRIVATE KEY-----")
SECRETS = (PASSWORD, CARD, CARD.replace(" ", ""), KEY_LINE, "QyNTUxOQAAACDGhlbGxv")


def _post(web: Any, hook: str, data: dict[str, Any]) -> str:
    body = json.dumps({"type": hook, "timestamp": "2026-11-25T10:00:00+00:00",
                       "data": data}).encode()
    event_id = f"msg_{uuid.uuid4().hex}"
    resp = web.post("/webhooks/whmcs", data=body,
                    headers={**signed_headers(TEST_SECRET, event_id, body),
                             "Content-Type": "application/json"})
    assert resp.status_code == 202, resp.get_json()
    return event_id


def _registry(handlers: str) -> Any:
    modules = [m for m in BUILTIN_HANDLERS
               if handlers == "all" or m is not verification_handlers]
    return load_registry(modules, entry_point_group=None)


@pytest.mark.parametrize("handlers", ["all", "without_verification"])
def test_ticket_secrets_are_never_stored(db_url, sim, whmcs, sim_client, handlers,
                                         caplog) -> None:
    caplog.set_level(logging.DEBUG)
    settings = vsettings(db_url)
    engine = make_engine(db_url)
    web = build_app(settings, engine=engine, whmcs=whmcs).test_client()
    ticket = sim.state.tickets[sorted(sim.state.tickets)[0]]
    message = (f"My site is down. cPanel password: {PASSWORD}\nPay with card {CARD}\n"
               f"Here is my key:\n{SSH_KEY}\nThanks")
    event_id = _post(web, "TicketOpen", {
        "ticketid": ticket.id, "ticketmask": ticket.tid, "userid": sim_client.id, "deptid": 1,
        "subject": "Site down", "message": message, "priority": "High"})

    # (a) the inbox row, read straight from the database before any worker ran
    with engine.connect() as conn:
        row = conn.execute(select(events).where(events.c.id == event_id)).one()
    assert row.status == PENDING
    stored = json.dumps(row.payload)
    for secret in SECRETS:
        assert secret not in stored, f"secret stored in the inbox: {secret[:3]}…"
    assert row.payload["data"]["message"].count("[REDACTED:") == 3
    redactions = row.payload["redactions"]
    assert sorted(r["kind"] for r in redactions) == ["card_number", "password", "private_key"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["fingerprint"]) for r in redactions)

    # (b) the worker records the leaks from the stored fingerprints
    worker = Worker(settings, engine, _registry(handlers),
                    services=Services(settings, whmcs=whmcs), run_jobs=False)
    for _ in range(10):
        if worker.run_batch() == 0:
            break
    with engine.begin() as conn:
        assert conn.execute(select(events.c.status).where(events.c.id == event_id)
                            ).scalar_one() == DONE
        password_leaked = store.any_leaked(
            conn, tokens.fingerprints(settings, "leak:password", PASSWORD))
        card_leaked = store.any_leaked(
            conn, tokens.fingerprints(settings, "leak:card_last4", "4444"))
    if handlers == "all":
        assert password_leaked and card_leaked
        out = service.submit_proof(job(settings, engine, whmcs), ticket.id,
                                   build_proof("card_last4", {"last4": "4444"}),
                                   actor="dan", channel="cli")
        assert (out.outcome, out.reason) == ("failed", "leaked_secret")
    else:
        assert not (password_leaked or card_leaked)  # nobody recorded them…

    # … and still no secret anywhere: every table, and the logs
    dump = dump_database(engine)
    assert "events" in dump and "Site down" in dump  # the dump is real
    logs = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in SECRETS:
        assert secret not in dump, f"secret found in the database: {secret[:3]}…"
        assert secret not in logs, f"secret found in logs: {secret[:3]}…"
    assert not re.search(r"5555\s?5555", dump)
    engine.dispose()


def test_event_stored_before_intake_redaction_is_scrubbed_by_the_handler(
        sqlite_url, sim, whmcs, sim_client) -> None:
    """The fallback: an inbox row written in clear (an older version) is redacted and its
    leaks recorded when its event is handled."""
    from whmcs_bridge.store.base import utcnow
    from whmcs_bridge.store.ingest import NewEvent, store_one

    settings = vsettings(sqlite_url)
    engine = make_engine(sqlite_url)
    ticket = sim.state.tickets[sorted(sim.state.tickets)[1]]
    payload = {"type": "TicketUserReply", "timestamp": "2026-11-25T10:00:00+00:00",
               "data": {"ticketid": ticket.id, "replyid": 0, "userid": sim_client.id,
                        "message": f"new password: {PASSWORD}"}}
    store_one(engine, NewEvent(id="old-row", type="TicketUserReply", payload=payload,
                               received_at=utcnow()))
    worker = Worker(settings, engine, build_registry(settings),
                    services=Services(settings, whmcs=whmcs), run_jobs=False)
    worker.run_batch()
    with engine.connect() as conn:
        row = conn.execute(select(events).where(events.c.id == "old-row")).one()
        assert row.status == DONE
        assert row.payload["data"]["message"] == "new password: [REDACTED:password]"
        assert [r["kind"] for r in row.payload["redactions"]] == ["password"]
        assert store.any_leaked(conn, tokens.fingerprints(settings, "leak:password", PASSWORD))
    assert PASSWORD not in dump_database(engine)
    engine.dispose()
