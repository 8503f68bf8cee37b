"""The simulator's in-memory records (compact: 100,000 tickets must fit comfortably).

``python bench/sim_memory.py`` measured 101 MiB of heap for 100,000 tickets and 10,000
clients, about 1 KiB a ticket, the same per ticket as for 1,000.

Times are aware UTC datetimes inside; :mod:`.render` turns them into WHMCS's naive strings.
A seeded ticket's replies and notes are built on first access from the ticket's own seed, so
listing 100k tickets never materialises 100k conversations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(slots=True)
class SimReply:
    replyid: int
    date: datetime
    message: str
    userid: int
    name: str = ""
    email: str = ""
    requestor_type: str = "Owner"
    admin: str = ""
    contactid: int = 0
    rating: int = 0


@dataclass(slots=True)
class SimNote:
    noteid: int
    date: datetime
    message: str
    admin: str


@dataclass(slots=True)
class SimTicket:
    id: int
    tid: str
    c: str
    deptid: int
    userid: int
    name: str
    email: str
    requestor_type: str
    date: datetime
    subject: str
    status: str
    priority: str
    admin: str
    lastreply: datetime
    flag: int = 0
    service: str = ""
    cc: str = ""
    message: str = ""
    #: None until first access (then built from the ticket's seed); lists afterwards.
    replies: list[SimReply] | None = None
    notes: list[SimNote] | None = None


@dataclass(slots=True)
class SimService:
    id: int
    clientid: int
    pid: int
    name: str
    groupname: str
    domain: str
    username: str
    password: str
    status: str
    billingcycle: str
    regdate: datetime
    nextduedate: datetime
    amount: Decimal
    orderid: int
    serverid: int = 1


@dataclass(slots=True)
class SimPayMethod:
    id: int
    clientid: int
    type: str
    description: str
    gateway_name: str
    card_last_four: str = ""
    card_type: str = ""
    expiry_date: str = ""
    bank_name: str = ""
    remote_token: str = ""
    last_updated: datetime | None = None


@dataclass(slots=True)
class SimInvoice:
    id: int
    userid: int
    date: datetime
    duedate: datetime
    datepaid: datetime | None
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    status: str
    paymentmethod: str


@dataclass(slots=True)
class SimTransaction:
    id: int
    userid: int
    invoiceid: int
    date: datetime
    amountin: Decimal
    fees: Decimal
    gateway: str
    transid: str
    description: str


@dataclass(slots=True)
class SimClient:
    id: int
    user_id: int
    uuid: str
    firstname: str
    lastname: str
    email: str
    password: str
    companyname: str
    country: str
    language: str
    currency_code: str
    status: str
    datecreated: datetime
    phonenumber: str
    lastlogin: datetime | None = None
    services: list[SimService] = field(default_factory=list)
    paymethods: list[SimPayMethod] = field(default_factory=list)
    invoices: list[SimInvoice] = field(default_factory=list)

    @property
    def fullname(self) -> str:
        return f"{self.firstname} {self.lastname}"


@dataclass(slots=True)
class SimContact:
    """A client's contact (GetContacts): another address that belongs to the client."""

    id: int
    userid: int
    firstname: str
    lastname: str
    email: str


@dataclass(slots=True)
class SimUser:
    """A WHMCS 8 user login other than a client's owner (GetUsers): ``clients`` are the ids
    it may act for. Owner users are not stored; they are derived from the clients."""

    id: int
    firstname: str
    lastname: str
    email: str
    clients: list[int] = field(default_factory=list)
    datecreated: datetime | None = None


@dataclass(slots=True)
class SimDomain:
    """A client's registered domain (GetClientsDomains)."""

    id: int
    userid: int
    domainname: str
    status: str = "Active"
    registrar: str = "enom"
    regdate: datetime | None = None
    expirydate: datetime | None = None


@dataclass(frozen=True, slots=True)
class SimDepartment:
    id: int
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class SimStatus:
    title: str
    color: str
    active: bool
    awaiting: bool
