"""Typed methods against the documented example payloads (``responses``): what is sent, and
what comes back."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.api.conftest import ACCESS_KEY, API, IDENTIFIER, SECRET, answer, by_action, sent
from tests.api.payloads import payload
from whmcs_bridge.api import Attachment, InvalidResponseError, ListedTicket, WhmcsClient
from whmcs_bridge.api.encoding import decode_serialized
from whmcs_bridge.api.errors import WhmcsConnectionError
from whmcs_bridge.config import load_settings
from whmcs_bridge.settings import Secret

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_every_call_posts_form_with_credentials_and_json(mocked, client):
    answer(mocked, payload("GetAdminDetails"))
    client.call("GetAdminDetails")
    form = sent(mocked.calls[0])
    assert mocked.calls[0].request.method == "POST"
    assert mocked.calls[0].request.url == API
    assert mocked.calls[0].request.headers["Content-Type"] == \
        "application/x-www-form-urlencoded"
    assert form["action"] == "GetAdminDetails"
    assert form["identifier"] == IDENTIFIER
    assert form["secret"] == SECRET
    assert form["accesskey"] == ACCESS_KEY
    assert form["responsetype"] == "json"


def test_every_call_sends_the_clients_own_headers_and_utf8_form(mocked, client):
    # the request is prepared without the session's merge: the headers are the client's own
    answer(mocked, payload("AddTicketNote"))
    client.add_ticket_note(7, "Khách hàng đã xác minh & đồng ý")
    request = mocked.calls[0].request
    assert request.headers["User-Agent"] == "whmcs-bridge-api-client/1"
    assert request.headers["Accept"] == "application/json"
    assert "Cookie" not in request.headers and "Authorization" not in request.headers
    assert int(request.headers["Content-Length"]) == len(request.body.encode())
    assert sent(mocked.calls[0])["message"] == "Khách hàng đã xác minh & đồng ý"


@pytest.mark.parametrize("url", ["https://whmcs.test", "https://whmcs.test/",
                                 "https://whmcs.test/includes/api.php"])
def test_url_may_be_root_or_endpoint(url):
    assert WhmcsClient(url, "i", "s").url == API


@pytest.mark.parametrize("url", ["billing.example.com", "https://bill ing.example.com"])
def test_a_malformed_url_is_a_connection_error_naming_it(url):
    # requests refuses these while preparing the request, before any connection
    with pytest.raises(WhmcsConnectionError) as caught:
        WhmcsClient(url, "i", "s", retries=0).call("GetAdminDetails")
    assert "example.com" in str(caught.value) and caught.value.action == "GetAdminDetails"


def test_get_tickets_page(mocked, client):
    by_action(mocked)
    page = client.get_tickets(limitstart=0, limitnum=2, status="Open", deptid=1)
    form = sent(mocked.calls[0])
    assert form["limitnum"] == "2" and form["status"] == "Open" and form["deptid"] == "1"
    assert form["ignore_dept_assignments"] == "1"
    assert "clientid" not in form  # None values are left out
    assert (page.total, page.start, page.returned) == (2, 0, 2)
    first, second = page.items
    assert first.id == 7 and isinstance(first.id, int)
    assert first.tid == "ABC-123456"
    assert first.userid == 3 and second.userid == 0
    assert first.date == datetime(2024, 5, 1, 10, 0, tzinfo=HCM)
    assert first.attachments[0].filename == "shot.png" and first.attachments[0].index == 0
    assert second.attachments == []
    assert first.deptname is None and first.replies == []


def test_listed_tickets_are_the_rows_as_far_as_the_sync_compares(mocked, client):
    by_action(mocked)
    full = client.get_tickets(limitstart=0, limitnum=2)
    page = client.get_listed_tickets(limitstart=0, limitnum=2)
    form = sent(mocked.calls[1])
    assert form["action"] == "GetTickets" and form["limitnum"] == "2"
    assert form["ignore_dept_assignments"] == "1"  # every department, as the sync needs
    assert (page.total, page.start, page.returned) == (2, 0, 2)
    for listed, ticket in zip(page.items, full.items, strict=True):
        assert type(listed) is ListedTicket
        # the same values get_tickets loads, for every field ListedTicket names
        for f in dataclasses.fields(ListedTicket):
            assert getattr(listed, f.name) == getattr(ticket, f.name), f.name
    assert page.items[0].date == datetime(2024, 5, 1, 10, 0, tzinfo=HCM)
    assert page.items[1].userid == 0


def test_a_listed_row_with_a_bad_field_is_an_error_naming_it(mocked, client):
    bad = payload("GetTickets")
    bad["tickets"]["ticket"][0]["lastreply"] = "yesterday"
    answer(mocked, bad)
    with pytest.raises(InvalidResponseError) as caught:
        client.get_listed_tickets()
    assert "lastreply" in str(caught.value)


def test_get_ticket_unifies_ticketid_and_reads_conversation(mocked, client):
    by_action(mocked)
    ticket = client.get_ticket(7)
    assert sent(mocked.calls[0])["ticketid"] == "7"
    assert sent(mocked.calls[0])["repliessort"] == "ASC"
    assert ticket.id == 7
    assert "ticketid" not in ticket.extra
    assert ticket.deptname == "Technical Support"
    opening = ticket.opening
    assert opening is ticket.replies[0] and opening.replyid == 0 and not opening.is_staff
    staff = ticket.replies[1]
    assert staff.is_staff and staff.admin == "Demo Admin" and staff.rating == 0
    assert staff.requestor_type == "Operator"
    assert opening.attachments == [] and staff.attachments == []
    assert ticket.notes[0].noteid == 5 and ticket.notes[0].admin == "Demo Admin"
    assert "\r\n" in opening.message


def test_get_ticket_by_public_number(mocked, client):
    by_action(mocked)
    client.get_ticket(tid="ABC-123456")
    form = sent(mocked.calls[0])
    assert form["ticketnum"] == "ABC-123456" and "ticketid" not in form


def test_open_ticket_encodes_customfields_and_attachments(mocked, client):
    by_action(mocked)
    opened = client.open_ticket(
        1, "Subject", "Body", clientid=3, priority="High", admin=True, noemail=False,
        customfields={"5": "value ắ"}, attachments=[Attachment("a.txt", b"hello")],
        created=datetime(2024, 5, 1, 3, 0, tzinfo=ZoneInfo("UTC")))
    form = sent(mocked.calls[0])
    assert opened.id == 9 and opened.tid == "QWE-777777" and opened.c == "Pp0Oo9Ii"
    assert form["admin"] == "1" and form["noemail"] == "0"
    assert decode_serialized(form["customfields"]) == {"5": "value ắ"}
    import base64
    import json
    files = json.loads(base64.b64decode(form["attachments"]))
    assert files == [{"name": "a.txt", "data": base64.b64encode(b"hello").decode()}]
    assert form["created"] == "2024-05-01 10:00:00"  # converted to the WHMCS zone


def test_add_ticket_reply_note_update(mocked, client):
    by_action(mocked)
    assert client.add_ticket_reply(7, "Hi", adminusername="bridge", status="In Progress") \
        is None
    assert client.add_ticket_note(7, "internal") is None
    assert client.update_ticket(7, priority="High", remove_flag=True) == 7
    assert client.update_ticket_reply(41, "edited") == 41
    reply, note, update, edit = (sent(c) for c in mocked.calls)
    assert reply["action"] == "AddTicketReply" and reply["adminusername"] == "bridge"
    assert reply["status"] == "In Progress"
    assert note["action"] == "AddTicketNote" and note["message"] == "internal"
    assert update["priority"] == "High" and update["removeFlag"] == "1"
    assert "status" not in update
    assert edit["replyid"] == "41"


def test_departments_and_statuses(mocked, client):
    by_action(mocked)
    departments = client.get_support_departments()
    statuses = client.get_support_statuses(deptid=1)
    assert [(d.id, d.name, d.awaitingreply, d.opentickets) for d in departments] == [
        (1, "Technical Support", 3, 9), (2, "Billing", 0, 1)]
    assert [(s.title, s.count) for s in statuses][:2] == [("Open", 4), ("Answered", 10)]
    assert sent(mocked.calls[1])["deptid"] == "1"


def test_get_client(mocked, client):
    by_action(mocked)
    c = client.get_client(email="lan@example.test", stats=True)
    form = sent(mocked.calls[0])
    assert form["email"] == "lan@example.test" and form["stats"] == "1"
    assert c.id == 3 and c.language == "vietnamese" and c.owner_user_id == 1003
    assert c.email_verified is False
    assert c.extra["stats"]["numtickets"] == 4
    assert c.extra["email_preferences"]["support"] == "1"


def test_products_hide_the_service_password(mocked, client):
    by_action(mocked)
    page = client.get_clients_products(clientid=3)
    product = page.items[0]
    assert product.id == 12 and product.username == "lanpham"
    assert isinstance(product.password, Secret)
    assert product.password.reveal() == "S3rv1ce-Pa55"
    assert "S3rv1ce-Pa55" not in repr(product) and "S3rv1ce-Pa55" not in repr(page)
    assert product.recurringamount == Decimal("12.50")
    assert product.nextduedate.isoformat() == "2024-06-10"
    assert product.extra["overidesuspenduntil"] == "0000-00-00"  # unknown fields kept raw


def test_pay_methods_bare_array_and_odd_dates(mocked, client):
    by_action(mocked)
    methods = client.get_pay_methods(3)
    assert [m.card_last_four for m in methods] == ["4242", ""]
    assert methods[0].last_updated == datetime(2024, 5, 1, 10, 0, tzinfo=HCM)
    assert methods[1].bank_name == "ACB"


def test_validate_login_success_and_invalid(mocked, client):
    by_action(mocked)
    result = client.validate_login("lan@example.test", "pw-123")
    assert result is not None and result.userid == 1003
    assert result.two_factor_enabled is False  # the string "false"
    assert "abcdefghij" not in repr(result)
    assert sent(mocked.calls[0])["password2"] == "pw-123"
    mocked.reset()
    answer(mocked, {"result": "error", "message": "Email or Password Invalid"})
    assert client.validate_login("lan@example.test", "wrong") is None


def test_invoices_and_transactions(mocked, client):
    by_action(mocked)
    invoices = client.get_invoices(userid=3, status="Unpaid")
    transactions = client.get_transactions(clientid=3)
    invoice = invoices.items[0]
    assert invoice.total == Decimal("13.75") and invoice.datepaid is None
    assert invoice.date.isoformat() == "2024-05-01"
    tx = transactions[0]
    assert tx.id == 55 and tx.invoiceid == 100 and tx.amountin == Decimal("13.75")
    assert tx.date == datetime(2024, 5, 2, 9, 0, tzinfo=HCM)


def test_messaging_encodings(mocked, client):
    by_action(mocked)
    client.send_email("Support Ticket Reply", 7, customvars={"sla": "30 min"})
    client.send_email(customtype="general", related_id=3, customsubject="S",
                      custommessage="<p>M</p>")
    client.send_admin_email(customsubject="S", custommessage="M", type="support", deptid=2,
                            mergefields={"ticket_id": 7, "level": "urgent"})
    client.trigger_notification_event(
        "whmcs-bridge.sla", "SLA at risk", "Ticket ABC", url="https://b.test/t/7",
        status="At risk", status_style="danger",
        attributes=[{"label": "Ticket", "value": "ABC", "url": "https://b.test"}])
    template, custom, admin, notif = (sent(c) for c in mocked.calls)
    assert template["messagename"] == "Support Ticket Reply" and template["id"] == "7"
    assert decode_serialized(template["customvars"]) == {"sla": "30 min"}
    assert custom["customtype"] == "general" and custom["id"] == "3"
    assert admin["mergefields[ticket_id]"] == "7" and admin["mergefields[level]"] == "urgent"
    assert notif["attributes[0][label]"] == "Ticket"
    assert notif["attributes[0][url]"] == "https://b.test"
    assert notif["statusStyle"] == "danger"


def test_admin_details(mocked, client):
    by_action(mocked)
    details = client.get_admin_details()
    assert details.adminid == 1 and details.departments == [1, 2]
    assert "API Access" in details.permissions
    assert details.whmcs_version == "8.13.1"


def test_warning_key_is_logged_not_raised(mocked, client, caplog):
    answer(mocked, {"result": "success", "warning": "Credit Card related parameters are now "
                    "deprecated", **payload("GetClientsDetails")})
    with caplog.at_level("WARNING", logger="whmcs_bridge.api"):
        assert client.get_client(3).id == 3
    assert any(getattr(r, "warning", "").startswith("Credit Card") for r in caplog.records)


def test_php_notice_before_json_is_tolerated(mocked, client):
    answer(mocked, "<br />\n<b>Notice</b>: Undefined index in x.php<br />\n"
           '{"result":"success","ticketid":"7"}', content_type="text/html")
    assert client.update_ticket(7, status="Open") == 7


def test_from_settings():
    settings = load_settings(data={"whmcs": {
        "url": "https://whmcs.test", "identifier": "i", "secret": "s", "admin_username": "a",
        "timezone": "Asia/Ho_Chi_Minh", "timeout": 4, "verify_tls": False}}, environ={})
    c = WhmcsClient.from_settings(settings)
    assert c.url == API and c.timeout == 4 and c.verify_tls is False
    assert str(c.tz) == "Asia/Ho_Chi_Minh"


def test_from_settings_requires_credentials():
    with pytest.raises(ValueError, match=r"whmcs\.url"):
        WhmcsClient.from_settings(load_settings(data={}, environ={}))


def test_generic_call_applies_special_encodings(mocked, client):
    by_action(mocked)
    client.call("AddTicketReply", ticketid=7, message="m", customfields={"3": "x"},
                attachments=[("f.txt", b"data")], noemail=True)
    client.call("UpdateTicket", ticketid=7, customfields="YTowOnt9")  # already encoded
    first, second = (sent(c) for c in mocked.calls)
    assert decode_serialized(first["customfields"]) == {"3": "x"}
    import base64
    import json
    assert json.loads(base64.b64decode(first["attachments"]))[0]["name"] == "f.txt"
    assert first["noemail"] == "1"
    assert second["customfields"] == "YTowOnt9"

