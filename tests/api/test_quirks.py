"""Every WHMCS response quirk from the reference, through the coercion layer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from whmcs_bridge.api import InvalidResponseError, schemas
from whmcs_bridge.api.schemas import TicketSchema, load, normalize_list, page_schema

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
TICKETS = page_schema("tickets", "ticket", TicketSchema)


def tickets(body):
    return load(TICKETS, {"result": "success", **body}, action="GetTickets", tz=HCM)


@pytest.mark.parametrize("empty", [
    {},  # wrapper key missing
    {"tickets": ""}, {"tickets": []}, {"tickets": {}}, {"tickets": None},
    {"tickets": {"ticket": []}}, {"tickets": {"ticket": ""}}, {"tickets": {"ticket": {}}},
    {"tickets": {"ticket": [[]]}},
])
def test_every_empty_list_shape_is_empty(empty):
    page = tickets({"totalresults": "0", "startnumber": 0, "numreturned": 0, **empty})
    assert page.items == [] and page.total == 0


def test_lone_object_is_a_one_item_list():
    page = tickets({"totalresults": 1, "tickets": {"ticket": {"id": "4", "tid": "A"}}})
    assert [t.id for t in page.items] == [4]


def test_php_array_with_gaps_arrives_as_object():
    page = tickets({"tickets": {"ticket": {"3": {"id": "9"}, "0": {"id": "8"}}}})
    assert [t.id for t in page.items] == [8, 9]


def test_mixed_counter_types_and_missing_counters():
    page = tickets({"totalresults": "12", "startnumber": 10, "numreturned": "2",
                    "tickets": {"ticket": [{"id": 1}, {"id": "2"}]}})
    assert (page.total, page.start, page.returned) == (12, 10, 2)
    page = tickets({"tickets": {"ticket": [{"id": 1}]}})
    assert (page.total, page.start, page.returned) == (1, 0, 1)


def test_ticketid_and_id_unified():
    a = load(TicketSchema, {"ticketid": "5"}, action="GetTicket", tz=UTC)
    b = load(TicketSchema, {"id": 5}, action="GetTickets", tz=UTC)
    assert a.id == b.id == 5


def test_dates_are_aware_in_the_whmcs_zone_and_zero_is_none():
    t = load(TicketSchema, {"id": "1", "date": "2024-02-03 04:05:06",
                            "lastreply": "0000-00-00 00:00:00"}, action="x", tz=HCM)
    assert t.date == datetime(2024, 2, 3, 4, 5, 6, tzinfo=HCM)
    assert t.date.utcoffset().total_seconds() == 7 * 3600
    assert t.lastreply is None


def test_date_fields():
    product = load(schemas.ProductSchema, {"id": "1", "regdate": "0000-00-00",
                                           "nextduedate": "2024-06-10 00:00:00"},
                   action="x", tz=UTC)
    assert product.regdate is None and product.nextduedate == date(2024, 6, 10)


def test_money_is_decimal():
    inv = load(schemas.InvoiceSchema, {"id": 1, "total": "1,234.50", "tax": 0.1,
                                       "subtotal": 12, "credit": ""}, action="x", tz=UTC)
    assert inv.total == Decimal("1234.50") and inv.tax == Decimal("0.1")
    assert inv.subtotal == Decimal(12) and inv.credit is None


def test_replies_reply0_is_opening_and_attachments_double_list():
    t = load(TicketSchema, {"ticketid": "1", "replies": {"reply": [
        {"replyid": "0", "attachments": [[]]},
        {"replyid": "3", "admin": "Staff", "attachments": [{"filename": "x", "index": "0"}]},
    ]}, "notes": {"note": {"noteid": "1"}}}, action="x", tz=UTC)
    assert t.opening.replyid == 0 and t.replies[0].attachments == []
    assert t.replies[1].attachments[0].index == 0 and t.replies[1].is_staff
    assert [n.noteid for n in t.notes] == [1]


def test_nul_in_text_becomes_a_replacement_character():
    """WHMCS (MySQL) keeps a NUL from piped mail; PostgreSQL text cannot hold one, so a
    synced subject with a NUL would fail that sync page on every run."""
    t = load(TicketSchema, {"id": "1", "subject": "Site\x00 down", "replies": {"reply": [
        {"replyid": "0", "message": "a\x00b"}]}}, action="GetTicket", tz=UTC)
    assert t.subject == "Site\ufffd down" and t.opening.message == "a\ufffdb"


def test_unknown_fields_are_kept():
    t = load(TicketSchema, {"id": "1", "brand_new_field": {"x": 1}}, action="x", tz=UTC)
    assert t.extra == {"brand_new_field": {"x": 1}}
    assert "brand_new_field" not in repr(t)


def test_unknown_secret_looking_fields_are_wrapped():
    c = load(schemas.ClientSchema, {"client": {"id": 1, "password": "pw"}}, action="x",
             tz=UTC)
    assert c.extra["password"].reveal() == "pw" and "pw" not in repr(c.extra)


def test_client_top_level_fallback():
    c = load(schemas.ClientSchema, {"result": "success", "userid": "4", "email": "a@b.c"},
             action="x", tz=UTC)
    assert c.id == 4 and c.email == "a@b.c"


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), ("true", True), ("1", True), (1, True), ("on", True),
    (False, False), ("false", False), ("0", False), (0, False), ("", False),
])
def test_booleans(value, expected):
    t = load(TicketSchema, {"id": 1, "attachments_removed": value}, action="x", tz=UTC)
    assert t.attachments_removed is expected


def test_null_is_the_empty_value_unless_required():
    t = load(TicketSchema, {"id": 1, "subject": None, "attachments_removed": None,
                            "flag": None, "lastreply": None, "replies": None}, action="x",
             tz=UTC)
    assert (t.subject, t.attachments_removed, t.flag, t.lastreply, t.replies) == (
        "", False, 0, None, [])
    admin = load(schemas.AdminDetailsSchema, {"adminid": 1, "departments": None},
                 action="x", tz=UTC)
    assert admin.departments == []
    with pytest.raises(InvalidResponseError, match="id"):
        load(TicketSchema, {"id": None}, action="x", tz=UTC)


def test_bad_values_name_the_field():
    with pytest.raises(InvalidResponseError, match=r"tickets.0.deptid"):
        tickets({"tickets": {"ticket": [{"id": "1", "deptid": "one"}]}})


def test_normalize_list_refuses_scalars():
    with pytest.raises(Exception) as info:
        normalize_list("abc")
    assert type(info.value).__name__ == "ValidationError"


def test_non_mapping_body():
    with pytest.raises(InvalidResponseError):
        load(TicketSchema, ["x"], action="x", tz=UTC)
