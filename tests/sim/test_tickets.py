"""Ticket actions: shapes, filters, and the state changes writes make."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.sim.conftest import ANCHOR
from tests.sim.helpers import raw
from whmcs_bridge.api import NotFoundError, WhmcsValidationError


def test_get_tickets_raw_shape(sim):
    body = raw(sim, "GetTickets", limitnum=3, ignore_dept_assignments=1).json()
    assert body["result"] == "success"
    assert body["totalresults"] == "120" and body["startnumber"] == 0
    assert body["numreturned"] == 3
    item = body["tickets"]["ticket"][0]
    assert isinstance(item["id"], str) and isinstance(item["deptid"], str)
    assert isinstance(item["flag"], str)
    assert "deptname" not in item
    assert len(item["date"]) == 19 and "T" not in item["date"]  # naive Y-m-d H:i:s


#: The item keys of GetTickets' example response (DD api-reference/gettickets.md). The
#: issue asked for ``ticketid``, ``deptname`` and ``contactid`` in list items: the page has
#: none of them (they are GetTicket's), so the simulator follows the page.
GET_TICKETS_ITEM_KEYS = {
    "id", "tid", "deptid", "userid", "name", "owner_name", "email", "requestor_name",
    "requestor_email", "requestor_type", "cc", "c", "date", "subject", "status", "priority",
    "admin", "attachment", "attachments", "attachments_removed", "lastreply", "flag",
    "service"}


def test_get_tickets_items_carry_exactly_the_documented_fields(sim):
    body = raw(sim, "GetTickets", limitnum=5, ignore_dept_assignments=1).json()
    for item in body["tickets"]["ticket"]:
        assert set(item) == GET_TICKETS_ITEM_KEYS


def test_an_empty_list_is_left_out(sim):
    """No documented example shows an empty GetTickets; GetToDoItems' example with no
    results has no list key at all, which is what the simulator sends by default."""
    body = raw(sim, "GetTickets", subject="no such subject anywhere").json()
    assert body["result"] == "success" and body["totalresults"] == "0"
    assert "tickets" not in body


def test_default_page_size_is_25(sim):
    body = raw(sim, "GetTickets", ignore_dept_assignments=1).json()
    assert body["numreturned"] == 25


def test_department_assignment_filter(sim):
    client = sim.client(retries=0)
    assigned = list(client.iter_tickets(ignore_dept_assignments=False))
    everything = list(client.iter_tickets())
    assert {t.deptid for t in assigned} <= {1, 2}
    assert {3, 4} & {t.deptid for t in everything}
    assert len(everything) == 120 > len(assigned)


def test_sorted_by_last_reply_desc(sim):
    tickets = list(sim.client(retries=0).iter_tickets(page_size=50))
    stamps = [t.lastreply for t in tickets]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize(("status", "allowed"), [
    ("Awaiting Reply", {"Open", "Customer-Reply"}),
    ("All Active Tickets", {"Open", "Answered", "Customer-Reply", "On Hold", "In Progress"}),
    ("Closed", {"Closed"}),
])
def test_status_filters(sim, status, allowed):
    tickets = list(sim.client(retries=0).iter_tickets(status=status))
    assert tickets and {t.status for t in tickets} <= allowed


def test_flagged_pseudo_status(sim):
    client = sim.client(retries=0)
    flagged = list(client.iter_tickets(status="My Flagged Tickets"))
    assert all(t.flag == 1 and t.status != "Closed" for t in flagged)


def test_origins_present(sim):
    tickets = list(sim.client(retries=0).iter_tickets())
    guest = [t for t in tickets if t.userid == 0]
    staff = [t for t in tickets if t.admin]
    client_area = [t for t in tickets if t.userid and not t.admin]
    assert guest and staff and client_area
    assert {t.requestor_type for t in guest} == {"Guest"}
    assert {t.requestor_type for t in client_area} == {"Owner"}
    assert {t.priority for t in tickets} == {"Low", "Medium", "High"}


def test_client_email_subject_filters(sim):
    client = sim.client(retries=0)
    guest = next(t for t in client.iter_tickets() if t.userid == 0)
    by_email = list(client.iter_tickets(email=guest.email))
    assert [t.id for t in by_email] == [guest.id]
    owner = next(t for t in client.iter_tickets() if t.userid)
    assert all(t.userid == owner.userid for t in client.iter_tickets(clientid=owner.userid))
    word = owner.subject.split()[-1].lower()
    assert all(word in t.subject.lower() for t in client.iter_tickets(subject=word))


def test_get_ticket_raw_shape(sim):
    ticket = next(iter(sim.state.tickets.values()))
    body = raw(sim, "GetTicket", ticketid=ticket.id).json()
    assert body["ticketid"] == str(ticket.id) and "id" not in body
    first = body["replies"]["reply"][0]
    assert first["replyid"] == "0" and first["date"] == body["date"]
    assert first["attachments"] == [[]] and "rating" not in first
    by_number = raw(sim, "GetTicket", ticketnum=ticket.tid).json()
    assert by_number["ticketid"] == str(ticket.id)


def test_replies_sort_desc(sim):
    ticket = next(t for t in sim.state.tickets.values()
                  if len(sim.state.conversation(t)[0]) > 2)
    client = sim.client(retries=0)
    asc = client.get_ticket(ticket.id)
    desc = client.get_ticket(ticket.id, replies_sort="DESC")
    assert [r.replyid for r in desc.replies] == [r.replyid for r in reversed(asc.replies)]


def test_ticket_not_found(sim):
    with pytest.raises(NotFoundError, match="Ticket ID Not Found"):
        sim.client(retries=0).get_ticket(999999)


def test_reply_status_transitions_and_lastreply(fresh_sim):
    client = fresh_sim.client(retries=0)
    opened = client.open_ticket(1, "Printer on fire", "Help", clientid=1, priority="Medium")
    ticket = client.get_ticket(opened.id)
    assert ticket.status == "Open" and ticket.priority == "Medium"
    assert ticket.requestor_type == "Owner" and ticket.userid == 1
    client.add_ticket_reply(opened.id, "On it", adminusername="simadmin")
    after_staff = client.get_ticket(opened.id)
    assert after_staff.status == "Answered"
    assert after_staff.replies[-1].is_staff and after_staff.replies[-1].name == ""
    client.add_ticket_reply(opened.id, "Thanks", clientid=1)
    after_client = client.get_ticket(opened.id)
    assert after_client.status == "Customer-Reply"
    assert after_client.lastreply >= after_staff.lastreply
    client.add_ticket_reply(opened.id, "Waiting", adminusername="simadmin", status="On Hold")
    assert client.get_ticket(opened.id).status == "On Hold"
    with pytest.raises(WhmcsValidationError, match="Invalid Ticket Status"):
        client.add_ticket_reply(opened.id, "x", adminusername="simadmin", status="Nope")


def test_open_ticket_validation(fresh_sim):
    client = fresh_sim.client(retries=0)
    cases = [
        (dict(deptid=99, subject="s", message="m", clientid=1), "Department ID not found"),
        (dict(deptid=1, subject="", message="m", clientid=1), "Subject is required"),
        (dict(deptid=1, subject="s", message="", clientid=1), "Message is required"),
        (dict(deptid=1, subject="s", message="m"),
         "Name and email address are required if not a client"),
        (dict(deptid=1, subject="s", message="m", clientid=9999), "Client ID Not Found"),
        (dict(deptid=1, subject="s", message="m", name="A", email="nope"),
         "Email Address Invalid"),
    ]
    for params, message in cases:
        with pytest.raises((WhmcsValidationError, NotFoundError)) as info:
            client.call("OpenTicket", **params)
        assert info.value.message == message
    future = fresh_sim.state.now() + timedelta(days=2)
    with pytest.raises(WhmcsValidationError, match="cannot be in the future"):
        client.open_ticket(1, "s", "m", clientid=1, created=future)


def test_open_ticket_without_a_valid_priority_is_low(fresh_sim):
    client = fresh_sim.client(retries=0)
    missing = client.get_ticket(client.open_ticket(1, "s", "m", clientid=1).id)
    invalid = client.get_ticket(client.open_ticket(1, "s", "m", clientid=1,
                                                   priority="Urgent").id)
    lower = client.get_ticket(client.open_ticket(1, "s", "m", clientid=1, priority="high").id)
    high = client.get_ticket(client.open_ticket(1, "s", "m", clientid=1, priority="High").id)
    assert (missing.priority, invalid.priority, lower.priority, high.priority) == (
        "Low", "Low", "Low", "High")


def test_add_ticket_reply_needs_an_author(fresh_sim):
    """WHMCS assumes no author: without clientid, adminusername or name + email it refuses
    (the bridge therefore always replies as ``whmcs.admin_username``)."""
    client = fresh_sim.client(retries=0)
    opened = client.open_ticket(1, "s", "m", clientid=1)
    for identity in ({}, {"name": "Jo"}, {"email": "jo@guest.test"}):
        with pytest.raises(WhmcsValidationError) as info:
            client.add_ticket_reply(opened.id, "who am I?", **identity)
        assert info.value.message == "Name and email address are required if not a client"
    assert len(client.get_ticket(opened.id).replies) == 1  # nothing was added
    client.add_ticket_reply(opened.id, "a guest", name="Jo", email="jo@guest.test")
    assert client.get_ticket(opened.id).replies[-1].requestor_type == "Guest"


def test_guest_ticket_and_admin_opened(fresh_sim):
    client = fresh_sim.client(retries=0)
    guest = client.get_ticket(client.open_ticket(2, "Q", "M", name="Jo",
                                                 email="jo@guest.test").id)
    assert guest.userid == 0 and guest.requestor_type == "Guest" and guest.admin == ""
    staff = client.get_ticket(client.open_ticket(1, "Q", "M", clientid=2, admin=True).id)
    assert staff.admin and staff.userid == 2


def test_update_ticket_validation_and_changes(fresh_sim):
    client = fresh_sim.client(retries=0)
    with pytest.raises(WhmcsValidationError) as info:
        client.update_ticket(1, priority="Urgent")
    assert info.value.message == "Invalid Ticket Priority. Valid priorities are: " \
        "Low,Medium,High"
    with pytest.raises(WhmcsValidationError) as info:
        client.update_ticket(1, status="Pending")
    assert info.value.message.startswith("Invalid Ticket Status. Valid statuses are: Open,")
    with pytest.raises(NotFoundError):
        client.update_ticket(1, deptid=77)
    with pytest.raises(NotFoundError):
        client.update_ticket(424242, status="Open")
    assert client.update_ticket(1, status="In Progress", priority="High", deptid=2,
                                subject="New subject") == 1
    ticket = client.get_ticket(1)
    assert (ticket.status, ticket.priority, ticket.deptid, ticket.subject) == (
        "In Progress", "High", 2, "New subject")
    assert ticket.deptname == "Billing"


def test_notes_and_reply_edits(fresh_sim):
    client = fresh_sim.client(retries=0)
    before = len(client.get_ticket(3).notes)
    client.add_ticket_note(3, "private")
    ticket = client.get_ticket(3)
    assert len(ticket.notes) == before + 1 and ticket.notes[-1].message == "private"
    client.add_ticket_note(tid=ticket.tid, message="by number")
    assert client.get_ticket(3).notes[-1].message == "by number"
    client.add_ticket_reply(3, "typo", adminusername="simadmin")
    reply = client.get_ticket(3).replies[-1]
    assert client.update_ticket_reply(reply.replyid, "fixed") == reply.replyid
    assert client.get_ticket(3).replies[-1].message == "fixed"
    with pytest.raises(NotFoundError, match="Reply ID Not Found"):
        client.update_ticket_reply(98765432, "x")
    with pytest.raises(NotFoundError):
        client.add_ticket_note(999999, "x")


def test_message_update_replaces_opening(fresh_sim):
    client = fresh_sim.client(retries=0)
    client.update_ticket(5, message="Rewritten opening")
    assert client.get_ticket(5).replies[0].message == "Rewritten opening"


def test_departments_and_statuses(sim):
    client = sim.client(retries=0)
    assigned = client.get_support_departments(ignore_dept_assignments=False)
    assert [d.name for d in assigned] == ["Technical Support", "Billing"]
    every = client.get_support_departments()
    assert len(every) == 4 and sum(d.opentickets for d in every) > 0
    body = raw(sim, "GetSupportDepartments").json()
    assert isinstance(body["totalresults"], int)
    assert isinstance(body["departments"]["department"][0]["opentickets"], str)
    statuses = client.get_support_statuses()
    assert [s.title for s in statuses][:3] == ["Open", "Answered", "Customer-Reply"]
    assert sum(s.count for s in statuses) == len(sim.state.tickets)
    by_dept = client.get_support_statuses(deptid=4)
    assert sum(s.count for s in by_dept) < sum(s.count for s in statuses)


def test_dates_are_in_the_sim_zone():
    from zoneinfo import ZoneInfo

    from tests.sim.conftest import sim_config
    from whmcs_bridge.sim import run_in_thread

    with run_in_thread(sim_config(timezone="Asia/Ho_Chi_Minh")) as handle:
        ticket = handle.state.tickets[1]
        body = raw(handle, "GetTicket", ticketid=1).json()
        local = ticket.date.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        assert body["date"] == local.strftime("%Y-%m-%d %H:%M:%S")
        seen = handle.client(retries=0, timezone="Asia/Ho_Chi_Minh").get_ticket(1)
        assert seen.date == ticket.date
        assert ticket.date <= ANCHOR
