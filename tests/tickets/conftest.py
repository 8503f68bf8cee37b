"""Helpers for the tickets/SLA room: a recording fake WHMCS client, events, a handler runner
that mimics the worker (every handler of a hook, in order, in one transaction), and a record
of notifications (the real outbox is used as well when it is installed)."""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from tests import txguard
from whmcs_bridge.api.errors import WhmcsTimeoutError
from whmcs_bridge.api.models import Note, Reply
from whmcs_bridge.hooks import sla as sla_handlers
from whmcs_bridge.hooks import tickets as ticket_handlers
from whmcs_bridge.hooks.context import Event, HandlerContext, PrepareContext, Services
from whmcs_bridge.hooks.registry import load_registry
from whmcs_bridge.store import make_engine
from whmcs_bridge.writes.send import Sender

_ids = itertools.count(1)


class FakeWhmcs:
    """Records write calls. ``fail`` makes the next call of that method time out before
    WHMCS applied it; ``lose`` applies it and then times out (the answer is lost), as a
    reply that reached WHMCS while the connection dropped. ``get_ticket`` shows what the
    recorded replies and notes left in the ticket."""

    def __init__(self, language: str = "english") -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.language = language
        self.fail: set[str] = set()
        self.lose: set[str] = set()
        self.next_ticket_id = 900

    def _rec(self, name: str, *args: Any, **kwargs: Any) -> None:
        txguard.check(f"FakeWhmcs.{name}")  # the rule a real HTTP call is held to
        if name in self.fail:
            self.fail.discard(name)
            raise WhmcsTimeoutError(name, None, "no answer (injected)")
        self.calls.append((name, args, kwargs))
        if name in self.lose:
            self.lose.discard(name)
            raise WhmcsTimeoutError(name, None, "answer lost (injected)")

    def get_ticket(self, ticketid: int, **kw: Any) -> Any:
        self._rec("get_ticket", ticketid)
        replies = [Reply(replyid=i + 1, message=a[1], admin="Bridge")
                   for i, (a, _) in enumerate(self.named("add_ticket_reply")) if a[0] == ticketid]
        notes = [Note(noteid=i + 1, message=a[1], admin="Bridge")
                 for i, (a, _) in enumerate(self.named("add_ticket_note")) if a[0] == ticketid]
        return SimpleNamespace(id=ticketid, replies=replies, notes=notes)

    def add_ticket_note(self, ticketid: int, message: str, **kw: Any) -> None:
        self._rec("add_ticket_note", ticketid, message, **kw)

    def add_ticket_reply(self, ticketid: int, message: str, **kw: Any) -> None:
        self._rec("add_ticket_reply", ticketid, message, **kw)

    def update_ticket(self, ticketid: int, **kw: Any) -> int:
        self._rec("update_ticket", ticketid, **kw)
        return ticketid

    def get_client(self, clientid: int, **kw: Any) -> Any:
        self._rec("get_client", clientid)
        return SimpleNamespace(id=clientid, language=self.language)

    def open_ticket(self, deptid: int, subject: str, message: str, **kw: Any) -> Any:
        self._rec("open_ticket", deptid, subject, message, **kw)
        self.next_ticket_id += 1
        return SimpleNamespace(id=self.next_ticket_id, tid=f"PHN-{self.next_ticket_id}", c="x")

    def named(self, name: str) -> list[tuple[tuple, dict]]:
        return [(a, k) for n, a, k in self.calls if n == name]


def event(type_: str, data: dict[str, Any], at: datetime) -> Event:
    return Event(id=f"evt-{next(_ids)}", type=type_, data=data, timestamp=at, received_at=at)


@pytest.fixture
def notified(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict, str]]:
    """Every ctx.notify call; forwarded to the real outbox when that module exists."""
    calls: list[tuple[str, dict, str]] = []
    try:
        importlib.import_module("whmcs_bridge.notify.outbox")
        real = True
    except ImportError:
        real = False
    original = HandlerContext.notify

    def notify(self: HandlerContext, notification: str, payload: dict, *, dedupe_key: str,
               **options: Any) -> Any:
        calls.append((notification, payload, dedupe_key))
        if real:
            return original(self, notification, payload, dedupe_key=dedupe_key, **options)
        return None

    monkeypatch.setattr(HandlerContext, "notify", notify)
    return calls


class Bridge:
    """An engine + settings + fake WHMCS, and a way to deliver events through the registry."""

    def __init__(self, url: str, settings: Any, whmcs: Any) -> None:
        self.engine = make_engine(url)
        self.settings = settings
        self.whmcs = whmcs
        self.services = Services(settings, whmcs=whmcs)
        self.registry = load_registry([ticket_handlers, sla_handlers], entry_point_group=None)

    def deliver(self, type_: str, data: dict[str, Any], at: datetime,
                now: datetime | None = None) -> Event:
        """Like the worker: each handler's ``prepare`` before the transaction, then the
        handlers, then (committed) one pass of the WHMCS write sender."""
        ev = event(type_, data, at)
        specs = self.registry.handlers_for(type_)
        prepared = {spec.name: spec.prepare(ev, PrepareContext(
            settings=self.settings, now=now or at, services=self.services))
            for spec in specs if spec.prepare is not None}
        with self.engine.begin() as conn:
            for spec in specs:
                ctx = HandlerContext(settings=self.settings, conn=conn, now=now or at,
                                     services=self.services, event=ev,
                                     extra={"prepared": prepared.get(spec.name)})
                spec.func(ev, ctx)
        self.send_writes(now or at)
        return ev

    def send_writes(self, now: datetime) -> Any:
        """One pass of the WHMCS write outbox (what the worker runs after each batch)."""
        return Sender(self.engine, self.settings, whmcs=self.whmcs).run_once(now)

    def ctx(self, conn: Any, now: datetime) -> HandlerContext:
        return HandlerContext(settings=self.settings, conn=conn, now=now,
                              services=self.services)


@pytest.fixture
def bridge_factory(notified: list) -> Iterator[Any]:
    made: list[Bridge] = []

    def make(url: str, settings: Any, whmcs: Any | None = None) -> Bridge:
        b = Bridge(url, settings, whmcs or FakeWhmcs())
        made.append(b)
        return b

    yield make
    for b in made:
        b.engine.dispose()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_http_in_transaction(no_http_in_transaction: Any) -> Any:
    """Every test here fails if WHMCS (or any HTTP) is called inside a write transaction."""
    return no_http_in_transaction
