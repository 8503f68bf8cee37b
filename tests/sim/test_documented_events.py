"""The simulator fires AfterModuleChangePassword (API ModuleChangePw), TicketSplit (a split in
the ticket page) and a new client's ClientDetailsValidation (the sign-up page) with the vars
WHMCS documents, and the real bridge takes them: 202 with no password stored, the gate
allows the new client (issue 12.15, the hook part)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, request
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.conftest import TEST_SECRET
from tests.sim.conftest import sim_config
from tests.sim.helpers import raw
from tests.verification.helpers import vsettings
from whmcs_bridge.context import Services
from whmcs_bridge.runtime import build_app, build_registry
from whmcs_bridge.signing import verify
from whmcs_bridge.sim import SimHandle, run_in_thread
from whmcs_bridge.sim.hook_vars import DOCUMENTED, top_level
from whmcs_bridge.sim.ui import SIGNUP_ACTOR, UiError, sign_up, split_ticket
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.tables import audit_log, events
from whmcs_bridge.worker import Worker


def documented_names(hook: str) -> set[str]:
    return {top_level(name) for name in DOCUMENTED[hook].documented}


class FakeBridge:
    """Records signed events and gate requests; answers gates with ``gate_answer``."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.gates: list[dict[str, Any]] = []
        self.gate_answer: dict[str, Any] = {"allow": True}
        app = Flask("fake-bridge")

        @app.post("/webhooks/whmcs")
        def receive() -> Any:
            verify([TEST_SECRET], request.headers, request.get_data())
            self.events.append(json.loads(request.get_data()))
            return "", 202

        @app.post("/gates/<hook>")
        def gate(hook: str) -> Any:
            verify([TEST_SECRET], request.headers, request.get_data())
            self.gates.append({"hook": hook, **json.loads(request.get_data())})
            return self.gate_answer, 200

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def fake() -> Iterator[tuple[FakeBridge, SimHandle]]:
    bridge = FakeBridge()
    handle = run_in_thread(sim_config(bridge_url=bridge.url, webhook_secret=TEST_SECRET))
    yield bridge, handle
    handle.stop()
    bridge.stop()


def test_module_change_pw_fires_after_module_change_password_with_its_documented_vars(
        fake: tuple[FakeBridge, SimHandle]) -> None:
    bridge, sim = fake
    service = next(iter(sim.state.services.values()))
    old = service.password
    answer = raw(sim, "ModuleChangePw", serviceid=str(service.id), servicepassword="n3w-pass")
    assert answer.json() == {"result": "success"}
    assert service.password == "n3w-pass"
    assert raw(sim, "ModuleChangePw", serviceid=str(service.id)).json()["result"] == "success"
    assert sim.flush_events()
    assert [e["type"] for e in bridge.events] == ["AfterModuleChangePassword"] * 2
    assert bridge.events[0]["data"] == {"serviceid": service.id, "oldpassword": old,
                                        "newpassword": "n3w-pass"}
    # without servicepassword the stored password is pushed again
    assert bridge.events[1]["data"] == {"serviceid": service.id, "oldpassword": "n3w-pass",
                                        "newpassword": "n3w-pass"}
    assert set(bridge.events[0]["data"]) == documented_names("AfterModuleChangePassword")


@pytest.mark.parametrize(("params", "message"), [
    ({}, "Service ID is required"), ({"serviceid": "999999"}, "Service ID not found")])
def test_module_change_pw_errors_are_whmcs_texts(fake: tuple[FakeBridge, SimHandle],
                                                 params: dict[str, str], message: str) -> None:
    bridge, sim = fake
    assert raw(sim, "ModuleChangePw", **params).json() == {"result": "error",
                                                           "message": message}
    assert sim.flush_events() and bridge.events == []


def test_a_split_moves_the_replies_and_fires_ticket_split(
        fake: tuple[FakeBridge, SimHandle]) -> None:
    bridge, sim = fake
    client = sim.client(retries=0)
    opened = client.open_ticket(1, "Two problems", "Mail and DNS", clientid=1)
    client.add_ticket_reply(opened.id, "Mail fails", clientid=1)
    client.add_ticket_reply(opened.id, "DNS too", clientid=1)
    replies = sim.state.tickets[opened.id].replies
    moved = [r.replyid for r in replies if r.message in ("Mail fails", "DNS too")]
    answer = requests.post(f"{sim.url}/_sim/ui/split", timeout=10,
                           json={"ticketid": opened.id, "replyids": moved,
                                 "subject": "Mail problem"})
    assert answer.status_code == 201, answer.text
    new_id = answer.json()["ticketid"]
    assert sim.flush_events()
    split = [e for e in bridge.events if e["type"] == "TicketSplit"]
    assert [e["data"] for e in split] == [{"originalTicketId": opened.id,
                                           "newTicketID": new_id}]
    assert set(split[0]["data"]) == documented_names("TicketSplit")
    new = client.get_ticket(new_id)
    assert new.subject == "Mail problem"
    assert [r.message for r in new.replies] == ["Mail fails", "DNS too"]
    assert [r.message for r in client.get_ticket(opened.id).replies] == ["Mail and DNS"]


def test_split_refuses_the_opening_message_and_unknown_replies(
        fake: tuple[FakeBridge, SimHandle]) -> None:
    _, sim = fake
    with pytest.raises(UiError) as info:
        split_ticket(sim.state, 1, [0])
    assert info.value.field == "replyids"
    answer = requests.post(f"{sim.url}/_sim/ui/split", json={"ticketid": 1, "replyids": "x"},
                           timeout=10)
    assert answer.status_code == 400 and "replyids" in answer.json()["errors"]
    answer = requests.post(f"{sim.url}/_sim/ui/split", json={"ticketid": 10**9,
                                                             "replyids": [1]}, timeout=10)
    assert answer.status_code == 400 and "ticketid" in answer.json()["errors"]


def test_sign_up_asks_client_details_validation_without_a_client_id_then_adds_the_client(
        fake: tuple[FakeBridge, SimHandle]) -> None:
    bridge, sim = fake
    answer = requests.post(f"{sim.url}/_sim/ui/signup", timeout=10,
                           json={"firstname": "Chi", "lastname": "Le",
                                 "email": "chi@example.test", "city": "Da Nang"})
    assert answer.status_code == 201, answer.text
    client_id = answer.json()["client_id"]
    assert [g["hook"] for g in bridge.gates] == ["ClientDetailsValidation"]
    gate = bridge.gates[0]
    assert set(gate["data"]) == documented_names("ClientDetailsValidation")
    assert not {"userid", "client_id", "clientid", "clientId"} & set(gate["data"])
    assert gate["data"]["city"] == "Da Nang" and gate["actor"] == SIGNUP_ACTOR
    assert sim.flush_events()
    added = [e["data"] for e in bridge.events if e["type"] == "ClientAdd"]
    assert len(added) == 1 and set(added[0]) == documented_names("ClientAdd")
    assert added[0]["client_id"] == client_id and added[0]["email"] == "chi@example.test"
    found = sim.client(retries=0).get_client(client_id)
    assert found.email == "chi@example.test"


def test_a_refused_sign_up_adds_nobody_and_says_why(fake: tuple[FakeBridge, SimHandle]) -> None:
    bridge, sim = fake
    bridge.gate_answer = {"allow": False, "reason": "x", "message": "Please call us first"}
    before = len(sim.state.clients)
    outcome = sign_up(sim.state, "Dung", "Pham", "dung@example.test")
    assert outcome.client is None and outcome.errors == ["Please call us first"]
    assert len(sim.state.clients) == before
    answer = requests.post(f"{sim.url}/_sim/ui/signup", json={"firstname": "Dung"}, timeout=10)
    assert answer.status_code == 400


def test_a_sign_up_with_no_bridge_answer_still_adds_the_client() -> None:
    with run_in_thread(sim_config(bridge_url="http://127.0.0.1:9",
                                  webhook_secret=TEST_SECRET)) as sim:
        outcome = sign_up(sim.state, "Em", "Vo", "em@example.test")
        assert outcome.client is not None
        assert sim.state.posted_events[0]["gate"] is True
        assert sim.state.posted_events[0]["error"] == "ConnectionError"


# --- against the real bridge ------------------------------------------------------------


@pytest.fixture
def stack(sqlite_url: str) -> Iterator[dict[str, Any]]:
    settings = vsettings(sqlite_url)
    engine = make_engine(sqlite_url)
    server = make_server("127.0.0.1", 0, build_app(settings, engine=engine), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sim = run_in_thread(sim_config(bridge_url=f"http://127.0.0.1:{server.server_port}",
                                   webhook_secret=TEST_SECRET))
    worker = Worker(settings, engine, build_registry(settings),
                    services=Services(settings, whmcs=sim.client(retries=0)),
                    run_jobs=False)
    yield {"sim": sim, "engine": engine, "worker": worker}
    sim.stop()
    server.shutdown()
    thread.join(timeout=5)
    engine.dispose()


def test_the_bridge_takes_what_the_simulator_fires(stack: dict[str, Any]) -> None:
    sim, engine = stack["sim"], stack["engine"]
    service = next(iter(sim.state.services.values()))
    old = service.password
    assert raw(sim, "ModuleChangePw", serviceid=str(service.id),
               servicepassword="fresh-pass-1").json()["result"] == "success"
    replies = sim.state.conversation(sim.state.tickets[2])[0]
    new = split_ticket(sim.state, 2, [replies[-1].replyid])
    signed_up = sign_up(sim.state, "Giang", "Ho", "giang@example.test")
    assert signed_up.client is not None
    assert sim.flush_events()
    gate = [e for e in sim.state.posted_events if e.get("gate")]
    assert [(g["type"], g["status"]) for g in gate] == [("ClientDetailsValidation", 200)]
    posted = [(e["type"], e["status"]) for e in sim.state.posted_events if not e.get("gate")]
    assert posted == [("AfterModuleChangePassword", 202), ("TicketSplit", 202),
                      ("ClientAdd", 202)]
    stack["worker"].run(once=True)
    with engine.connect() as conn:
        rows = {r.type: r for r in conn.execute(select(events))}
        audit = {r.type: r for r in conn.execute(select(audit_log))}
    assert {t: r.status for t, r in rows.items()} == {
        "AfterModuleChangePassword": "done", "TicketSplit": "done", "ClientAdd": "done"}
    stored = json.dumps([r.payload for r in rows.values()], default=str)
    for secret in (old, "fresh-pass-1", signed_up.client.password, "sim-answer"):
        assert secret not in stored
    assert rows["TicketSplit"].payload["data"] == {"originalTicketId": 2,
                                                   "newTicketID": new.id}
    assert audit["AfterModuleChangePassword"].summary == \
        f"AfterModuleChangePassword service={service.id}"
