"""End to end through the signed receiver, the worker and the simulator: the refusal flow,
redaction of credentials typed into a ticket, a staff proof, refusal after the timeout — and a
grep of the captured logs and of a full database dump for every secret used, finding nothing."""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import timedelta
from typing import Any

from tests.conftest import TEST_SECRET, TEST_TOKEN
from tests.verification.helpers import dump_database, notifications, vsettings
from whmcs_bridge.hooks.context import JobContext, Services
from whmcs_bridge.hooks.verification import refusal_sweep
from whmcs_bridge.runtime import build_app, build_registry
from whmcs_bridge.signing import signed_headers
from whmcs_bridge.sim.data import service_password
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.base import utcnow
from whmcs_bridge.verification import status
from whmcs_bridge.worker import Worker

TYPED_PASSWORD = "Hunter2024!xyz"
CARD_NUMBER = "4111 1111 1111 1111"
CPANEL_TOKEN = "U7HMR63FHY282DQZ4H5BIH16JLYSO01M"
WRONG_PASSWORD = "Wr0ng-Pass-991"


def _post(client: Any, hook: str, data: dict[str, Any]) -> None:
    body = json.dumps({"type": hook, "timestamp": utcnow().isoformat(), "data": data}).encode()
    headers = signed_headers(TEST_SECRET, f"msg_{uuid.uuid4().hex}", body)
    resp = client.post("/webhooks/whmcs", data=body,
                       headers={**headers, "Content-Type": "application/json"})
    assert resp.status_code == 202, resp.get_json()


def _drain(worker: Worker) -> None:
    for _ in range(20):
        if worker.run_batch() == 0:
            return
    raise AssertionError("worker did not drain the inbox")


def test_end_to_end_and_no_secret_left_behind(db_url, sim, whmcs, sim_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    settings = vsettings(db_url, verification={"redact_in_whmcs": True})
    engine = make_engine(db_url)
    app = build_app(settings, engine=engine, whmcs=whmcs)
    web = app.test_client()
    worker = Worker(settings, engine, build_registry(settings),
                    services=Services(settings, whmcs=whmcs), run_jobs=False)
    ids = sorted(sim.state.tickets)
    first, second = sim.state.tickets[ids[-1]], sim.state.tickets[ids[-2]]
    service = sim_client.services[0]
    secrets = [TYPED_PASSWORD, CARD_NUMBER, CARD_NUMBER.replace(" ", ""), CPANEL_TOKEN,
               WRONG_PASSWORD, service_password(service.id)]

    leaked = (f"Nâng cấp gói hosting giúp em. mật khẩu là {TYPED_PASSWORD}, thẻ {CARD_NUMBER}, "
              f"token: {CPANEL_TOKEN}")
    # e-mail: WHMCS reports the piped mail, then the ticket it opened
    _post(web, "TicketPiping", {"to": "support@example.test", "name": "An",
                                "email": sim_client.email, "subject": "Nâng cấp gói",
                                "body": leaked})
    _post(web, "TicketOpen", {"ticketid": first.id, "ticketmask": first.tid,
                              "userid": sim_client.id, "deptid": 1, "subject": "Nâng cấp gói",
                              "message": leaked, "priority": "Low"})
    _post(web, "TicketPiping", {"to": "support@example.test", "name": "An",
                                "email": sim_client.email, "subject": "Cài WordPress",
                                "body": "Nhờ cài WordPress cho domain mới"})
    _post(web, "TicketOpen", {"ticketid": second.id, "ticketmask": second.tid,
                              "userid": sim_client.id, "deptid": 1, "subject": "Cài WordPress",
                              "message": "Nhờ cài WordPress cho domain mới", "priority": "Low"})
    _drain(worker)

    with engine.connect() as conn:
        assert status.for_ticket(conn, first.id)["state"] == "required"
        assert status.for_ticket(conn, second.id)["state"] == "required"
        assert len(notifications(conn, "verification_required")) == 2
    replies, _ = sim.state.conversation(first)
    assert replies[0].message.count("[REDACTED:") == 3  # the WHMCS copy was rewritten
    bridge_text = "\n".join(r.message for r in replies[1:])
    assert "KHÔNG gửi mật khẩu" in bridge_text  # how to give proof safely
    assert "đổi ngay" in bridge_text  # asked to change the leaked secret
    assert first.status == "On Hold"

    # a staff member tries the leaked password, a wrong one, then the right service password
    url = f"/api/tickets/{first.id}/verification"
    auth = {"Authorization": f"Bearer {TEST_TOKEN}"}
    for password, outcome in ((TYPED_PASSWORD, "failed"), (WRONG_PASSWORD, "failed"),
                              (service_password(service.id), "verified")):
        resp = web.post(url, headers=auth, json={"method": "service_login", "admin": "alice",
                                                 "username": service.username,
                                                 "password": password})
        assert resp.get_json()["outcome"] == outcome, resp.get_json()

    # the other ticket gets no proof: refused after the timeout, ticket closed as configured
    later = utcnow() + timedelta(hours=72, minutes=1)
    assert refusal_sweep(JobContext(settings=settings, engine=engine, now=utcnow(),
                                    services=worker.services)) == 0
    assert refusal_sweep(JobContext(settings=settings, engine=engine, now=later,
                                    services=worker.services)) == 1
    worker.writes.run_once(later)  # the worker's sender posts what the sweep queued
    with engine.connect() as conn:
        assert status.for_ticket(conn, first.id)["state"] == "verified"
        assert status.for_ticket(conn, second.id)["state"] == "refused"
        assert len(notifications(conn, "verification_refused")) == 1
    assert second.status == "Closed"
    refusal = sim.state.conversation(second)[0][-1].message
    assert "từ chối" in refusal

    logs = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    dump = dump_database(engine)
    assert "verification_attempts" in dump and "events" in dump  # the dump is real
    for secret in secrets:
        assert secret not in logs, f"secret found in logs: {secret[:3]}…"
        assert secret not in dump, f"secret found in the database: {secret[:3]}…"
    assert not re.search(r"\b4111\s?1111", dump)
    engine.dispose()
