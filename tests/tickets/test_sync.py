"""Sync against the WHMCS simulator: full → incremental → interrupted and resumed, with
faults injected; the store converges on the simulator's tickets with no duplicates. Also the
channel of simulator tickets of each origin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import make_settings
from whmcs_bridge.sim import SimConfig, run_in_thread
from whmcs_bridge.store import make_engine
from whmcs_bridge.sync import run_sync
from whmcs_bridge.tickets import store
from whmcs_bridge.tickets.tables import sync_state, ticket_messages, tickets


@pytest.fixture
def sim() -> Iterator[Any]:
    handle = run_in_thread(SimConfig(tickets=60, clients=8, seed=4))
    yield handle
    handle.stop()


def client(sim: Any) -> Any:
    return sim.client(retries=0, backoff=0, backoff_jitter=0)


def store_matches_sim(engine: Any, sim: Any) -> None:
    """Every sim ticket is in the store with the same fields and messages, exactly once."""
    state = sim.state
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(tickets).where(
            tickets.c.deleted.is_(False)))}
        counts = dict(conn.execute(select(ticket_messages.c.ticket_id, func.count())
                                   .group_by(ticket_messages.c.ticket_id)).all())
        dupes = conn.execute(select(func.count()).select_from(
            select(ticket_messages.c.ticket_id, ticket_messages.c.source_key)
            .group_by(ticket_messages.c.ticket_id, ticket_messages.c.source_key)
            .having(func.count() > 1).subquery())).scalar_one()
    assert dupes == 0
    assert set(rows) == set(state.tickets)
    for t in state.tickets.values():
        replies, notes = state.conversation(t)
        row = rows[t.id]
        assert (row.tid, row.status, row.priority, row.department_id) == (
            t.tid, t.status, t.priority, t.deptid), t.id
        assert not row.sync_pending
        assert counts.get(t.id, 0) == len(replies) + len(notes), t.id


def test_full_incremental_and_resume_with_faults(db_url: str, sim: Any) -> None:
    engine = make_engine(db_url)
    settings = make_settings(db_url)
    api = client(sim)
    # 1. first run is full even without --full; GetTicket faults leave tickets pending
    sim.state.inject_fault("500", count=3, action="GetTicket")
    first = run_sync(engine, settings, api, concurrency=4, page_size=7)
    assert (first.mode, first.listed, first.failed) == ("full", 60, 3)
    assert first.fetched == 57
    second = run_sync(engine, settings, api, concurrency=4, page_size=7)
    assert (second.mode, second.fetched, second.failed) == ("incremental", 3, 0)
    store_matches_sim(engine, sim)

    # 2. incremental: only what changed is re-read
    calls = sim.state.calls["GetTicket"]
    api.add_ticket_reply(5, "Any news?", clientid=sim.state.tickets[5].userid or None,
                         name=None if sim.state.tickets[5].userid else "Guest",
                         email=None if sim.state.tickets[5].userid else "g@example.net")
    api.update_ticket(9, priority="High" if sim.state.tickets[9].priority != "High" else "Low")
    inc = run_sync(engine, settings, api, concurrency=4, page_size=7)
    assert (inc.mode, inc.listed, inc.fetched, inc.changed) == ("incremental", 60, 2, 2)
    assert sim.state.calls["GetTicket"] - calls == 2
    store_matches_sim(engine, sim)
    with engine.connect() as conn:
        hist = [r for r in store.list_escalations(conn, 9) if r["trigger"] == "external"]
    assert [h["action"] for h in hist] == ["priority_changed"]

    # a ticket deleted in WHMCS without an event is dropped by the next full sync
    sim.state.tickets.pop(60)
    sim.state.touch()
    gone = run_sync(engine, settings, api, full=True, concurrency=4, page_size=7)
    assert (gone.listed, gone.deleted) == (59, 1)
    with engine.connect() as conn:
        assert store.get_ticket(conn, 60) is None

    # 3. interrupted while listing (a page fails), then while fetching (the process dies)
    for i in (3, 14, 27):
        api.update_ticket(i, status="On Hold")
    sim.state.inject_fault("503", count=1, action="GetTickets")
    with pytest.raises(Exception, match=r"503|Service"):
        run_sync(engine, settings, api, full=True, concurrency=2, page_size=7)
    with engine.connect() as conn:
        cp = conn.execute(select(sync_state).where(sync_state.c.name == "tickets")).first()
    assert cp.phase == "listing" and cp.mode == "full"

    seen = {"n": 0}

    def crash(phase: str, n: int, total: int | None) -> None:
        if phase == "fetching" and n:
            seen["n"] += n
            if seen["n"] >= 20:
                raise KeyboardInterrupt  # the operator pressed Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        run_sync(engine, settings, api, concurrency=2, page_size=7, progress=crash)
    with engine.connect() as conn:
        cp = conn.execute(select(sync_state).where(sync_state.c.name == "tickets")).first()
        pending = conn.execute(select(func.count()).select_from(tickets).where(
            tickets.c.sync_pending.is_(True))).scalar_one()
    assert cp.phase == "fetching" and 0 < pending <= 40

    resumed = run_sync(engine, settings, api, concurrency=3, page_size=7)
    assert resumed.resumed and resumed.mode == "full"
    assert resumed.fetched == pending and resumed.failed == 0
    store_matches_sim(engine, sim)
    with engine.connect() as conn:
        assert store.get_ticket(conn, 14).status == "On Hold"
        cp = conn.execute(select(sync_state).where(sync_state.c.name == "tickets")).first()
    assert cp.phase == "done" and cp.last_full_at is not None
    engine.dispose()


def test_channels_of_simulator_tickets(sqlite_url: str, sim: Any) -> None:
    engine = make_engine(sqlite_url)
    settings = make_settings(sqlite_url, channels={"chat_marker": "[chat]"})
    api = client(sim)
    client_id = next(iter(sim.state.clients))
    chat = api.open_ticket(1, "[chat] site down?", "from the chat widget", clientid=client_id)
    run_sync(engine, settings, api)
    expected = {}
    for t in sim.state.tickets.values():
        if t.id == chat.id:
            expected[t.id] = "chat"
        elif t.admin:
            expected[t.id] = "staff"
        elif t.userid == 0:
            expected[t.id] = "email"
        else:
            expected[t.id] = "client_area"
    with engine.connect() as conn:
        got = dict(conn.execute(select(tickets.c.id, tickets.c.channel)).all())
    assert got == expected
    assert {"chat", "staff", "email", "client_area"} <= set(got.values())
    engine.dispose()


class Recording:
    """The simulator's client, recording when each call starts and ends and how many run at
    once; the last list page is held until a ticket read has started (or 10 s have passed),
    which only a pipelined sync can satisfy."""

    def __init__(self, inner: Any, last_offset: int) -> None:
        import threading

        self.inner = inner
        self.last_offset = last_offset
        self.lock = threading.Lock()
        self.log: list[tuple[str, int]] = []
        self.running = self.peak = 0
        self.read_started = threading.Event()

    def _call(self, kind: str, key: int, fn: Any, *args: Any, **kw: Any) -> Any:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.log.append((kind + "+", key))
        try:
            if kind == "read":
                self.read_started.set()
            elif key == self.last_offset:
                self.read_started.wait(10)
            return fn(*args, **kw)
        finally:
            with self.lock:
                self.running -= 1
                self.log.append((kind + "-", key))

    def get_listed_tickets(self, **kw: Any) -> Any:
        return self._call("page", kw["limitstart"], self.inner.get_listed_tickets, **kw)

    def get_ticket_answer(self, tid: int) -> Any:
        return self._call("read", tid, self.inner.get_ticket_answer, tid)

    def load_ticket(self, answer: Any) -> Any:
        return self.inner.load_ticket(answer)


def test_reads_start_while_pages_are_listed_within_the_concurrency(sqlite_url: str,
                                                                   sim: Any) -> None:
    engine = make_engine(sqlite_url)
    rec = Recording(client(sim), last_offset=50)  # 60 tickets, pages of 10
    try:
        summary = run_sync(engine, make_settings(sqlite_url), rec, concurrency=3, page_size=10)
        assert (summary.listed, summary.fetched, summary.failed) == (60, 60, 0)
        store_matches_sim(engine, sim)
    finally:
        engine.dispose()
    log = rec.log
    # the first page alone gives totalresults; nothing else runs before it is back
    assert log[:2] == [("page+", 0), ("page-", 0)]
    # pipelined: a ticket read started before the last page came back
    assert log.index(("page-", 50)) > next(i for i, e in enumerate(log) if e[0] == "read+")
    # every other page was asked for before any ticket read (pages make the work)
    first_read = next(i for i, e in enumerate(log) if e[0] == "read+")
    assert {k for e, k in log[:first_read] if e == "page+"} == {0, 10, 20, 30, 40, 50}
    assert rec.peak <= 3  # one limit for pages and reads together
    assert sorted(k for e, k in log if e == "read+") == sorted(sim.state.tickets)


class LoadsOnOneThread:
    """The simulator's client, recording the thread of each GetTicket load; the answer of
    ``refused`` has a shape WHMCS's docs do not allow on its first read."""

    def __init__(self, inner: Any, refused: int) -> None:
        self.inner, self.refused = inner, refused
        self.load_threads: set[str] = set()
        self.answer_threads: set[str] = set()
        self.spoiled = False

    def get_listed_tickets(self, **kw: Any) -> Any:
        return self.inner.get_listed_tickets(**kw)

    def get_ticket_answer(self, tid: int) -> Any:
        import threading

        self.answer_threads.add(threading.current_thread().name)
        answer = self.inner.get_ticket_answer(tid)
        if tid == self.refused and not self.spoiled:
            self.spoiled = True
            answer = {**answer, "replies": {"reply": [{"replyid": "not-a-number"}]}}
        return answer

    def load_ticket(self, answer: Any) -> Any:
        import threading

        self.load_threads.add(threading.current_thread().name)
        return self.inner.load_ticket(answer)


def test_reads_load_on_the_writer_and_a_bad_shape_stays_pending(sqlite_url: str,
                                                                sim: Any) -> None:
    import threading

    engine = make_engine(sqlite_url)
    api = LoadsOnOneThread(client(sim), refused=7)
    try:
        first = run_sync(engine, make_settings(sqlite_url), api, concurrency=3, page_size=10)
        with engine.connect() as conn:
            pending = list(conn.execute(select(tickets.c.id).where(
                tickets.c.sync_pending.is_(True))).scalars())
        assert (first.fetched, first.failed, pending) == (59, 1, [7])
        assert "ticket 7: " in first.errors[0] and "replies" in first.errors[0]
        # the round trips ran in the pool; every load on the writer (the calling thread)
        assert api.load_threads == {threading.current_thread().name}
        assert api.answer_threads and threading.current_thread().name not in api.answer_threads
        second = run_sync(engine, make_settings(sqlite_url), api, concurrency=3, page_size=10)
        assert (second.fetched, second.failed) == (1, 0)
        store_matches_sim(engine, sim)
    finally:
        engine.dispose()


class HeldSecondPage:
    """The simulator's client; the page at offset 10 is held until every later page and
    every read of the first page's tickets is back, so that the pages 10-50 are all in
    hand at once and written one after another."""

    def __init__(self, inner: Any) -> None:
        import threading

        self.inner = inner
        self.lock = threading.Lock()
        self.pages_back = 0
        self.reads_back = 0
        self.rest_back = threading.Event()
        self.second_ids: set[int] = set()
        self.second_read = threading.Event()

    def _check(self) -> None:
        if self.pages_back == 4 and self.reads_back == 10:
            self.rest_back.set()

    def get_listed_tickets(self, *, limitstart: int, limitnum: int) -> Any:
        page = self.inner.get_listed_tickets(limitstart=limitstart, limitnum=limitnum)
        if limitstart == 10:
            self.second_ids = {t.id for t in page.items}
            self.rest_back.wait(10)
        elif limitstart:
            with self.lock:
                self.pages_back += 1
                self._check()
        return page

    def get_ticket_answer(self, tid: int) -> Any:
        if tid in self.second_ids:
            self.second_read.set()
        answer = self.inner.get_ticket_answer(tid)
        with self.lock:
            self.reads_back += 1
            self._check()
        return answer

    def load_ticket(self, answer: Any) -> Any:
        return self.inner.load_ticket(answer)


def test_a_written_pages_tickets_go_out_before_the_next_page_is_written(sqlite_url: str,
                                                                        sim: Any) -> None:
    """Pages in hand are written one by one; the pool is topped up after each, so a page's
    tickets are read while the next page is written, not once every page in hand is."""
    engine = make_engine(sqlite_url)
    api = HeldSecondPage(client(sim))
    listed: list[bool] = []

    def progress(phase: str, n: int, total: int | None) -> None:
        if phase == "listing":
            listed.append(len(listed) < 2 or api.second_read.wait(10))

    try:
        summary = run_sync(engine, make_settings(sqlite_url), api, concurrency=3,
                           page_size=10, progress=progress)
        assert (summary.listed, summary.fetched, summary.failed) == (60, 60, 0)
        store_matches_sim(engine, sim)
    finally:
        engine.dispose()
    assert api.rest_back.is_set()  # the pages 10-50 were in hand together
    # the page at 20 was written after a read of a page-10 ticket had started
    assert listed == [True] * 6
