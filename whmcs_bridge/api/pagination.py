"""Walking WHMCS listings page by page (pure: the page fetcher is passed in).

WHMCS listings take ``limitstart``/``limitnum`` and answer with ``totalresults``. The walk
asks for the next page at ``start + len(items)`` until ``start >= totalresults``, so N results
at page size L cost exactly ⌈N/L⌉ requests (one for an empty listing). It stops early on a
page that does not advance — no items, or the same first item as the page before (a WHMCS
that ignores ``limitstart``) — so a lying counter can never make it loop forever. Only one
page is held at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from whmcs_bridge.api.models import Page

T = TypeVar("T")


def _identity(item: Any) -> Any:
    return getattr(item, "id", None)


def iterate_pages(fetch: Callable[[int, int], Page[T]], page_size: int,
                  *, start: int = 0, limit: int | None = None) -> Iterator[T]:
    """Yield the items of every page ``fetch(limitstart, limitnum)`` returns, in order.

    ``limit`` caps how many items are yielded (and so how many pages are fetched).
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    yielded = 0
    previous_first: Any = None
    while True:
        size = page_size if limit is None else min(page_size, limit - yielded)
        if size <= 0:
            return
        page = fetch(start, size)
        items, total = page.items, page.total
        del page  # hold one page at a time
        if not items:
            return
        first = _identity(items[0])
        if previous_first is not None and first is not None and first == previous_first:
            return  # WHMCS served the same page again: stop rather than loop
        previous_first = first
        yield from items
        yielded += len(items)
        start += len(items)
        items = []
        if start >= total:
            return
