"""One client suite, two backends: the documented example payloads (``responses``) and the
simulator over real HTTP. The invariants are what the bridge relies on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from tests.api.conftest import URL, by_action
from whmcs_bridge.api import (
    AdminDetails,
    LoginResult,
    OpenedTicket,
    Ticket,
    WhmcsClient,
)
from whmcs_bridge.settings import Secret
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.sim.data import client_password


@dataclass
class Backend:
    name: str
    client: WhmcsClient
    ticket_id: int
    client_id: int
    client_email: str
    password: str


@pytest.fixture(scope="module")
def _sim():
    handle = run_in_thread(SimConfig(seed=3, clients=8, tickets=60, timezone="Asia/Ho_Chi_Minh",
                                     anchor=datetime(2025, 1, 10, 8, 0, tzinfo=UTC)))
    yield handle
    handle.stop()


@pytest.fixture(params=["documented", "sim"])
def backend(request, _sim) -> Iterator[Backend]:
    if request.param == "documented":
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            by_action(rsps)
            client = WhmcsClient(URL, "ident", "secret", timezone="Asia/Ho_Chi_Minh",
                                 retries=0)
            yield Backend("documented", client, 7, 3, "lan@example.test", "any")
        return
    client = _sim.client(retries=0)
    ticket = next(t for t in _sim.state.tickets.values() if t.userid)
    owner = _sim.state.clients[ticket.userid]
    yield Backend("sim", client, ticket.id, owner.id, owner.email, client_password(owner.id))
    client.close()


def _aware(value: datetime | None) -> bool:
    return value is None or value.tzinfo is not None


def test_ticket_listing(backend):
    page = backend.client.get_tickets(limitnum=10)
    assert isinstance(page.total, int) and page.total >= len(page.items) > 0
    for ticket in page.items:
        assert isinstance(ticket, Ticket) and isinstance(ticket.id, int)
        assert isinstance(ticket.tid, str) and ticket.tid
        assert isinstance(ticket.userid, int) and isinstance(ticket.flag, int)
        assert _aware(ticket.date) and _aware(ticket.lastreply)
        assert ticket.priority in ("Low", "Medium", "High")


def test_ticket_detail(backend):
    ticket = backend.client.get_ticket(backend.ticket_id)
    assert ticket.id == backend.ticket_id
    assert ticket.deptname
    opening = ticket.replies[0]
    assert opening.replyid == 0 and opening.date == ticket.date and opening.message
    for reply in ticket.replies[1:]:
        assert reply.replyid > 0
        if reply.is_staff:
            assert reply.requestor_type == "Operator" and reply.name == ""
    assert all(r.attachments == [] for r in ticket.replies)


def test_writes(backend):
    client = backend.client
    opened = client.open_ticket(1, "Contract test", "Hello", clientid=backend.client_id)
    assert isinstance(opened, OpenedTicket) and opened.id > 0 and opened.tid
    assert client.add_ticket_reply(opened.id, "Staff answer", adminusername="simadmin") is None
    assert client.add_ticket_note(opened.id, "note") is None
    assert client.update_ticket(opened.id, priority="High") == opened.id or \
        backend.name == "documented"


def test_clients(backend):
    client = backend.client
    details = client.get_client(backend.client_id)
    assert details.id == backend.client_id and details.email == backend.client_email
    products = client.get_clients_products(clientid=backend.client_id).items
    assert products
    for product in products:
        assert isinstance(product.password, Secret)
        assert product.password.reveal() not in repr(product)
        assert isinstance(product.recurringamount, Decimal)
    methods = client.get_pay_methods(backend.client_id)
    assert methods and all(isinstance(m.id, int) for m in methods)
    assert any(len(m.card_last_four) == 4 for m in methods)
    login = client.validate_login(backend.client_email, backend.password)
    assert isinstance(login, LoginResult) and login.userid > 0


def test_billing(backend):
    invoices = backend.client.get_invoices(userid=backend.client_id).items
    assert invoices and all(isinstance(i.total, Decimal) for i in invoices)
    assert all(_aware(i.datepaid) for i in invoices)
    transactions = backend.client.get_transactions(clientid=backend.client_id)
    assert all(isinstance(t.amountin, Decimal) for t in transactions)


def test_support_setup(backend):
    names = [d.name for d in backend.client.get_support_departments()]
    assert "Billing" in names and "Technical Support" in names
    assert "Open" in [s.title for s in backend.client.get_support_statuses()]


def test_messaging_and_probe(backend):
    client = backend.client
    assert client.send_email("Support Ticket Reply", backend.ticket_id) is None
    assert client.send_admin_email(customsubject="S", custommessage="M", type="support",
                                   deptid=1) is None
    assert client.trigger_notification_event("bridge.test", "Title", "Message") is None
    details = client.get_admin_details()
    assert isinstance(details, AdminDetails) and details.adminid >= 1
    assert all(isinstance(d, int) for d in details.departments)


def test_listed_tickets_agree_with_the_listing(backend):
    full = backend.client.get_tickets(limitnum=10)
    page = backend.client.get_listed_tickets(limitnum=10)
    assert page.total == full.total and len(page.items) == len(full.items) > 0
    for listed, ticket in zip(page.items, full.items, strict=True):
        assert (listed.id, listed.tid, listed.status, listed.priority, listed.deptid,
                listed.userid, listed.date, listed.lastreply) == (
            ticket.id, ticket.tid, ticket.status, ticket.priority, ticket.deptid,
            ticket.userid, ticket.date, ticket.lastreply)
        assert _aware(listed.date) and _aware(listed.lastreply)
