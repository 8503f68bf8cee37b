"""Typed results of WHMCS API calls (plain dataclasses, built by :mod:`.schemas`).

Every model keeps the fields WHMCS sent that it does not name in ``extra`` (raw values), so a
newer WHMCS adding fields never breaks the client and nothing is lost. ``extra`` is left out
of reprs; so is anything secret (service passwords, password hashes, gateway tokens), which
is wrapped in :class:`whmcs_bridge.settings.Secret` — call ``.reveal()`` where the value is
really needed (e.g. a constant-time comparison).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from whmcs_bridge.settings import Secret

#: ``date`` under another name, for classes whose field ``date`` shadows the type
Date = date

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a listing: ``items`` plus WHMCS's counters (all ints)."""

    items: list[T]
    total: int
    start: int
    returned: int

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class TicketAttachment:
    filename: str
    index: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Reply:
    """A message in a ticket. ``replyid == 0`` is the opening message (WHMCS puts it first)."""

    replyid: int
    date: datetime | None = None
    message: str = ""
    userid: int | None = None
    contactid: int | None = None
    name: str = ""
    email: str = ""
    requestor_name: str = ""
    requestor_email: str = ""
    requestor_type: str = ""
    admin: str = ""
    rating: int | None = None
    attachment: str = ""
    attachments: list[TicketAttachment] = field(default_factory=list)
    attachments_removed: bool = False
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_opening(self) -> bool:
        return self.replyid == 0

    @property
    def is_staff(self) -> bool:
        """Written by an admin (WHMCS sets ``admin`` to the staff name only then)."""
        return bool(self.admin)


@dataclass
class Note:
    noteid: int
    date: datetime | None = None
    message: str = ""
    admin: str = ""
    attachment: str = ""
    attachments: list[TicketAttachment] = field(default_factory=list)
    attachments_removed: bool = False
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Ticket:
    """A support ticket. ``id`` is the database id (``ticketid`` in GetTicket, ``id`` in
    GetTickets); ``tid`` the public ticket number (a string — never parse it). ``replies`` and
    ``notes`` are only filled by :meth:`WhmcsClient.get_ticket`."""

    id: int
    tid: str = ""
    c: str = ""
    deptid: int | None = None
    deptname: str | None = None
    userid: int = 0
    contactid: int | None = None
    name: str = ""
    email: str = ""
    owner_name: str = ""
    requestor_name: str = ""
    requestor_email: str = ""
    requestor_type: str = ""
    cc: str = ""
    date: datetime | None = None
    subject: str = ""
    status: str = ""
    priority: str = ""
    admin: str = ""
    lastreply: datetime | None = None
    flag: int = 0
    service: str = ""
    attachment: str = ""
    attachments: list[TicketAttachment] = field(default_factory=list)
    attachments_removed: bool = False
    replies: list[Reply] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def opening(self) -> Reply | None:
        """The opening message (``replyid`` 0), when replies were loaded."""
        return next((r for r in self.replies if r.replyid == 0), None)


@dataclass
class ListedTicket:
    """A GetTickets row as far as a sync compares it (:meth:`WhmcsClient.get_listed_tickets`):
    what is stored from the listing and what says a ticket must be read again."""

    id: int
    tid: str = ""
    subject: str = ""
    status: str = ""
    priority: str = ""
    deptid: int | None = None
    userid: int = 0
    date: datetime | None = None
    lastreply: datetime | None = None


@dataclass
class OpenedTicket:
    """What OpenTicket returns: database id, public number, client access code."""

    id: int
    tid: str
    c: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Department:
    id: int
    name: str = ""
    awaitingreply: int = 0
    opentickets: int = 0
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class TicketStatus:
    title: str
    count: int = 0
    color: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Client:
    """A WHMCS client (GetClientsDetails' ``client`` object)."""

    id: int
    uuid: str = ""
    firstname: str = ""
    lastname: str = ""
    fullname: str = ""
    companyname: str = ""
    email: str = ""
    phonenumber: str = ""
    country: str = ""
    language: str = ""
    status: str = ""
    currency_code: str = ""
    groupid: int | None = None
    owner_user_id: int | None = None
    email_verified: bool = False
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Product:
    """A client's service (GetClientsProducts). ``password`` is the service password, hidden."""

    id: int
    clientid: int | None = None
    pid: int | None = None
    orderid: int | None = None
    name: str = ""
    groupname: str = ""
    domain: str = ""
    status: str = ""
    billingcycle: str = ""
    regdate: date | None = None
    nextduedate: date | None = None
    firstpaymentamount: Decimal | None = None
    recurringamount: Decimal | None = None
    paymentmethod: str = ""
    dedicatedip: str = ""
    serverid: int | None = None
    username: str = ""
    password: Secret | None = field(default=None, repr=False, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Contact:
    """A client's contact (GetContacts): ``userid`` is the client it belongs to."""

    id: int
    userid: int | None = None
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class User:
    """A WHMCS 8 user login (GetUsers): ``client_ids`` are the clients it may act for."""

    id: int
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    client_ids: list[int] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Domain:
    """A client's registered domain (GetClientsDomains): ``userid`` is its client."""

    id: int
    userid: int | None = None
    domainname: str = ""
    status: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class PayMethod:
    """A stored pay method (GetPayMethods). ``card_last_four`` is what identity checks use."""

    id: int
    type: str = ""
    description: str = ""
    gateway_name: str = ""
    contact_type: str = ""
    contact_id: int | None = None
    card_last_four: str = ""
    card_type: str = ""
    expiry_date: str = ""
    bank_name: str = ""
    last_updated: datetime | None = None
    remote_token: Secret | None = field(default=None, repr=False, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Invoice:
    id: int
    userid: int | None = None
    invoicenum: str = ""
    date: date | None = None
    duedate: Date | None = None
    datepaid: datetime | None = None
    subtotal: Decimal | None = None
    credit: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    status: str = ""
    paymentmethod: str = ""
    currencycode: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Transaction:
    id: int
    userid: int | None = None
    invoiceid: int | None = None
    currency: int | None = None
    gateway: str = ""
    date: datetime | None = None
    description: str = ""
    amountin: Decimal | None = None
    fees: Decimal | None = None
    amountout: Decimal | None = None
    transid: str = ""
    refundid: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class LoginResult:
    """A successful ValidateLogin: ``userid`` is a WHMCS *user* id in 8.x."""

    userid: int
    two_factor_enabled: bool = False
    passwordhash: Secret | None = field(default=None, repr=False, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class AdminDetails:
    """GetAdminDetails: who the API credential acts as, and the WHMCS version."""

    adminid: int
    name: str = ""
    permissions: list[str] = field(default_factory=list)
    departments: list[int] = field(default_factory=list)
    whmcs_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class AdminUser:
    """One GetAdminUsers item (7.7+): a WHMCS administrator account."""

    id: int
    username: str = ""
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    role_id: int | None = None
    is_disabled: bool = False
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
