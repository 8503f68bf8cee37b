"""Client, billing and messaging actions of the simulator."""

from __future__ import annotations

import pytest
import requests

from tests.sim.helpers import raw
from whmcs_bridge.api import NotFoundError, WhmcsValidationError
from whmcs_bridge.sim.data import USER_ID_OFFSET, client_password, service_password


def test_clients_details_nested_and_top_level(sim):
    body = raw(sim, "GetClientsDetails", clientid=2, stats=1).json()
    assert body["client"]["id"] == 2 and body["id"] == 2 and body["client_id"] == 2
    assert body["email"] == body["client"]["email"]
    assert body["stats"]["productsnumtotal"] >= 1
    client = sim.client(retries=0)
    by_email = client.get_client(email=body["email"].upper())
    assert by_email.id == 2
    with pytest.raises(NotFoundError, match="Client Not Found"):
        client.get_client(9999)
    assert raw(sim, "GetClientsDetails").json()["message"] == \
        "Either clientid Or email Is Required"


def test_products_with_service_credentials(sim):
    client = sim.client(retries=0)
    page = client.get_clients_products(clientid=1)
    assert page.total == len(page.items) >= 1
    for product in page.items:
        assert product.clientid == 1
        assert product.password.reveal() == service_password(product.id)
    only = client.get_clients_products(serviceid=page.items[0].id)
    assert [p.id for p in only.items] == [page.items[0].id]
    body = raw(sim, "GetClientsProducts", clientid=1).json()
    assert body["products"]["product"][0]["customfields"] == {"customfield": []}
    assert isinstance(body["totalresults"], str)


def test_iter_clients_products_pages(sim):
    everything = list(sim.client(retries=0).iter_clients_products(page_size=5))
    assert len(everything) == len(sim.state.services)
    assert len({p.id for p in everything}) == len(everything)


def test_contacts_users_and_domains_as_documented(fresh_sim):
    """GetContacts (``contacts.contact``), GetUsers (a plain ``users`` list whose ``clients``
    carry ``isOwner``; ``search`` matches the start of an address) and GetClientsDomains
    (``domains.domain``), read through the client as the owner lookup reads them."""
    state, client = fresh_sim.state, fresh_sim.client(retries=0)
    state.add_contact(2, "billing@two.example.test")
    state.add_user("helper@team.example.test", [1, 3])
    state.add_domain(3, "three.example.vn")
    body = raw(fresh_sim, "GetContacts", email="Billing@Two.example.test").json()
    assert body["totalresults"] == 1 and body["contacts"]["contact"][0]["userid"] == 2
    assert [c.userid for c in client.get_contacts(email="billing@two.example.test").items] \
        == [2]
    assert client.get_contacts(email="nobody@example.test").items == []
    users = raw(fresh_sim, "GetUsers", search="helper@").json()["users"]
    assert users[0]["clients"] == [{"id": 1, "isOwner": False}, {"id": 3, "isOwner": False}]
    owner = client.get_users(search=state.clients[2].email).items
    assert [(u.id, u.client_ids) for u in owner] == [(USER_ID_OFFSET + 2, [2])]
    assert raw(fresh_sim, "GetUsers", search=state.clients[2].email).json()["users"][0][
        "clients"] == [{"id": 2, "isOwner": True}]
    body = raw(fresh_sim, "GetClientsDomains", domain="three.example.vn").json()
    assert body["domains"]["domain"][0]["domainname"] == "three.example.vn"
    assert isinstance(body["totalresults"], str)
    assert [d.userid for d in client.get_clients_domains(domain="three.example.vn").items] \
        == [3]
    assert client.get_clients_domains(clientid=1).items == []


def test_pay_methods(sim):
    client = sim.client(retries=0)
    methods = client.get_pay_methods(1)
    assert methods[0].type in ("CreditCard", "RemoteCreditCard")
    assert methods[0].card_last_four.isdigit() and len(methods[0].card_last_four) == 4
    assert methods[0].last_updated is not None
    assert methods[0].card_last_four == sim.state.clients[1].paymethods[0].card_last_four
    assert isinstance(raw(sim, "GetPayMethods", clientid=1).json()["paymethods"], list)
    with pytest.raises(WhmcsValidationError, match="Client ID Is Required"):
        client.call("GetPayMethods")
    with pytest.raises(WhmcsValidationError, match="Invalid Pay Method Type"):
        client.get_pay_methods(1, type="Cash")
    with pytest.raises(NotFoundError):
        client.get_pay_methods(9999)
    cards = client.get_pay_methods(1, type="CreditCard")
    assert all("CreditCard" in m.type for m in cards)


def test_validate_login_and_its_side_effect(fresh_sim):
    client = fresh_sim.client(retries=0)
    person = fresh_sim.state.clients[4]
    assert person.lastlogin is None
    assert client.validate_login(person.email, "wrong") is None
    assert person.lastlogin is None
    result = client.validate_login(person.email, client_password(4))
    assert result.userid == USER_ID_OFFSET + 4
    assert person.lastlogin is not None
    assert [x["success"] for x in fresh_sim.state.logins] == [False, True]
    assert fresh_sim.state.calls["ValidateLogin"] == 2


def test_invoices_and_transactions(sim):
    client = sim.client(retries=0)
    invoices = client.get_invoices(userid=1)
    assert invoices.items and all(i.userid == 1 for i in invoices.items)
    paid = client.get_invoices(status="Paid", orderby="total", order="desc").items
    assert paid and all(i.status == "Paid" and i.datepaid for i in paid)
    assert [i.total for i in paid] == sorted((i.total for i in paid), reverse=True)
    unpaid = client.get_invoices(status="Unpaid").items
    assert all(i.datepaid is None for i in unpaid)
    assert len(list(client.iter_invoices(page_size=7))) == sum(
        len(c.invoices) for c in sim.state.clients.values())
    body = raw(sim, "GetInvoices", userid=1).json()
    assert isinstance(body["invoices"]["invoice"][0]["id"], int)
    tx = client.get_transactions(invoiceid=paid[0].id)
    assert [t.invoiceid for t in tx] == [paid[0].id] and tx[0].amountin == paid[0].total


def test_send_email_recorded_and_validated(fresh_sim):
    client = fresh_sim.client(retries=0)
    client.send_email("Support Ticket Reply", 1, customvars={"sla_minutes": "30"})
    client.send_email(customtype="general", related_id=2, customsubject="Hi",
                      custommessage="<p>Body</p>")
    emails = fresh_sim.state.sent_emails
    assert emails[0]["messagename"] == "Support Ticket Reply" and emails[0]["id"] == 1
    assert emails[0]["customvars"] == {"sla_minutes": "30"}
    assert emails[0]["to"] == fresh_sim.state.tickets[1].email
    assert emails[1]["to"] == fresh_sim.state.clients[2].email
    cases = [
        ({}, "You must provide either an existing email template name or a custom message "
             "type"),
        ({"customtype": "weird", "id": 1}, "Invalid message type provided"),
        ({"customtype": "general", "id": 1, "custommessage": "m"},
         "A subject is required for a custom message"),
        ({"customtype": "general", "id": 1, "customsubject": "s"},
         "A message body is required for a custom message"),
        ({"messagename": "Support Ticket Reply"}, "A related ID is required"),
        ({"messagename": "No Such Template", "id": 1}, "Email Template not found"),
        ({"messagename": "Support Ticket Reply", "id": 99999},
         "Sending Failed. Please see documentation."),
        ({"messagename": "Support Ticket Reply", "id": 1, "customvars": "!!"},
         "The custom variables you provided are invalid."),
    ]
    for params, message in cases:
        body = raw(fresh_sim, "SendEmail", **params).json()
        assert body == {"result": "error", "message": message}, params
    assert len(emails) == 2


def test_admin_email_and_notification_events(fresh_sim):
    client = fresh_sim.client(retries=0)
    client.send_admin_email(customsubject="SLA breached", custommessage="Ticket X",
                            type="support", deptid=1, mergefields={"ticket": "X"})
    client.trigger_notification_event(
        "whmcs-bridge.sla_breached", "SLA breached", "Ticket X", status_style="danger",
        attributes=[{"label": "Ticket", "value": "X"}, {"label": "Level", "value": "urgent"}])
    assert fresh_sim.state.admin_emails[0]["mergefields"] == {"ticket": "X"}
    assert fresh_sim.state.admin_emails[0]["deptid"] == 1
    note = fresh_sim.state.notifications[0]
    assert note["statusStyle"] == "danger"
    assert note["attributes"] == [{"label": "Ticket", "value": "X"},
                                  {"label": "Level", "value": "urgent"}]
    with pytest.raises(WhmcsValidationError, match="require a title"):
        client.call("TriggerNotificationEvent", notification_identifier="x", message="m")
    with pytest.raises(NotFoundError):
        client.send_admin_email("Nope Template")
    listing = requests.get(fresh_sim.url + "/_sim/emails", timeout=5).json()
    assert "test double" in listing["note"]
    assert listing["admin_emails"][0]["subject"] == "SLA breached"
    assert listing["notifications"][0]["title"] == "SLA breached"


def test_validate_login_session_cookie_is_not_replayed(fresh_sim):
    client = fresh_sim.client(retries=0)
    person = fresh_sim.state.clients[2]
    response = raw(fresh_sim, "ValidateLogin", email=person.email,
                   password2=client_password(2))
    assert "WHMCSsimSession" in response.headers.get("Set-Cookie", "")
    assert client.validate_login(person.email, client_password(2)) is not None
    assert client.validate_login(person.email, client_password(2)) is not None
    client.add_ticket_note(1, "after a login")
    client.get_admin_details()
    assert fresh_sim.state.calls["_with_cookie"] == 0
