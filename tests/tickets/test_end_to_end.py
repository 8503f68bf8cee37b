"""End to end through every room: the simulator posts signed hook events to the bridge's
receiver, the worker runs the handlers, and the staff API shows the result — the billing
hotline reply goes out as the bridge and does not count; a human staff reply meets the SLA."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.conftest import TEST_SECRET, TEST_TOKEN, make_settings
from whmcs_bridge.hooks.context import Services
from whmcs_bridge.runtime import build_app, build_registry
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.store import make_engine
from whmcs_bridge.tickets.tables import ticket_messages
from whmcs_bridge.worker import Worker

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}


@pytest.fixture
def stack(sqlite_url: str) -> Iterator[dict[str, Any]]:
    settings = make_settings(sqlite_url, whmcs={"admin_username": "simadmin"},
                             channels={"billing_department_ids": [2]})
    engine = make_engine(sqlite_url)
    app = build_app(settings, engine=engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sim = run_in_thread(SimConfig(tickets=3, clients=3, seed=5,
                                  bridge_url=f"http://127.0.0.1:{server.server_port}",
                                  webhook_secret=TEST_SECRET))
    api = sim.client(retries=0)
    worker = Worker(settings, engine, build_registry(settings),
                    services=Services(settings, whmcs=api), run_jobs=False)
    yield {"sim": sim, "api": api, "app": app, "engine": engine, "worker": worker}
    sim.stop()
    server.shutdown()
    thread.join(timeout=5)
    engine.dispose()


def settle(stack: dict[str, Any]) -> None:
    """Deliver every event the simulator queued, then process them all (twice: handlers'
    own WHMCS calls produce more events)."""
    for _ in range(3):
        assert stack["sim"].flush_events(10)
        stack["worker"].run(once=True)


def test_events_to_staff_api(stack: dict[str, Any]) -> None:
    sim, api = stack["sim"], stack["api"]
    client_id = next(iter(sim.state.clients))
    opened = api.open_ticket(2, "Hóa đơn tháng 3", "Tôi bị trừ tiền hai lần", clientid=client_id,
                             priority="High")
    settle(stack)
    web = stack["app"].test_client()
    body = web.get(f"/api/tickets/{opened.id}", headers=AUTH).get_json()
    assert (body["channel"], body["level"], body["sla"]["state"]) == ("client_area", "urgent",
                                                                      "on_track")
    # the hotline reply went out as the bridge and came back as an event: still no first reply
    replies = sim.state.tickets[opened.id].replies
    assert any("1900 6046" in r.message for r in replies)
    assert body["sla"]["first_response_at"] is None
    with stack["engine"].connect() as conn:
        kinds = sorted(conn.execute(select(ticket_messages.c.kind).where(
            ticket_messages.c.ticket_id == opened.id)).scalars())
    assert kinds == ["bridge", "customer"]
    # a person answers
    api.add_ticket_reply(opened.id, "Chúng tôi đã hoàn tiền.", adminusername="lan")
    settle(stack)
    body = web.get(f"/api/tickets/{opened.id}", headers=AUTH).get_json()
    assert body["sla"]["state"] == "met" and body["sla"]["first_response_at"] is not None
    panel = web.get(f"/api/tickets/{opened.id}/panel?lang=en", headers=AUTH)
    assert panel.status_code == 200 and "Met" in panel.get_data(as_text=True)
