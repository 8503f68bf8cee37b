"""The simulated API actions: request params in, WHMCS-shaped JSON dict out.

Each handler validates like WHMCS does (same error texts as the reference, HTTP 200 with
``result: error``), mutates :class:`~.state.SimState` on writes and emits the hook event WHMCS
would fire, so a bridge listening to the simulator sees the same flow as from real WHMCS.
"""

from __future__ import annotations

import builtins
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from whmcs_bridge.api.encoding import PhpFormatError, decode_serialized
from whmcs_bridge.sim import data, hook_vars, render
from whmcs_bridge.sim.records import SimNote, SimReply, SimTicket, SimUser
from whmcs_bridge.sim.state import SimState

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CLIENT_TEMPLATES = {"Support Ticket Opened", "Support Ticket Reply", "Client Signup Email",
                    "Invoice Created", "Invoice Payment Confirmation", "Password Reset Validation",
                    "Order Confirmation"}
UNSENDABLE = {"Order Confirmation", "Password Reset Validation"}
ADMIN_TEMPLATES = {"Support Ticket Created", "Support Ticket Response",
                   "Escalation Rule Notification", "New Order Notification"}
CUSTOM_TYPES = {"general", "product", "domain", "invoice", "support", "affiliate"}


class ActionError(Exception):
    """A WHMCS ``result: error`` answer."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Caller:
    """Who is calling: the API credential's admin."""

    admin_username: str
    admin_id: int = 1


class Params:
    """Request parameters read the PHP way (``(bool)"false"`` is true, ``(int)"x"`` is 0)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def has(self, name: str) -> bool:
        value = self.raw.get(name)
        return isinstance(value, (str, dict)) and value != ""

    def str(self, name: str, default: str = "") -> str:
        value = self.raw.get(name, default)
        return value if isinstance(value, str) else default

    # the methods below are named after builtins: inside the class body ``str`` would name
    # the method above, so their annotations spell the builtins out
    def int(self, name: builtins.str, default: builtins.int = 0) -> builtins.int:
        value = self.str(name).strip()
        match = re.match(r"^[+-]?\d+", value)
        return int(match.group(0)) if match else default

    def bool(self, name: builtins.str) -> builtins.bool:
        value = self.raw.get(name)
        return bool(value) and value != "0"

    def dict(self, name: builtins.str) -> builtins.dict[builtins.str, Any]:
        value = self.raw.get(name)
        return value if isinstance(value, dict) else {}


Handler = Callable[[SimState, Params, Caller], dict[str, Any]]
ACTIONS: dict[str, Handler] = {}


def action(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ACTIONS[name] = fn
        return fn
    return register


def _ok(**values: Any) -> dict[str, Any]:
    return {"result": "success", **values}


def _created(state: SimState, p: Params, what: str) -> datetime:
    """The ``created`` param (``Y-m-d H:i:s`` or ISO 8601 in the server zone), default now."""
    if not p.has("created"):
        return state.now()
    text = p.str("created").strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ActionError("Invalid Date Format") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=state.tz)
    if parsed > state.now() + timedelta(seconds=1):
        raise ActionError(f"{what} creation date cannot be in the future")
    return parsed


def _customfields(p: Params, name: str = "customfields") -> dict[str, Any] | None:
    if not p.has(name):
        return None
    try:
        value = decode_serialized(p.str(name))
    except PhpFormatError:
        return None
    return value if isinstance(value, dict) else None


def _deptname(state: SimState, deptid: int) -> str:
    dept = state.departments.get(deptid)
    return dept.name if dept else ""


def _active_awaiting(state: SimState) -> tuple[set[str], set[str]]:
    """Titles of the statuses that count as active, and as awaiting a reply."""
    return ({s.title for s in state.statuses.values() if s.active},
            {s.title for s in state.statuses.values() if s.awaiting})


def _paged(p: Params) -> tuple[int, int]:
    start = max(p.int("limitstart", 0), 0)
    limit = p.int("limitnum", 25) if p.has("limitnum") else 25
    return start, max(limit, 0)


# ---------------------------------------------------------------------------- tickets


def _matching_tickets(state: SimState, p: Params, caller: Caller) -> list[SimTicket]:
    depts: frozenset[int] | None = None
    if not p.bool("ignore_dept_assignments"):
        depts = frozenset(state.config.admin_departments)
    key = ("tickets", depts, p.int("deptid"), p.int("clientid"), p.str("email").lower(),
           p.str("status"), p.str("subject").lower(), caller.admin_id)

    def build() -> list[SimTicket]:
        deptid, clientid = p.int("deptid"), p.int("clientid")
        email, status, subject = p.str("email").lower(), p.str("status"), p.str("subject")
        subject = subject.lower()
        active, awaiting = _active_awaiting(state)
        out = []
        for t in state.iter_tickets():
            if depts is not None and t.deptid not in depts:
                continue
            if deptid and t.deptid != deptid:
                continue
            if clientid and t.userid != clientid:
                continue
            if email and (t.userid != 0 or t.email.lower() != email):
                continue
            if status == "Awaiting Reply":
                if t.status not in awaiting:
                    continue
            elif status == "All Active Tickets":
                if t.status not in active:
                    continue
            elif status == "My Flagged Tickets":
                if t.status not in active or t.flag != caller.admin_id:
                    continue
            elif status and t.status != status:
                continue
            if subject and subject not in t.subject.lower():
                continue
            out.append(t)
        out.sort(key=lambda t: (t.lastreply, t.id), reverse=True)
        return out

    return state.cached(key, build)


@action("GetTickets")
def get_tickets(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    start, limit = _paged(p)
    matching = _matching_tickets(state, p, caller)
    page = matching[start : start + limit]
    out = _ok(totalresults=str(len(matching)), startnumber=start, numreturned=len(page))
    items = [render.ticket_item(t, state.tz, state.clients.get(t.userid)) for t in page]
    render.put_list(out, "tickets", "ticket", items, state.config)
    return out


def _find_ticket(state: SimState, p: Params, message: str = "Ticket ID Not Found"
                 ) -> SimTicket:
    ticket: SimTicket | None = None
    if p.has("ticketid"):
        ticket = state.ticket(p.int("ticketid"))
    elif p.has("ticketnum"):
        ticket_id = state.tickets_by_tid.get(p.str("ticketnum").strip())
        ticket = state.ticket(ticket_id) if ticket_id else None
    if ticket is None:
        raise ActionError(message)
    return ticket


@action("GetTicket")
def get_ticket(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    if not p.has("ticketid") and not p.has("ticketnum"):
        raise ActionError("Ticket ID or Ticket Number Required")
    ticket = _find_ticket(state, p)
    replies, notes = state.conversation(ticket)
    return render.ticket_detail(ticket, replies, notes, _deptname(state, ticket.deptid),
                                state.tz, state.config,
                                descending=p.str("repliessort").upper() == "DESC")


def _check_priority(value: str) -> str:
    if value not in data.PRIORITIES:
        raise ActionError("Invalid Ticket Priority. Valid priorities are: Low,Medium,High")
    return value


def _check_status(state: SimState, value: str, message: str) -> str:
    if value not in state.statuses:
        raise ActionError(message)
    return value


@action("OpenTicket")
def open_ticket(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    deptid = p.int("deptid")
    if deptid not in state.departments:
        raise ActionError("Department ID not found")
    if not p.str("subject").strip():
        raise ActionError("Subject is required")
    if not p.str("message").strip():
        raise ActionError("Message is required")
    userid, name, email, requestor = 0, p.str("name"), p.str("email"), "Guest"
    if p.has("clientid"):
        client = state.clients.get(p.int("clientid"))
        if client is None:
            raise ActionError("Client ID Not Found")
        userid, requestor = client.id, "Owner"
        name, email = name or client.fullname, email or client.email
    elif not name or not email:
        raise ActionError("Name and email address are required if not a client")
    if not _EMAIL.match(email):
        raise ActionError("Email Address Invalid")
    service = ""
    if p.has("serviceid"):
        if p.int("serviceid") not in state.services:
            raise ActionError("Service ID Not Found")
        service = f"S{p.int('serviceid')}"
    elif p.has("domainid"):
        raise ActionError("Domain ID Not Found")
    # a missing or invalid priority is Low in WHMCS (reference section 0), not an error
    priority = p.str("priority") if p.str("priority") in data.PRIORITIES else "Low"
    created = _created(state, p, "Ticket")
    is_admin = p.bool("admin")
    ticket_id = state.next_ticket_id()
    ticket = SimTicket(
        id=ticket_id, tid=f"SIM-{ticket_id:06d}", c=hashlib.sha256(
            f"{state.config.seed}:{ticket_id}".encode()).hexdigest()[:8],
        deptid=deptid, userid=userid, name=name, email=email, requestor_type=requestor,
        date=created, subject=p.str("subject"), status="Open", priority=priority,
        admin=data.ADMIN_DISPLAY if is_admin else "", lastreply=created, service=service,
        message=p.str("message"))
    ticket.replies = [SimReply(0, created, ticket.message, userid, name, email, requestor,
                               ticket.admin)]
    ticket.notes = []
    state.add_ticket(ticket)
    state.emit("TicketOpenAdmin" if is_admin else "TicketOpen", {
        "ticketid": ticket.id, "ticketmask": ticket.tid, "userid": userid, "deptid": deptid,
        "deptname": _deptname(state, deptid), "subject": ticket.subject,
        "message": ticket.message, "priority": priority})
    return _ok(id=ticket.id, tid=ticket.tid, c=ticket.c)


@action("AddTicketReply")
def add_ticket_reply(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    ticket = state.ticket(p.int("ticketid"))
    if ticket is None:
        raise ActionError("Ticket ID not found")
    if not p.str("message").strip():
        raise ActionError("Message is required")
    admin = ""
    if p.has("adminusername"):
        admin = (data.ADMIN_DISPLAY if p.str("adminusername") in state.config_admin_usernames()
                 else p.str("adminusername"))
        name = email = ""
        requestor, userid = "Operator", ticket.userid
    elif p.has("clientid"):
        client = state.clients.get(p.int("clientid"))
        if client is None:
            raise ActionError("Client ID Not Found")
        name, email, requestor, userid = client.fullname, client.email, "Owner", client.id
    else:  # no admin, no client: a guest needs both (WHMCS assumes no author by itself)
        name, email = p.str("name"), p.str("email")
        if not name or not email:
            raise ActionError("Name and email address are required if not a client")
        if not _EMAIL.match(email):
            raise ActionError("Email Address Invalid")
        requestor, userid = "Guest", 0
    status = "Answered" if admin else "Customer-Reply"
    if p.has("status"):
        status = _check_status(state, p.str("status"), "Invalid Ticket Status")
    created = _created(state, p, "Reply")
    replies, _ = state.conversation(ticket)
    reply = SimReply(state.next_reply_id(ticket), created, p.str("message"), userid, name,
                     email, requestor, admin)
    replies.append(reply)
    ticket.status = status
    ticket.lastreply = max(ticket.lastreply, created)
    state.touch()
    common = {"ticketid": ticket.id, "replyid": reply.replyid, "deptid": ticket.deptid,
              "deptname": _deptname(state, ticket.deptid), "subject": ticket.subject,
              "message": reply.message, "priority": ticket.priority, "status": status}
    if admin:
        state.emit("TicketAdminReply", {**common, "admin": admin})
    else:
        state.emit("TicketUserReply", {**common, "userid": userid})
    if status == "Closed":
        state.emit("TicketClose", {"ticketid": ticket.id})
    return _ok()


@action("AddTicketNote")
def add_ticket_note(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    if not p.str("message").strip():
        raise ActionError("Message is required")
    ticket = _find_ticket(state, p, "Ticket ID not found")
    _, notes = state.conversation(ticket)
    note = SimNote(state.next_reply_id(ticket), _created(state, p, "Note"), p.str("message"),
                   data.ADMIN_DISPLAY)
    notes.append(note)
    state.touch()
    state.emit("TicketAddNote", {"ticketid": ticket.id, "message": note.message,
                                 "adminid": caller.admin_id, "attachments": ""})
    return _ok()


@action("UpdateTicket")
def update_ticket(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    ticket = state.ticket(p.int("ticketid"))
    if ticket is None:
        raise ActionError("Ticket ID Not Found")
    events: list[tuple[str, dict[str, Any]]] = []
    if p.has("deptid") and p.int("deptid") not in state.departments:
        raise ActionError("Department ID Not Found")
    if p.has("priority"):
        _check_priority(p.str("priority"))
    if p.has("status"):
        valid = ",".join(state.statuses)
        _check_status(state, p.str("status"),
                      f"Invalid Ticket Status. Valid statuses are: {valid}")
    created = _created(state, p, "Ticket") if p.has("created") else None
    if p.has("deptid") and p.int("deptid") != ticket.deptid:
        ticket.deptid = p.int("deptid")
        events.append(("TicketDepartmentChange", {
            "ticketid": ticket.id, "deptid": ticket.deptid,
            "deptname": _deptname(state, ticket.deptid)}))
    if p.has("priority") and p.str("priority") != ticket.priority:
        ticket.priority = p.str("priority")
        events.append(("TicketPriorityChange", {"ticketid": ticket.id,
                                                "priority": ticket.priority}))
    if p.has("status") and p.str("status") != ticket.status:
        ticket.status = p.str("status")
        events.append(("TicketStatusChange", {"adminid": caller.admin_id,
                                              "status": ticket.status,
                                              "ticketid": ticket.id}))
        if ticket.status == "Closed":
            events.append(("TicketClose", {"ticketid": ticket.id}))
    if p.has("subject") and p.str("subject") != ticket.subject:
        ticket.subject = p.str("subject")
        events.append(("TicketSubjectChange", {"ticketid": ticket.id,
                                               "subject": ticket.subject}))
    if p.has("flag") and p.int("flag") != ticket.flag:
        ticket.flag = p.int("flag")
        events.append(("TicketFlagged", {"ticketid": ticket.id, "adminid": ticket.flag,
                                         "adminname": data.ADMIN_DISPLAY}))
    if p.bool("removeFlag"):
        ticket.flag = 0
    for name in ("name", "email", "cc"):
        if p.has(name):
            setattr(ticket, name, p.str(name))
    if p.has("userid"):
        if p.int("userid") not in state.clients:
            raise ActionError("Client ID Not Found")
        ticket.userid = p.int("userid")
    if created is not None:
        ticket.date = created
    if p.has("message"):
        replies, _ = state.conversation(ticket)
        replies[0].message = p.str("message")
        ticket.message = p.str("message")
    state.touch()
    for hook, payload in events:
        state.emit(hook, payload)
    return _ok(ticketid=str(ticket.id))


@action("UpdateTicketReply")
def update_ticket_reply(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    if not p.has("replyid"):
        raise ActionError("Reply ID Required")
    if not p.str("message").strip():
        raise ActionError("Message is Required")
    found = state.find_reply(p.int("replyid"))
    if found is None:
        raise ActionError("Reply ID Not Found")
    _, reply = found
    if p.has("created"):
        reply.date = _created(state, p, "Reply")
    reply.message = p.str("message")
    state.touch()
    return _ok(replyid=str(reply.replyid))


@action("GetSupportDepartments")
def get_support_departments(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    ignore = p.bool("ignore_dept_assignments")

    def counts() -> dict[int, tuple[int, int]]:
        active, awaiting = _active_awaiting(state)
        out: dict[int, list[int]] = {d: [0, 0] for d in state.departments}
        for t in state.iter_tickets():
            row = out.setdefault(t.deptid, [0, 0])
            row[0] += t.status in awaiting
            row[1] += t.status in active
        return {k: (v[0], v[1]) for k, v in out.items()}

    table = state.cached(("dept-counts",), counts)
    items = [{"id": str(d.id), "name": d.name, "awaitingreply": str(table[d.id][0]),
              "opentickets": str(table[d.id][1])}
             for d in state.departments.values()
             if ignore or d.id in state.config.admin_departments]
    out = _ok(totalresults=len(items))
    render.put_list(out, "departments", "department", items, state.config)
    return out


@action("GetSupportStatuses")
def get_support_statuses(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    deptid = p.int("deptid")

    def counts() -> dict[str, int]:
        out = {title: 0 for title in state.statuses}
        for t in state.iter_tickets():
            if not deptid or t.deptid == deptid:
                out[t.status] = out.get(t.status, 0) + 1
        return out

    table = state.cached(("status-counts", deptid), counts)
    items = [{"title": s.title, "count": table.get(s.title, 0), "color": s.color}
             for s in state.statuses.values()]
    out = _ok(totalresults=len(items))
    render.put_list(out, "statuses", "status", items, state.config)
    return out


# ---------------------------------------------------------------------------- clients


@action("GetClientsDetails")
def get_clients_details(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    if p.has("clientid"):
        client = state.clients.get(p.int("clientid"))
    elif p.has("email"):
        client = state.clients_by_email.get(p.str("email").strip().lower())
    else:
        raise ActionError("Either clientid Or email Is Required")
    if client is None:
        raise ActionError("Client Not Found")
    details = render.client_details(client, state.tz)
    out = _ok(client=details)
    out.update({k: v for k, v in details.items() if k not in ("users",)})  # deprecated copy
    if p.bool("stats"):
        unpaid = [i for i in client.invoices if i.status == "Unpaid"]
        tickets = [t for t in state.iter_tickets() if t.userid == client.id]
        out["stats"] = {
            "numdueinvoices": len(unpaid),
            "dueinvoicesbalance": f"${sum(i.total for i in unpaid):.2f} USD",
            "numunpaidinvoices": len(unpaid),
            "productsnumactive": sum(s.status == "Active" for s in client.services),
            "productsnumtotal": len(client.services), "numtickets": len(tickets),
            "numactivetickets": sum(t.status != "Closed" for t in tickets),
            "creditbalance": "$0.00 USD", "isAffiliate": False,
        }
    return out


@action("GetClientsProducts")
def get_clients_products(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    start, limit = _paged(p)
    services = list(state.services.values())
    if p.has("clientid"):
        services = [s for s in services if s.clientid == p.int("clientid")]
    if p.has("serviceid"):
        services = [s for s in services if s.id == p.int("serviceid")]
    if p.has("pid"):
        services = [s for s in services if s.pid == p.int("pid")]
    if p.has("domain"):
        services = [s for s in services if s.domain == p.str("domain")]
    if p.has("username2"):
        services = [s for s in services if s.username == p.str("username2")]
    page = services[start : start + limit]
    out = _ok(clientid=p.str("clientid") or None, serviceid=p.str("serviceid") or None,
              pid=p.str("pid") or None, domain=p.str("domain") or None,
              totalresults=str(len(services)), startnumber=start, numreturned=len(page))
    render.put_list(out, "products", "product",
                    [render.product_item(s, state.tz) for s in page], state.config)
    return out


@action("GetContacts")
def get_contacts(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    """Contacts matching every filter given (``userid``, ``email``, names); e-mail compared
    case-insensitively, as MySQL's default collation does."""
    start, limit = _paged(p)
    contacts = sorted(state.contacts.values(), key=lambda c: c.id)
    if p.has("userid"):
        contacts = [c for c in contacts if c.userid == p.int("userid")]
    for key in ("email", "firstname", "lastname"):
        if p.has(key):
            wanted = p.str(key).strip().lower()
            contacts = [c for c in contacts if getattr(c, key).lower() == wanted]
    page = contacts[start : start + limit]
    out = _ok(totalresults=len(contacts), startnumber=start, numreturned=len(page))
    render.put_list(out, "contacts", "contact", [render.contact_item(c) for c in page],
                    state.config)
    return out


@action("GetUsers")
def get_users(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    """Users whose e-mail, first, last or full name *starts with* ``search`` (WHMCS 8.1+).
    Every client's owner is a user; ``users`` is a plain list (the documented example)."""
    start, limit = _paged(p)
    owners = [SimUser(id=c.user_id, firstname=c.firstname, lastname=c.lastname,
                      email=c.email, clients=[c.id], datecreated=c.datecreated)
              for c in state.clients.values()]
    users = sorted([*owners, *state.users.values()], key=lambda u: u.id,
                   reverse=p.str("sorting").upper() == "DESC")
    search = p.str("search").strip().lower()
    if search:
        users = [u for u in users if any(
            v.lower().startswith(search)
            for v in (u.email, u.firstname, u.lastname, f"{u.firstname} {u.lastname}"))]
    owned = {c.user_id: c.id for c in state.clients.values()}
    page = users[start : start + limit]
    out = _ok(totalresults=len(users), startnumber=start, numreturned=len(page))
    out["users"] = [render.user_item(u, state.tz, [owned[u.id]] if u.id in owned else [])
                    for u in page]
    return out


@action("GetClientsDomains")
def get_clients_domains(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    start, limit = _paged(p)
    domains = sorted(state.domains.values(), key=lambda d: d.id)
    if p.has("clientid"):
        domains = [d for d in domains if d.userid == p.int("clientid")]
    if p.has("domainid"):
        domains = [d for d in domains if d.id == p.int("domainid")]
    if p.has("domain"):
        domains = [d for d in domains if d.domainname == p.str("domain")]
    page = domains[start : start + limit]
    out = _ok(clientid=p.str("clientid"), domainid=p.str("domainid"),
              totalresults=str(len(domains)), startnumber=str(start),
              numreturned=str(len(page)))
    render.put_list(out, "domains", "domain", [render.domain_item(d, state.tz) for d in page],
                    state.config)
    return out


@action("GetPayMethods")
def get_pay_methods(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    if not p.has("clientid"):
        raise ActionError("Client ID Is Required")
    kind = p.str("type")
    if kind and kind not in ("BankAccount", "CreditCard"):
        raise ActionError("Invalid Pay Method Type. Should be 'BankAccount' or 'CreditCard'")
    client = state.clients.get(p.int("clientid"))
    if client is None:
        raise ActionError("Client Not Found")
    methods = client.paymethods
    if p.has("paymethodid"):
        methods = [m for m in methods if m.id == p.int("paymethodid")]
    if kind:
        methods = [m for m in methods if kind in m.type]
    return _ok(clientid=client.id,
               paymethods=[render.paymethod_item(m, state.tz) for m in methods])


@action("ValidateLogin")
def validate_login(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    client = state.clients_by_email.get(p.str("email").strip().lower())
    ok = client is not None and p.has("password2") and p.str("password2") == client.password
    state.logins.append({"email": p.str("email"), "success": bool(ok),
                         "at": state.now().isoformat()})
    if not ok or client is None:
        raise ActionError("Email or Password Invalid")
    client.lastlogin = state.now()  # the side effect the reference warns about
    digest = hashlib.sha256(f"sim:{client.password}".encode()).hexdigest()
    return _ok(userid=client.user_id, passwordhash=f"$2y$10${digest[:53]}",
               twoFactorEnabled="false")


@action("GetInvoices")
def get_invoices(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    start, limit = _paged(p)
    rows = [(i, c) for c in state.clients.values() for i in c.invoices]
    if p.has("userid"):
        rows = [(i, c) for i, c in rows if i.userid == p.int("userid")]
    status = p.str("status")
    if status == "Overdue":
        now = state.now()
        rows = [(i, c) for i, c in rows if i.status == "Unpaid" and i.duedate < now]
    elif status:
        rows = [(i, c) for i, c in rows if i.status == status]
    orderby = p.str("orderby") or "id"
    keys: dict[str, Callable[[Any], Any]] = {
        "id": lambda r: r[0].id, "invoicenumber": lambda r: r[0].id,
        "date": lambda r: r[0].date, "duedate": lambda r: r[0].duedate,
        "total": lambda r: r[0].total, "status": lambda r: r[0].status}
    rows.sort(key=keys.get(orderby, keys["id"]), reverse=p.str("order").lower() == "desc")
    page = rows[start : start + limit]
    out = _ok(totalresults=len(rows), startnumber=start, numreturned=len(page))
    render.put_list(out, "invoices", "invoice",
                    [render.invoice_item(i, c, state.tz) for i, c in page], state.config)
    return out


@action("GetTransactions")
def get_transactions(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    rows = state.transactions
    if p.has("invoiceid"):
        rows = [t for t in rows if t.invoiceid == p.int("invoiceid")]
    if p.has("clientid"):
        rows = [t for t in rows if t.userid == p.int("clientid")]
    if p.has("transid"):
        rows = [t for t in rows if t.transid == p.str("transid")]
    out = _ok(totalresults=str(len(rows)), startnumber=0, numreturned=len(rows))
    render.put_list(out, "transactions", "transaction",
                    [render.transaction_item(t, state.tz) for t in rows], state.config)
    return out


@action("ModuleChangePw")
def module_change_pw(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    """Runs the service module's password change (api-reference/modulechangepw.md), then
    fires AfterModuleChangePassword with its documented vars: ``serviceid``, ``oldpassword``,
    ``newpassword``. Without ``servicepassword`` the stored password is pushed again (old and
    new are the same; UNVERIFIED in the docs). The PreModuleChangePassword gate is not
    simulated."""
    if not p.has("serviceid"):
        raise ActionError("Service ID is required")
    service = state.services.get(p.int("serviceid"))
    if service is None:
        raise ActionError("Service ID not found")
    if not service.serverid:
        raise ActionError("Service not assigned to a module")
    old = service.password
    if p.has("servicepassword"):
        service.password = p.str("servicepassword")
    state.touch()
    state.emit("AfterModuleChangePassword",
               hook_vars.after_module_change_password(service.id, old, service.password))
    return _ok()


# ---------------------------------------------------------------------------- messaging


@action("SendEmail")
def send_email(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    name, custom = p.str("messagename"), p.str("customtype")
    if not name and not custom:
        raise ActionError("You must provide either an existing email template name or a "
                          "custom message type")
    if not name:
        if custom not in CUSTOM_TYPES:
            raise ActionError("Invalid message type provided")
        if not p.str("customsubject").strip():
            raise ActionError("A subject is required for a custom message")
        if not p.str("custommessage").strip():
            raise ActionError("A message body is required for a custom message")
    customvars = None
    if p.has("customvars"):
        customvars = _customfields(p, "customvars")
        if customvars is None:
            raise ActionError("The custom variables you provided are invalid.")
    if not p.has("id"):
        raise ActionError("A related ID is required")
    if name and name not in CLIENT_TEMPLATES:
        raise ActionError("Email Template not found")
    if name in UNSENDABLE:
        raise ActionError("Sending Failed. Please see documentation.")
    kind = custom or ("support" if name.startswith("Support") else
                      "invoice" if name.startswith("Invoice") else "general")
    related = p.int("id")
    recipient = _recipient(state, kind, related)
    if recipient is None:
        raise ActionError("Sending Failed. Please see documentation.")
    state.sent_emails.append({
        "messagename": name or None, "customtype": custom or None, "id": related,
        "subject": p.str("customsubject") or name, "message": p.str("custommessage"),
        "customvars": customvars or {}, "to": recipient, "at": state.now().isoformat()})
    return _ok()


def _recipient(state: SimState, kind: str, related: int) -> str | None:
    if kind == "support":
        ticket = state.ticket(related)
        return ticket.email if ticket else None
    if kind == "invoice":
        for client in state.clients.values():
            if any(i.id == related for i in client.invoices):
                return client.email
        return None
    if kind == "product":
        service = state.services.get(related)
        owner = state.clients.get(service.clientid) if service else None
        return owner.email if owner else None
    found = state.clients.get(related)
    return found.email if found else None


@action("SendAdminEmail")
def send_admin_email(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    name = p.str("messagename")
    if name and name not in ADMIN_TEMPLATES:
        raise ActionError("Email Template not found")
    if not name and not (p.str("customsubject") and p.str("custommessage")):
        raise ActionError("Email Template not found")
    state.admin_emails.append({
        "messagename": name or None, "subject": p.str("customsubject") or name,
        "message": p.str("custommessage"), "type": p.str("type") or "system",
        "deptid": p.int("deptid") or None, "mergefields": p.dict("mergefields"),
        "at": state.now().isoformat()})
    return _ok()


@action("TriggerNotificationEvent")
def trigger_notification_event(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    if not p.str("notification_identifier"):
        raise ActionError("API Notification Events require a identifier string to be passed.")
    if not p.str("title"):
        raise ActionError("API Notification Events require a title to be provided.")
    if not p.str("message"):
        raise ActionError("API Notification Events require a message to be provided.")
    attributes = p.dict("attributes")
    state.notifications.append({
        "notification_identifier": p.str("notification_identifier"), "title": p.str("title"),
        "message": p.str("message"), "url": p.str("url"), "status": p.str("status"),
        "statusStyle": p.str("statusStyle"),
        "attributes": [attributes[k] for k in sorted(attributes, key=lambda k: (len(k), k))],
        "at": state.now().isoformat()})
    return _ok()


@action("GetAdminDetails")
def get_admin_details(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    depts = ",".join(str(d) for d in state.config.admin_departments)
    version = state.config.whmcs_version
    return _ok(adminid=caller.admin_id, name=data.ADMIN_DISPLAY, notes="",
               signature="Sim Support team",
               allowedpermissions="API Access,List Support Tickets,View Support Ticket,"
                                  "Open New Ticket",
               departments=f",{depts},", requesttime=render.dt(state.now(), state.tz),
               whmcs={"version": version.split("-")[0], "canonicalversion": version})


@action("GetAdminUsers")
def get_admin_users(state: SimState, p: Params, caller: Caller) -> dict[str, Any]:
    """The admins behind the configured credentials, shaped as the documented example:
    ``count`` and a bare ``admin_users`` array (not a wrapped list), ints for ids."""
    admins: list[dict[str, Any]] = []
    for index, cred in enumerate(state.config.credentials):
        if cred.disabled and not p.bool("include_disabled"):
            continue
        if any(a["username"] == cred.admin_username for a in admins):
            continue
        first, _, last = (data.ADMIN_DISPLAY if cred.admin_username == caller.admin_username
                          else cred.admin_username.title()).partition(" ")
        admins.append({
            "id": index + 1, "uuid": "", "roleId": 1 if cred.allowed_actions is None else 2,
            "username": cred.admin_username, "twoFactorAuthModule": "", "firstname": first,
            "lastname": last, "email": f"{cred.admin_username}@sim.invalid", "signature": "",
            "notes": "", "template": "blend", "language": "english",
            "isDisabled": int(cred.disabled), "loginAttempts": 0,
            "supportDepartmentIds": [str(d) for d in state.config.admin_departments],
            "receivesTicketNotifications": [""], "homepageWidgetsConfig": "",
            "hiddenHomepageWidgets": "", "fullName": f"{first} {last}".strip()})
    if p.has("roleid"):
        admins = [a for a in admins if a["roleId"] == p.int("roleid")]
    if p.has("email"):
        admins = [a for a in admins if p.str("email").lower() in a["email"]]
    return _ok(count=len(admins), admin_users=admins)
