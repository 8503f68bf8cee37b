"""``whmcs-bridge sync``: keep the store's tickets current from the WHMCS API.

Two phases, both resumable because their progress is committed as they go:

1. **Listing** — GetTickets over every department (``ignore_dept_assignments``), pages read
   with bounded concurrency. Each listed ticket whose ``lastreply``/status/priority/department
   differs from what the last GetTicket saw (every ticket on ``--full`` or on the first run) is
   marked ``sync_pending``. The checkpoint (``sync_state``) records the next page offset.
2. **Fetching** — every pending ticket is re-read with GetTicket by a thread pool of
   ``concurrency`` workers; results are written by the calling thread (one writer) and
   committed in small batches, clearing ``sync_pending``. A failed read leaves the ticket
   pending for the next run; a refused credential (an ``AuthenticationError``) stops the run
   at once instead, since every other read would be refused too.

The first run records the go-live time (:mod:`whmcs_bridge.tickets.golive`): thresholds
crossed before it get no escalation action.

A full run that listed everything in one go also marks stored tickets WHMCS no longer lists as
deleted (a deletion whose event was lost). An interrupted run resumes where it stopped (the
listing from its offset, the fetching from whatever is still pending), and re-running
converges: rows are keyed by WHMCS ids and messages by reply/note ids, so nothing is ever
duplicated.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from whmcs_bridge.tickets import golive
from whmcs_bridge.tickets.ingest import apply_fetched_batch, signature
from whmcs_bridge.tickets.tables import sync_state, tickets

log = logging.getLogger(__name__)
NAME = "tickets"
DEFAULT_CONCURRENCY = 4  # polite to a remote WHMCS; raise with --concurrency
PAGE_SIZE = 100
COMMIT_EVERY = 50


@dataclass
class SyncSummary:
    mode: str = "incremental"
    resumed: bool = False
    listed: int = 0
    fetched: int = 0
    changed: int = 0
    failed: int = 0
    deleted: int = 0
    duration: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["duration"] = round(self.duration, 3)
        out["errors"] = self.errors[:10]
        return out


Progress = Callable[[str, int, int | None], None]  # (phase, advanced by, total or None)


def _checkpoint(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(sync_state).where(sync_state.c.name == NAME)).first()
    return dict(row._mapping) if row else None


def _save(engine: Engine, **values: Any) -> None:
    with engine.begin() as conn:
        done = conn.execute(update(sync_state).where(sync_state.c.name == NAME)
                            .values(**values)).rowcount
        if not done:
            conn.execute(insert(sync_state).values(name=NAME, **values))


def _mark_deleted(engine: Engine, listed: set[int], now: datetime) -> int:
    """After a complete full listing: stored tickets WHMCS no longer lists are deleted."""
    with engine.begin() as conn:
        stored = set(conn.execute(select(tickets.c.id).where(tickets.c.deleted.is_(False)))
                     .scalars())
        gone = sorted(stored - listed)
        for i in range(0, len(gone), 500):
            conn.execute(update(tickets).where(tickets.c.id.in_(gone[i:i + 500]))
                         .values(deleted=True, sync_pending=False, updated_at=now))
    return len(gone)


def _mark_page(engine: Engine, items: list[Any], *, full: bool, now: datetime) -> int:
    """Mark the page's changed tickets pending (creating unknown ones); return how many."""
    by_id = {t.id: t for t in items}
    with engine.begin() as conn:
        known = dict(conn.execute(select(tickets.c.id, tickets.c.fetched_signature)
                                  .where(tickets.c.id.in_(list(by_id)))).all())
        new_rows = []
        stale = []
        for tid, t in by_id.items():
            if tid not in known:
                new_rows.append({
                    "id": tid, "tid": t.tid, "subject": t.subject,
                    "priority": t.priority or "Medium", "opened_priority": t.priority,
                    "status": t.status or "Open", "department_id": t.deptid,
                    "client_id": t.userid or None, "opened_at": t.date,
                    "last_reply_at": t.lastreply, "updated_at": now, "sync_pending": True})
            elif full or known[tid] != signature(t):
                stale.append(tid)
        if new_rows:
            conn.execute(insert(tickets), new_rows)
        if stale:
            conn.execute(update(tickets).where(tickets.c.id.in_(stale))
                         .values(sync_pending=True))
    return len(new_rows) + len(stale)


def _list(engine: Engine, client: Any, summary: SyncSummary, *, full: bool, start: int,
          concurrency: int, page_size: int, now: datetime, progress: Progress | None,
          listed: set[int]) -> None:
    """Read every page from ``start``; commit the offset as contiguous pages complete."""
    first = client.get_tickets(limitstart=start, limitnum=page_size,
                               ignore_dept_assignments=True)
    total = first.total
    _save(engine, total=total)
    pages: dict[int, Any] = {start: first}
    offsets = list(range(start + page_size, total, page_size))
    next_offset = start
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sync-list") as pool:
        futures: dict[Future, int] = {}
        it = iter(offsets)
        for off in it:
            futures[pool.submit(client.get_tickets, limitstart=off, limitnum=page_size,
                                ignore_dept_assignments=True)] = off
            if len(futures) >= concurrency * 2:
                break
        while True:
            while next_offset in pages:
                page = pages.pop(next_offset)
                summary.listed += len(page.items)
                listed.update(t.id for t in page.items)
                _mark_page(engine, page.items, full=full, now=now)
                next_offset += page_size if page.items else total
                _save(engine, next_offset=next_offset, updated_at=now)
                if progress:
                    progress("listing", len(page.items), total)
            if not futures:
                break
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for fut in done:
                off = futures.pop(fut)
                pages[off] = fut.result()  # a failed page aborts: the offset is kept
                nxt = next(it, None)
                if nxt is not None:
                    futures[pool.submit(client.get_tickets, limitstart=nxt,
                                        limitnum=page_size, ignore_dept_assignments=True)] = nxt


def _fetch(engine: Engine, client: Any, settings: Any, summary: SyncSummary, *,
           concurrency: int, now: datetime, progress: Progress | None) -> None:
    from whmcs_bridge.api.errors import AuthenticationError, NotFoundError

    with engine.connect() as conn:
        pending = list(conn.execute(select(tickets.c.id).where(tickets.c.sync_pending.is_(True))
                                    .order_by(tickets.c.id)).scalars())
    total = len(pending)
    if progress:
        progress("fetching", 0, total)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sync-fetch") as pool:
        futures: dict[Future, int] = {}
        it = iter(pending)

        def submit() -> None:
            tid = next(it, None)
            if tid is not None:
                futures[pool.submit(client.get_ticket, tid)] = tid

        for _ in range(concurrency * 4):
            submit()
        ready: list[Any] = []

        def flush() -> None:
            if not ready:
                return
            with engine.begin() as conn:
                before = dict(conn.execute(
                    select(tickets.c.id, tickets.c.fetched_signature)
                    .where(tickets.c.id.in_([t.id for t in ready]))).all())
                apply_fetched_batch(conn, ready, settings=settings, now=now)
            summary.fetched += len(ready)
            summary.changed += sum(before.get(t.id) != signature(t) for t in ready)
            n = len(ready)
            ready.clear()
            if progress:
                progress("fetching", n, total)

        while futures:
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for fut in done:
                tid = futures.pop(fut)
                submit()
                try:
                    ready.append(fut.result())
                except NotFoundError:
                    with engine.begin() as conn:
                        conn.execute(update(tickets).where(tickets.c.id == tid)
                                     .values(deleted=True, sync_pending=False))
                    summary.deleted += 1
                except AuthenticationError:
                    # WHMCS refused the credential: no other ticket can be read, and the
                    # client already refuses to try (each try would be one more failed
                    # login towards an IP ban). Keep what was read, leave the rest pending.
                    for other in futures:
                        other.cancel()
                    flush()
                    raise
                except Exception as exc:  # left pending for the next run
                    summary.failed += 1
                    summary.errors.append(f"ticket {tid}: {exc}")
                    log.warning("sync: GetTicket %s failed: %s", tid, exc)
            if len(ready) >= COMMIT_EVERY or not futures:
                flush()


def run_sync(engine: Engine, settings: Any, client: Any, *, full: bool = False,
             concurrency: int = DEFAULT_CONCURRENCY, page_size: int = PAGE_SIZE,
             now: datetime | None = None, progress: Progress | None = None) -> SyncSummary:
    """One sync run (resuming an interrupted one). Returns the summary."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    started = time.monotonic()
    now = now or datetime.now(UTC)
    cp = _checkpoint(engine)
    summary = SyncSummary()
    if cp and cp["phase"] in ("listing", "fetching"):
        summary.resumed = True
        full = full or cp["mode"] == "full"
        start = cp["next_offset"] if cp["phase"] == "listing" else None
    else:
        full = full or not (cp and cp.get("last_completed_at"))
        start = 0
        _save(engine, mode="full" if full else "incremental", phase="listing", next_offset=0,
              total=None, started_at=now, updated_at=now)
        with engine.begin() as conn:  # the first sync of this WHMCS is its go-live
            golive.record(conn, now, golive.BY_SYNC)
    summary.mode = "full" if full else "incremental"
    if start is not None:
        listed: set[int] = set()
        _list(engine, client, summary, full=full, start=start, concurrency=concurrency,
              page_size=page_size, now=now, progress=progress, listed=listed)
        if full and start == 0:  # saw the whole list in this run: absent means deleted
            summary.deleted += _mark_deleted(engine, listed, now)
        _save(engine, phase="fetching", updated_at=now)
    _fetch(engine, client, settings, summary, concurrency=concurrency, now=now,
           progress=progress)
    summary.duration = time.monotonic() - started
    done = {"phase": "done", "updated_at": now, "last_completed_at": now,
            "stats": summary.as_dict()}
    if full:
        done["last_full_at"] = now
    _save(engine, **done)
    return summary
