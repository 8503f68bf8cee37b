"""Pagination: exactly ⌈N/L⌉ requests, stop on a page that does not advance."""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qsl

import pytest
import responses

from tests.api.conftest import API, sent
from whmcs_bridge.api.models import Page
from whmcs_bridge.api.pagination import iterate_pages


class Item:
    def __init__(self, id: int) -> None:
        self.id = id


def fake(n: int, *, lie_total: int | None = None, ignore_start: bool = False):
    calls: list[tuple[int, int]] = []

    def fetch(start: int, size: int) -> Page[Item]:
        calls.append((start, size))
        begin = 0 if ignore_start else start
        items = [Item(i) for i in range(begin, min(begin + size, n))]
        total = n if lie_total is None else lie_total
        return Page(items=items, total=total, start=start, returned=len(items))
    return fetch, calls


@pytest.mark.parametrize(("n", "size"), [(0, 25), (1, 25), (25, 25), (26, 25), (100, 7),
                                         (1000, 250), (999, 100)])
def test_exact_request_count(n, size):
    fetch, calls = fake(n)
    items = list(iterate_pages(fetch, size))
    assert [i.id for i in items] == list(range(n))
    assert len(calls) == max(1, math.ceil(n / size))


def test_stops_when_counter_lies_high():
    fetch, calls = fake(10, lie_total=1000)
    assert len(list(iterate_pages(fetch, 4))) == 10
    assert len(calls) == 4  # the 4th page is empty: no advance, stop


def test_stops_when_limitstart_is_ignored():
    fetch, calls = fake(10, ignore_start=True)
    assert [i.id for i in iterate_pages(fetch, 4)] == [0, 1, 2, 3]
    assert len(calls) == 2


def test_limit_caps_items_and_requests():
    fetch, calls = fake(100)
    assert len(list(iterate_pages(fetch, 30, limit=45))) == 45
    assert calls == [(0, 30), (30, 15)]


def test_is_lazy():
    fetch, calls = fake(100)
    iterator = iterate_pages(fetch, 10)
    assert calls == []
    next(iterator)
    assert len(calls) == 1


def test_bad_page_size():
    fetch, _ = fake(1)
    with pytest.raises(ValueError):
        list(iterate_pages(fetch, 0))


def test_iter_tickets_over_http(mocked, client):
    total = 5

    def callback(request):
        form = dict(parse_qsl(request.body))
        start, size = int(form["limitstart"]), int(form["limitnum"])
        ids = range(start, min(start + size, total))
        body = {"result": "success", "totalresults": str(total), "startnumber": start,
                "numreturned": len(ids),
                "tickets": {"ticket": [{"id": str(i + 1), "tid": f"T{i}"} for i in ids]}}
        return 200, {}, json.dumps(body)

    mocked.add_callback(responses.POST, API, callback=callback)
    tickets = list(client.iter_tickets(page_size=2, status="Open"))
    assert [t.id for t in tickets] == [1, 2, 3, 4, 5]
    assert len(mocked.calls) == 3
    assert all(sent(c)["status"] == "Open" for c in mocked.calls)
    assert [sent(c)["limitstart"] for c in mocked.calls] == ["0", "2", "4"]
