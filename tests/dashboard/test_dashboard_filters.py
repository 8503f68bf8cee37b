"""Pure parts of the open-tickets table at volume: query-string filters, search, paging,
department and billing marks, the absolute due time (issue 15, staff screens)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from whmcs_bridge.dashboard.data import (
    PER_PAGE,
    Filters,
    Problem,
    apply_filters,
    departments,
    local_time,
    matches_search,
    paginate,
    parse_filters,
    shape,
)

NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


def ticket(i: int, state: str = "on_track", remaining: int | None = 600, *,
           level: str = "normal", channel: str = "email", department: int | None = 1,
           subject: str | None = None) -> dict[str, Any]:
    return {"id": i, "tid": f"ABC-{i:04d}", "subject": subject or f"subject {i}",
            "level": level, "status": "Open", "channel": channel, "department_id": department,
            "sla": {"state": state, "remaining_seconds": remaining,
                    "first_response_due_at": "2026-01-05T03:10:00+00:00"},
            "verification": {"state": "not_required"}}


def rows(tickets: list[dict[str, Any]], billing: tuple[int, ...] = ()) -> list[Any]:
    return shape(tickets, now=NOW, admin_url=None, billing_department_ids=billing).open_tickets


# --------------------------------------------------------------------------- parse_filters

def test_valid_query_string_becomes_filters() -> None:
    f, problems = parse_filters({"department": "4", "level": "urgent", "sla": "breached",
                                 "channel": "chat", "q": "  web   down ", "page": "3"})
    assert problems == []
    assert f == Filters(department=4, level="urgent", sla="breached", channel="chat",
                        q="web down", page=3)
    assert f.active


def test_empty_query_string_is_no_filter_page_one() -> None:
    f, problems = parse_filters({})
    assert (f, problems) == (Filters(), [])
    assert not f.active
    assert parse_filters({"level": "", "page": " "}) == (Filters(), [])


def test_bad_values_are_ignored_and_named() -> None:
    f, problems = parse_filters({"department": "billing", "level": "critical", "sla": "late",
                                 "channel": "fax", "page": "-2"})
    assert f == Filters()
    assert problems == [Problem("level", "critical"), Problem("sla", "late"),
                        Problem("channel", "fax"), Problem("department", "billing"),
                        Problem("page", "-2")]


def test_ignored_values_are_named_short_and_printable() -> None:
    _, problems = parse_filters({"channel": "x" * 5000, "sla": "a\x00b\x1b[31m"})
    by_field = {p.field: p.value for p in problems}
    assert by_field["channel"] == "x" * 40 + "…"
    assert by_field["sla"] == "a\ufffdb\ufffd[31m"


def test_numbers_must_be_plain_positive_and_bounded() -> None:
    for raw in ("0", "1.5", "1e3", "٣", "9" * 10, "0x10"):
        f, problems = parse_filters({"page": raw})
        assert f.page == 1 and problems == [Problem("page", raw)], raw


def test_overlong_search_is_cut_and_said() -> None:
    f, problems = parse_filters({"q": "x" * 500})
    assert len(f.q) == 100
    assert [p.field for p in problems] == ["q"]


def test_query_round_trips_and_leaves_out_defaults() -> None:
    f = Filters(department=2, sla="at_risk", q="dns", page=1)
    assert f.query() == {"department": "2", "sla": "at_risk", "q": "dns"}
    assert f.query(page=4) == {"department": "2", "sla": "at_risk", "q": "dns", "page": "4"}
    assert parse_filters(f.query(page=4))[0] == Filters(department=2, sla="at_risk", q="dns",
                                                        page=4)


# --------------------------------------------------------------------------- search / filters

def test_search_by_ticket_number_id_or_subject_words() -> None:
    [row] = rows([ticket(42, subject="Website is DOWN since morning")])
    for q in ("ABC-0042", "#abc-0042", "42", "website down", "abc-00", ""):
        assert matches_search(row, q), q
    for q in ("43", "website up", "#ABC-0043"):
        assert not matches_search(row, q), q


def test_filters_combine_and_keep_the_urgency_order() -> None:
    data = rows([
        ticket(1, "on_track", 3000, level="urgent", channel="email", department=1),
        ticket(2, "breached", -600, level="urgent", channel="chat", department=2),
        ticket(3, "breached", -60, level="urgent", channel="email", department=1),
        ticket(4, "at_risk", 100, level="low", channel="email", department=1),
        ticket(5, "breached", -9000, level="normal", channel="email", department=1),
    ])
    assert [r.id for r in apply_filters(data, Filters())] == [5, 2, 3, 4, 1]
    assert [r.id for r in apply_filters(data, Filters(sla="breached"))] == [5, 2, 3]
    assert [r.id for r in apply_filters(data, Filters(level="urgent", department=1))] == [3, 1]
    assert [r.id for r in apply_filters(data, Filters(channel="chat"))] == [2]
    assert [r.id for r in apply_filters(data, Filters(sla="breached", q="subject 3"))] == [3]
    assert apply_filters(data, Filters(department=9)) == []
    assert departments(data) == [1, 2]


def test_billing_hotline_tickets_are_marked_by_department() -> None:
    data = rows([ticket(1, department=7), ticket(2, department=1), ticket(3, department=None)],
                billing=(7,))
    assert {r.id: r.billing for r in data} == {1: True, 2: False, 3: False}
    assert {r.id: r.department_id for r in data} == {1: 7, 2: 1, 3: None}


# --------------------------------------------------------------------------- paging

def test_pages_cover_every_row_once() -> None:
    data = rows([ticket(i, remaining=i) for i in range(1, 2 * PER_PAGE + 8)])
    seen = []
    first = paginate(data, 1)
    assert (first.number, first.pages, first.total, first.first, first.last) == (
        1, 3, 2 * PER_PAGE + 7, 1, PER_PAGE)
    for n in range(1, first.pages + 1):
        seen += [r.id for r in paginate(data, n).rows]
    assert seen == [r.id for r in data]
    last = paginate(data, 3)
    assert (len(last.rows), last.first, last.last) == (7, 2 * PER_PAGE + 1, 2 * PER_PAGE + 7)


def test_page_past_the_end_shows_the_last_page_and_empty_is_one_page() -> None:
    data = rows([ticket(i) for i in range(1, 6)])
    assert paginate(data, 99, per_page=2).number == 3
    assert [r.id for r in paginate(data, 99, per_page=2).rows] == [5]
    empty = paginate([], 4)
    assert (empty.rows, empty.number, empty.pages, empty.total, empty.first, empty.last) == (
        [], 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- due time

def test_due_time_is_local_with_the_zone() -> None:
    hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    assert local_time("2026-01-05T03:10:00+00:00", hcm) == "10:10 05/01/2026 +07"
    assert local_time("2026-01-05T03:10:00+00:00", UTC) == "03:10 05/01/2026 UTC"
    assert local_time(None, hcm) is None
