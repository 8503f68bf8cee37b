"""The simulator posts signed hook events for its changes, as the PHP module would."""

from __future__ import annotations

import base64
import json
import threading

import pytest
from flask import Flask, request
from standardwebhooks import Webhook
from werkzeug.serving import make_server

from tests.sim.conftest import sim_config
from whmcs_bridge.event_schemas import is_handled, load_event_data
from whmcs_bridge.signing import verify
from whmcs_bridge.sim import run_in_thread
from whmcs_bridge.sim.events import envelope
from whmcs_bridge.sim.hook_vars import DOCUMENTED, top_level

SECRET = "whsec_" + base64.b64encode(b"e" * 32).decode()


@pytest.fixture
def receiver():
    """A tiny bridge stand-in that verifies every request with our own verify()."""
    app = Flask("receiver")
    got: list[dict] = []

    @app.post("/webhooks/whmcs")
    def receive():
        body = request.get_data()
        msg_id = verify([SECRET], request.headers, body)
        Webhook(SECRET).verify(body, dict(request.headers))  # the reference library agrees
        got.append({"id": msg_id, "ua": request.headers.get("User-Agent"),
                    **json.loads(body)})
        return "", 202

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", got
    server.shutdown()
    thread.join()


def test_writes_post_signed_events(receiver):
    url, got = receiver
    with run_in_thread(sim_config(bridge_url=url, webhook_secret=SECRET)) as handle:
        client = handle.client(retries=0)
        opened = client.open_ticket(1, "Down", "Site down", clientid=1, priority="High")
        client.add_ticket_reply(opened.id, "Looking", adminusername="simadmin")
        client.add_ticket_reply(opened.id, "Thanks", clientid=1)
        client.add_ticket_note(opened.id, "note")
        client.update_ticket(opened.id, status="In Progress", priority="Low", deptid=2)
        client.get_ticket(opened.id)  # reads post nothing
        assert handle.flush_events()
        types = [e["type"] for e in got]
        assert types == ["TicketOpen", "TicketAdminReply", "TicketUserReply", "TicketAddNote",
                         "TicketDepartmentChange", "TicketPriorityChange",
                         "TicketStatusChange"]
        open_event = got[0]["data"]
        assert open_event["ticketid"] == opened.id and open_event["ticketmask"] == opened.tid
        assert open_event["deptname"] == "Technical Support"
        assert open_event["priority"] == "High" and open_event["message"] == "Site down"
        admin = got[1]["data"]
        assert admin["status"] == "Answered" and admin["admin"] and admin["replyid"] > 0
        assert got[2]["data"]["status"] == "Customer-Reply" and got[2]["data"]["userid"] == 1
        assert got[6]["data"] == {"adminid": 1, "status": "In Progress",
                                  "ticketid": opened.id}
        assert len({e["id"] for e in got}) == len(got)
        assert got[0]["ua"].startswith("whmcs-bridge-sim/")
        assert "T" in got[0]["timestamp"]
        assert [e["status"] for e in handle.state.posted_events] == [202] * 7
        client.update_ticket(opened.id, status="Closed")
        handle.flush_events()
        assert [e["type"] for e in got[7:]] == ["TicketStatusChange", "TicketClose"]
        for event in got:  # every event passes the receiver's own schema for its hook
            assert is_handled(event["type"])
            load_event_data(event["type"], event["data"])
            # ... and uses only the names the hook's page documents
            documented = {top_level(n) for n in DOCUMENTED[event["type"]].documented}
            assert set(event["data"]) <= documented, event


def test_admin_opened_ticket_fires_ticket_open_admin(receiver):
    url, got = receiver
    with run_in_thread(sim_config(bridge_url=url, webhook_secret=SECRET)) as handle:
        handle.client(retries=0).open_ticket(1, "S", "M", clientid=1, admin=True)
        handle.flush_events()
        assert [e["type"] for e in got] == ["TicketOpenAdmin"]


def test_unreachable_bridge_is_recorded_not_raised():
    with run_in_thread(sim_config(bridge_url="http://127.0.0.1:9",
                                  webhook_secret=SECRET)) as handle:
        handle.client(retries=0).add_ticket_note(1, "x")
        assert handle.flush_events()
        assert handle.state.posted_events[0]["error"] == "ConnectionError"


def test_envelope_shape():
    body = json.loads(envelope("TicketClose", {"ticketid": 1}))
    assert set(body) == {"type", "timestamp", "data"} and body["data"] == {"ticketid": 1}
