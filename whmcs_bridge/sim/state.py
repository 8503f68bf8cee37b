"""The simulator's state: seeded records, their mutations, and what the sim has recorded
(e-mails, notifications, logins, posted events) for tests to read.

All access goes through one re-entrant lock; the HTTP server is threaded.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from whmcs_bridge.sim import data
from whmcs_bridge.sim.config import SimConfig
from whmcs_bridge.sim.records import (
    SimClient,
    SimContact,
    SimDepartment,
    SimDomain,
    SimNote,
    SimReply,
    SimService,
    SimTicket,
    SimTransaction,
    SimUser,
)

EventSink = Callable[[str, dict[str, Any]], None]
#: (hook, $vars, actor) -> the bridge's gate answer, or None when it gave no usable one
GateAsker = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any] | None]


class SimState:
    """Everything the simulator knows. Build once per sim; mutate through the methods."""

    def __init__(self, config: SimConfig) -> None:
        config.validate()
        self.config = config
        self.tz = ZoneInfo(config.timezone)
        self.lock = threading.RLock()
        self.anchor = config.anchor or config.clock()
        self.departments: dict[int, SimDepartment] = {d.id: d for d in data.DEPARTMENTS}
        self.statuses = {s.title: s for s in data.STATUSES}
        self.clients: dict[int, SimClient] = {
            c.id: c for c in data.make_clients(config.seed, config.clients, self.anchor)}
        self.clients_by_email = {c.email.lower(): c for c in self.clients.values()}
        self.services: dict[int, SimService] = {
            s.id: s for c in self.clients.values() for s in c.services}
        # none are seeded (tests and the demo add them): GetContacts, GetUsers and
        # GetClientsDomains answer from these, owner users from the clients themselves
        self.contacts: dict[int, SimContact] = {}
        self.users: dict[int, SimUser] = {}
        self.domains: dict[int, SimDomain] = {}
        self.transactions: list[SimTransaction] = data.make_transactions(
            config.seed, list(self.clients.values()))
        self.tickets: dict[int, SimTicket] = {
            t.id: t for t in data.make_tickets(config.seed, config.tickets, self.anchor,
                                               list(self.clients.values()))}
        self.tickets_by_tid = {t.tid: t.id for t in self.tickets.values()}
        self._seeded_ticket_count = config.tickets
        self._next_reply_id = (config.tickets + 1) * 100
        self._new_reply_owner: dict[int, int] = {}
        self.version = 0  # bumped on every write (shown by /_sim/state); touch() drops caches
        self._cache: dict[Any, Any] = {}
        # what tests and the demo read back
        self.sent_emails: list[dict[str, Any]] = []
        self.admin_emails: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.logins: list[dict[str, Any]] = []
        self.posted_events: deque[dict[str, Any]] = deque(maxlen=1000)
        self.faults: list[dict[str, Any]] = []
        #: requests received per action (faulted ones included): retries show up here
        self.calls: Counter[str] = Counter()
        self.event_sink: EventSink | None = None
        self.gate_asker: GateAsker | None = None
        #: failed logins per caller IP (recent ones only) and the bans they caused
        self.auth_failures: dict[str, list[datetime]] = {}
        self.banned_until: dict[str, datetime] = {}

    # ------------------------------------------------------------------ helpers

    def now(self) -> datetime:
        return self.config.clock()

    def emit(self, hook: str, payload: dict[str, Any]) -> None:
        """Hand a hook event to the poster (if the sim posts to a bridge)."""
        if self.event_sink is not None:
            self.event_sink(hook, payload)

    def ask_gate(self, hook: str, data: dict[str, Any], actor: dict[str, Any]
                 ) -> dict[str, Any] | None:
        """Ask the bridge's gate (if the sim posts to a bridge); None: no usable answer."""
        return self.gate_asker(hook, data, actor) if self.gate_asker is not None else None

    def touch(self) -> None:
        self.version += 1
        self._cache.clear()

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        value = self._cache.get(key)
        if value is None:
            if len(self._cache) > 32:
                self._cache.clear()
            value = self._cache[key] = build()
        return value

    # ------------------------------------------------------------------ failed logins

    def is_banned(self, ip: str) -> bool:
        until = self.banned_until.get(ip)
        if until is not None and until <= self.now():
            del self.banned_until[ip]
            return False
        return until is not None

    def record_auth_failure(self, ip: str) -> None:
        """One failed login from ``ip``; the ``ban_after_failures``-th one within the window
        bans it for ``ban_minutes`` (as WHMCS's ban control)."""
        limit = self.config.ban_after_failures
        if limit is None:
            return
        now = self.now()
        since = now - timedelta(minutes=self.config.ban_window_minutes)
        recent = [t for t in self.auth_failures.get(ip, []) if t > since] + [now]
        self.auth_failures[ip] = recent
        if len(recent) >= limit:
            self.banned_until[ip] = now + timedelta(minutes=self.config.ban_minutes)
            self.auth_failures[ip] = []

    def lift_bans(self) -> None:
        """What an admin does under Configuration > System Settings > Banned IPs."""
        self.banned_until.clear()
        self.auth_failures.clear()

    def config_admin_usernames(self) -> set[str]:
        return {c.admin_username for c in self.config.credentials}

    # ------------------------------------------------------------------ tickets

    def ticket(self, ticket_id: int) -> SimTicket | None:
        return self.tickets.get(ticket_id)

    def conversation(self, ticket: SimTicket) -> tuple[list[SimReply], list[SimNote]]:
        """Replies (opening message first) and notes, built from the seed on first access."""
        if ticket.replies is None or ticket.notes is None:
            replies, notes = data.build_conversation(
                self.config.seed, ticket, self.anchor, ticket.id * 100 + 1)
            ticket.replies, ticket.notes = replies, notes
        return ticket.replies, ticket.notes

    def find_reply(self, replyid: int) -> tuple[SimTicket, SimReply] | None:
        owner = self._new_reply_owner.get(replyid)
        if owner is None and 0 < replyid < (self._seeded_ticket_count + 1) * 100:
            owner = replyid // 100
        ticket = self.tickets.get(owner) if owner else None
        if ticket is None:
            return None
        replies, _ = self.conversation(ticket)
        for reply in replies:
            if reply.replyid == replyid and replyid != 0:
                return ticket, reply
        return None

    def next_reply_id(self, ticket: SimTicket) -> int:
        self._next_reply_id += 1
        self._new_reply_owner[self._next_reply_id] = ticket.id
        return self._next_reply_id

    def add_ticket(self, ticket: SimTicket) -> None:
        self.tickets[ticket.id] = ticket
        self.tickets_by_tid[ticket.tid] = ticket.id
        self.touch()

    def move_reply(self, reply: SimReply, ticket: SimTicket) -> None:
        """``reply`` now belongs to ``ticket`` (a split): :meth:`find_reply` finds it there."""
        self._new_reply_owner[reply.replyid] = ticket.id

    def add_client(self, client: SimClient) -> None:
        self.clients[client.id] = client
        self.clients_by_email[client.email.lower()] = client
        self.touch()

    def next_ticket_id(self) -> int:
        return max(self.tickets, default=0) + 1

    def iter_tickets(self) -> Iterable[SimTicket]:
        return self.tickets.values()

    # ------------------------------------------------------------------ clients' people

    def add_contact(self, clientid: int, email: str, *, firstname: str = "Sim",
                    lastname: str = "Contact") -> SimContact:
        with self.lock:
            contact = SimContact(id=max(self.contacts, default=0) + 1, userid=clientid,
                                 firstname=firstname, lastname=lastname, email=email)
            self.contacts[contact.id] = contact
            self.touch()
            return contact

    def add_user(self, email: str, clients: list[int], *, firstname: str = "Sim",
                 lastname: str = "User") -> SimUser:
        """A user invited to ``clients`` (not their owner)."""
        with self.lock:
            first_free = max([*self.users, *(c.user_id for c in self.clients.values())],
                             default=0) + 1
            user = SimUser(id=first_free, firstname=firstname, lastname=lastname, email=email,
                           clients=list(clients), datecreated=self.now())
            self.users[user.id] = user
            self.touch()
            return user

    def add_domain(self, clientid: int, domainname: str, *, status: str = "Active"
                   ) -> SimDomain:
        with self.lock:
            now = self.now()
            domain = SimDomain(id=max(self.domains, default=0) + 1, userid=clientid,
                               domainname=domainname, status=status, regdate=now,
                               expirydate=now.replace(year=now.year + 1))
            self.domains[domain.id] = domain
            self.touch()
            return domain

    # ------------------------------------------------------------------ faults

    def inject_fault(self, kind: str, *, count: int = 1, action: str | None = None) -> None:
        """Answer the next ``count`` requests (for ``action``, or any) with fault ``kind``:
        ``500``/``502``/``503``/``429`` (HTML error page), ``html`` (HTML with 200), ``empty``,
        ``garbage`` (non-JSON text), ``notice`` (PHP notice before valid JSON), ``timeout``
        (hold the request ``timeout_fault_seconds``), ``error_json_500`` (JSON error + 500)."""
        with self.lock:
            self.faults.append({"kind": kind, "count": count, "action": action})

    def take_fault(self, action: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault["action"] in (None, action) and fault["count"] > 0:
                    fault["count"] -= 1
                    kind = fault["kind"]
                    self.faults = [f for f in self.faults if f["count"] > 0]
                    return kind
        return None

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
