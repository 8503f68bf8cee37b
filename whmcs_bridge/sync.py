"""``whmcs-bridge sync``: keep the store's tickets current from the WHMCS API (above the
tickets and verification rooms: a ticket's verification request follows its client).

Two phases, both resumable because their progress is committed as they go, and pipelined:
once the first page has given ``totalresults``, the other pages and the ticket reads share
one pool of ``concurrency`` workers (a ticket is read as soon as its page is written, not
after the whole listing).

1. **Listing** — GetTickets over every department (``ignore_dept_assignments``). Each listed
   ticket whose ``lastreply``/status/priority/department differs from what the last GetTicket
   saw (every ticket on ``--full`` or on the first run) is marked ``sync_pending`` and queued
   for reading. The checkpoint (``sync_state``) records the next page offset.
2. **Fetching** — every pending ticket is re-read with GetTicket. The pool's threads make
   only the round trips; the answers are loaded and written by the calling thread (one
   writer), so a worker holds a request slot for its round trip alone, and committed in
   small batches, clearing ``sync_pending``. A failed read or an answer whose shape does not
   load leaves the ticket pending for the next run; a refused credential (an
   ``AuthenticationError``) stops the run at once instead, since every other read would be
   refused too.

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
import queue
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select, update

from whmcs_bridge.tickets import golive
from whmcs_bridge.tickets.ingest import apply_fetched_batch, signature
from whmcs_bridge.tickets.tables import sync_state, tickets
from whmcs_bridge.verification.store import follow_ticket_clients

if TYPE_CHECKING:
    from whmcs_bridge.settings import Settings

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
        _save_in(conn, **values)


def _save_in(conn: Connection, **values: Any) -> None:
    done = conn.execute(update(sync_state).where(sync_state.c.name == NAME)
                        .values(**values)).rowcount
    if not done:
        conn.execute(insert(sync_state).values(name=NAME, **values))


def _mark_deleted(engine: Engine, listed: set[int], now: datetime) -> int:
    """After a complete full listing: stored tickets WHMCS no longer lists are deleted.

    The stored ids are streamed against ``listed``, not gathered into a second set of N ids
    beside it (the peak of a full sync's memory)."""
    with engine.begin() as conn:
        stored = conn.execute(select(tickets.c.id).where(tickets.c.deleted.is_(False))
                              .order_by(tickets.c.id).execution_options(yield_per=1000))
        gone = [tid for tid in stored.scalars() if tid not in listed]
        for i in range(0, len(gone), 500):
            conn.execute(update(tickets).where(tickets.c.id.in_(gone[i:i + 500]))
                         .values(deleted=True, sync_pending=False, updated_at=now))
    return len(gone)


def _mark_page(conn: Connection, items: list[Any], *, full: bool, now: datetime) -> list[int]:
    """Mark the page's changed tickets pending (creating unknown ones); return their ids."""
    by_id = {t.id: t for t in items}
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
    return [r["id"] for r in new_rows] + stale


PAGE, READ = "page", "read"


class _Pipeline:
    """The listing and the ticket reads of one run, in one pool of ``concurrency`` workers.

    The first page is read alone (it gives ``totalresults``); from then on every free worker
    takes the next list page if one is left, else the next pending ticket, so no worker waits
    for the listing to finish: the run costs about ``1 + (pages - 1 + reads) / concurrency``
    round trips. Results are written by the calling thread only (one writer): pages in offset
    order (the checkpoint is the offset of the first page not yet written), the pool topped
    up after each so that a page's tickets are read while the next is written, and reads in
    batches of ``COMMIT_EVERY``. Pages are listed as :class:`~whmcs_bridge.api.ListedTicket`
    rows (the fields compared, half the load time of full rows): the listing's CPU is what
    holds the first reads back. A failed page aborts the run with its offset kept; a failed
    read leaves its ticket pending for the next run.
    """

    def __init__(self, engine: Engine, client: Any, settings: Settings, summary: SyncSummary, *,
                 full: bool, concurrency: int, page_size: int, now: datetime,
                 progress: Progress | None) -> None:
        self.engine, self.client, self.settings, self.summary = engine, client, settings, summary
        self.full, self.concurrency, self.page_size = full, concurrency, page_size
        self.now, self.progress = now, progress
        self.offsets: deque[int] = deque()
        self.pages: dict[int, Any] = {}  # read, waiting for the pages before them
        self.next_offset = 0
        self.total: int | None = None
        self.listing = False
        # every listed id, for _mark_deleted: only kept by a full run listing from the start
        # (the only one that can tell what WHMCS no longer lists)
        self.listed: set[int] = set()
        self.track_listed = False
        self.reads: deque[int] = deque()
        # pending when the run started (an interrupted run): the pages do not queue them
        # again. No set of every queued id: memory must not follow N (a ticket the listing
        # shows twice, moved by a reply meanwhile, is read twice — harmless, reads converge)
        self.resumed: set[int] = set()
        self.queued = 0
        self.ready: list[Any] = []
        self.read_total: int | None = None  # known once the listing is complete
        self.read_done = 0
        self.start: int | None = None
        self.futures: dict[Future, tuple[str, int]] = {}  # in the pool: what each one is
        # each future puts itself here when done, and this thread takes what is there:
        # concurrent.futures.wait() instead locks every future in the pool and installs and
        # removes a waiter on each, at every wake-up (14 % of the time this process held the
        # GIL in a 2,000-ticket sync, by py-spy --gil; the sync's CPU fell from 1.08 to
        # 1.03 ms a request without it)
        self.finished: queue.SimpleQueue[Future] = queue.SimpleQueue()
        self.pool: ThreadPoolExecutor | None = None  # while run() runs

    def _queue(self, ids: list[int]) -> None:
        for tid in ids:
            if tid not in self.resumed:
                self.queued += 1
                self.reads.append(tid)

    def _page(self, offset: int) -> Any:
        return self.client.get_listed_tickets(limitstart=offset, limitnum=self.page_size)

    def run(self, start: int | None) -> None:
        """List from ``start`` (``None``: the listing is complete) and read every pending
        ticket."""
        self.start = start
        self.track_listed = self.full and start == 0
        with self.engine.connect() as conn:  # pending from an interrupted run
            pending = list(conn.execute(select(tickets.c.id).where(
                tickets.c.sync_pending.is_(True)).order_by(tickets.c.id)).scalars())
        self._queue(pending)
        self.resumed = set(pending)
        if start is None:
            self._listing_complete(listed_now=False)
        else:
            first = self._page(start)
            self.total = first.total
            _save(self.engine, total=self.total)
            self.listing = True
            self.next_offset = start
            self.pages[start] = first
            self.offsets.extend(range(start + self.page_size, self.total, self.page_size))
            self._write_pages()
        self.pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="sync")
        futures = self.futures
        try:
            while True:
                self._fill()
                if not futures:
                    break
                done = [self.finished.get()]
                while not self.finished.empty():
                    done.append(self.finished.get())
                for fut in done:
                    kind, key = futures.pop(fut)
                    if kind == PAGE:
                        self.pages[key] = fut.result()  # a failed page aborts: offset kept
                    else:
                        self._take_read(key, fut)
                self._write_pages()
                if len(self.ready) >= COMMIT_EVERY or not futures:
                    self._flush()
            self._flush()
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _fill(self) -> None:
        """Top the pool up to a backlog of one extra task per worker, so a worker never
        idles while this thread writes; list pages first, they are what makes more work.
        Called again after each page written: a page's tickets go out while the next page
        is written, not after every page in hand is."""
        futures, pool = self.futures, self.pool
        if pool is None:
            return
        while len(futures) < 2 * self.concurrency and (self.offsets or self.reads):
            if self.offsets:
                off = self.offsets.popleft()
                fut, what = pool.submit(self._page, off), (PAGE, off)
            else:
                tid = self.reads.popleft()
                fut, what = pool.submit(self.client.get_ticket_answer, tid), (READ, tid)
            futures[fut] = what
            fut.add_done_callback(self.finished.put)

    def _write_pages(self) -> None:
        while self.listing and self.next_offset in self.pages:
            page = self.pages.pop(self.next_offset)
            self.summary.listed += len(page.items)
            if self.track_listed:
                self.listed.update(t.id for t in page.items)
            assert self.total is not None
            # the page's marks and the checkpoint past it commit together
            with self.engine.begin() as conn:
                marked = _mark_page(conn, page.items, full=self.full, now=self.now)
                self.next_offset += self.page_size if page.items else self.total
                _save_in(conn, next_offset=self.next_offset, updated_at=self.now)
            self._queue(marked)
            if self.progress:
                self.progress("listing", len(page.items), self.total)
            if self.next_offset >= self.total:
                self.offsets.clear()  # an empty page ends the listing early
                self._listing_complete(listed_now=True)
            self._fill()

    def _listing_complete(self, *, listed_now: bool) -> None:
        self.listing = False
        self.pages.clear()
        if listed_now:
            if self.track_listed:  # saw the whole list: absent means deleted
                self.summary.deleted += _mark_deleted(self.engine, self.listed, self.now)
                self.listed = set()  # not needed again: free it for the rest of the reads
            _save(self.engine, phase="fetching", updated_at=self.now)
        self.read_total = self.queued
        if self.progress:
            self.progress("fetching", 0, self.read_total)
            if self.read_done:
                self.progress("fetching", self.read_done, self.read_total)

    def _take_read(self, tid: int, fut: Future) -> None:
        from whmcs_bridge.api.errors import AuthenticationError, NotFoundError

        try:
            self.ready.append(self.client.load_ticket(fut.result()))
        except AuthenticationError:
            # WHMCS refused the credential: no other ticket can be read, and the client
            # already refuses to try (each try would be one more failed login towards an IP
            # ban). Keep what was read, leave the rest pending; the caller cancels the rest.
            self._flush()
            raise
        except NotFoundError:
            with self.engine.begin() as conn:
                conn.execute(update(tickets).where(tickets.c.id == tid)
                             .values(deleted=True, sync_pending=False))
            self.summary.deleted += 1
        except Exception as exc:  # left pending for the next run
            self.summary.failed += 1
            self.summary.errors.append(f"ticket {tid}: {exc}")
            log.warning("sync: GetTicket %s failed: %s", tid, exc)

    def _flush(self) -> None:
        ready = self.ready
        if not ready:
            return
        with self.engine.begin() as conn:
            before = dict(conn.execute(
                select(tickets.c.id, tickets.c.fetched_signature)
                .where(tickets.c.id.in_([t.id for t in ready]))).all())
            apply_fetched_batch(conn, ready, settings=self.settings, now=self.now)
            # a ticket staff linked to a client (or moved to another) in WHMCS: its
            # verification request is that client's from now on, whether or not an event said so
            follow_ticket_clients(conn, {t.id: t.userid for t in ready if t.userid}, self.now)
        self.summary.fetched += len(ready)
        self.summary.changed += sum(before.get(t.id) != signature(t) for t in ready)
        n = len(ready)
        self.ready = []
        self.read_done += n
        if self.progress and self.read_total is not None:
            self.progress("fetching", n, self.read_total)


def run_sync(engine: Engine, settings: Settings, client: Any, *, full: bool = False,
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
    pipe = _Pipeline(engine, client, settings, summary, full=full, concurrency=concurrency,
                     page_size=page_size, now=now, progress=progress)
    pipe.run(start)
    summary.duration = time.monotonic() - started
    done = {"phase": "done", "updated_at": now, "last_completed_at": now,
            "stats": summary.as_dict()}
    if full:
        done["last_full_at"] = now
    _save(engine, **done)
    return summary
