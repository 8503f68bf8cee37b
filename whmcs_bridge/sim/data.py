"""Seeded, deterministic sample data for the simulator.

The same seed gives the same clients, services, pay methods, invoices, transactions and
tickets (times are offsets from the state's anchor). Secrets follow documented formulas so
tests and demos can use them: client login password ``client-pass-<client id>``, service
password ``svc-pass-<service id>``; WHMCS *user* ids are ``1000 + client id`` (as in 8.x,
ValidateLogin returns a user id, not a client id).
"""

from __future__ import annotations

import random
import string
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from whmcs_bridge.sim.records import (
    SimClient,
    SimDepartment,
    SimInvoice,
    SimNote,
    SimPayMethod,
    SimReply,
    SimService,
    SimStatus,
    SimTicket,
    SimTransaction,
)

USER_ID_OFFSET = 1000
STAFF_NAME = "Sim Support"
ADMIN_DISPLAY = "Sim Admin"

DEPARTMENTS = (
    SimDepartment(1, "Technical Support", "support@example.test"),
    SimDepartment(2, "Billing", "billing@example.test"),
    SimDepartment(3, "Sales", "sales@example.test"),
    SimDepartment(4, "Abuse", "abuse@example.test"),
)

STATUSES = (
    SimStatus("Open", "#779500", True, True),
    SimStatus("Answered", "#000000", True, False),
    SimStatus("Customer-Reply", "#ff6600", True, True),
    SimStatus("On Hold", "#224488", True, False),
    SimStatus("In Progress", "#cc0000", True, False),
    SimStatus("Closed", "#888888", False, False),
)
PRIORITIES = ("Low", "Medium", "High")

FIRST = ("An", "Binh", "Chi", "Dung", "Giang", "Hoa", "Khanh", "Linh", "Minh", "Nam",
         "Phuong", "Quang", "Thao", "Tuan", "Alice", "Bob", "Carol", "David", "Emma", "Frank")
LAST = ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang", "Bui", "Smith", "Jones",
        "Brown", "Taylor")
SUBJECTS = {
    1: ("Website is down", "Cannot send email", "SSL certificate error", "Server is very slow",
        "DNS not resolving", "Please install WordPress", "Database connection error"),
    2: ("Question about my invoice", "Refund request", "Change my payment method",
        "Upgrade my hosting plan", "Card charged twice"),
    3: ("Pre-sales question", "Discount for a yearly plan", "Do you offer VPS in Hanoi?"),
    4: ("Spam coming from your network", "Phishing page report"),
}
PRODUCTS = ((1, "Shared Hosting Basic", "Hosting", Decimal("5.00")),
            (2, "Shared Hosting Pro", "Hosting", Decimal("12.50")),
            (3, "VPS 2GB", "VPS", Decimal("20.00")),
            (4, "Dedicated Server", "Dedicated", Decimal("149.00")))
CARD_TYPES = ("Visa", "MasterCard", "American Express")
GATEWAYS = ("stripe", "paypal", "banktransfer")

# Ticket origins: client area, guest e-mail, staff-opened (weights).
ORIGINS = (("client", 60), ("guest", 25), ("staff", 15))


def client_password(client_id: int) -> str:
    return f"client-pass-{client_id}"


def service_password(service_id: int) -> str:
    return f"svc-pass-{service_id}"


def _code(rng: random.Random, n: int = 8) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def make_clients(seed: int, count: int, anchor: datetime) -> list[SimClient]:
    rng = random.Random(f"clients:{seed}")
    clients: list[SimClient] = []
    service_id = paymethod_id = invoice_id = order_id = 0
    for cid in range(1, count + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        vietnamese = rng.random() < 0.6
        created = anchor - timedelta(days=rng.randint(30, 900))
        client = SimClient(
            id=cid, user_id=USER_ID_OFFSET + cid,
            uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            firstname=first, lastname=last,
            email=f"{first}.{last}{cid}@example.test".lower(),
            password=client_password(cid),
            companyname=rng.choice(("", "", f"{last} Co., Ltd")),
            country="VN" if vietnamese else rng.choice(("US", "GB", "SG")),
            language="vietnamese" if vietnamese else "english",
            currency_code="VND" if vietnamese else "USD",
            status="Active" if rng.random() < 0.9 else "Inactive",
            datecreated=created,
            phonenumber=f"+84.9{rng.randint(10000000, 99999999)}",
        )
        for _ in range(rng.randint(1, 3)):
            service_id += 1
            order_id += 1
            pid, pname, group, amount = rng.choice(PRODUCTS)
            regdate = created + timedelta(days=rng.randint(0, 20))
            client.services.append(SimService(
                id=service_id, clientid=cid, pid=pid, name=pname, groupname=group,
                domain=f"{last.lower()}{cid}-{service_id}.example.test",
                username=f"u{cid}s{service_id}"[:16], password=service_password(service_id),
                status=rng.choice(("Active", "Active", "Active", "Suspended", "Cancelled")),
                billingcycle=rng.choice(("Monthly", "Annually")), regdate=regdate,
                nextduedate=anchor + timedelta(days=rng.randint(-10, 60)), amount=amount,
                orderid=order_id))
        for index in range(rng.randint(1, 2)):
            paymethod_id += 1
            if index == 0 or rng.random() < 0.5:
                remote = rng.random() < 0.4
                client.paymethods.append(SimPayMethod(
                    id=paymethod_id, clientid=cid,
                    type="RemoteCreditCard" if remote else "CreditCard",
                    description="", gateway_name="stripe" if remote else "offlinecc",
                    card_last_four=f"{rng.randrange(10000):04d}",
                    card_type=rng.choice(CARD_TYPES),
                    expiry_date=f"{rng.randint(1, 12):02d}/{rng.randint(27, 31)}",
                    remote_token=f"tok_{_code(rng, 20)}" if remote else "",
                    last_updated=created + timedelta(days=rng.randint(1, 20))))
            else:
                client.paymethods.append(SimPayMethod(
                    id=paymethod_id, clientid=cid, type="BankAccount", description="",
                    gateway_name="directdebit", bank_name=rng.choice(("Vietcombank", "ACB")),
                    last_updated=created + timedelta(days=rng.randint(1, 20))))
        for _ in range(rng.randint(1, 4)):
            invoice_id += 1
            date = anchor - timedelta(days=rng.randint(0, 200))
            subtotal = Decimal(rng.choice(("5.00", "12.50", "20.00", "149.00", "60.00")))
            tax = (subtotal * Decimal("0.10")).quantize(Decimal("0.01"))
            status = rng.choice(("Paid", "Paid", "Unpaid", "Cancelled"))
            client.invoices.append(SimInvoice(
                id=invoice_id, userid=cid, date=date, duedate=date + timedelta(days=7),
                datepaid=date + timedelta(days=rng.randint(0, 6)) if status == "Paid" else None,
                subtotal=subtotal, tax=tax, total=subtotal + tax, status=status,
                paymentmethod=rng.choice(GATEWAYS)))
        clients.append(client)
    return clients


def make_transactions(seed: int, clients: list[SimClient]) -> list[SimTransaction]:
    rng = random.Random(f"transactions:{seed}")
    out: list[SimTransaction] = []
    for client in clients:
        for invoice in client.invoices:
            if invoice.status != "Paid" or invoice.datepaid is None:
                continue
            out.append(SimTransaction(
                id=len(out) + 1, userid=client.id, invoiceid=invoice.id, date=invoice.datepaid,
                amountin=invoice.total,
                fees=(invoice.total * Decimal("0.03")).quantize(Decimal("0.01")),
                gateway=invoice.paymentmethod, transid=f"TX{rng.randrange(10**9):09d}",
                description=f"Invoice Payment #{invoice.id}"))
    return out


def make_tickets(seed: int, count: int, anchor: datetime,
                 clients: list[SimClient]) -> list[SimTicket]:
    """Ticket headers only; conversations come from :func:`build_conversation` on access."""
    rng = random.Random(f"tickets:{seed}")
    kinds = [k for k, _ in ORIGINS]
    weights = [w for _, w in ORIGINS]
    dept_ids = [d.id for d in DEPARTMENTS]
    seen: set[str] = set()
    tickets: list[SimTicket] = []
    for tid_num in range(1, count + 1):
        origin = rng.choices(kinds, weights)[0]
        deptid = rng.choices(dept_ids, (50, 30, 15, 5))[0]
        client = rng.choice(clients)
        opened = anchor - timedelta(minutes=rng.randint(5, 60 * 24 * 45))
        while True:
            tid = (f"{''.join(rng.choices(string.ascii_uppercase, k=3))}-"
                   f"{rng.randrange(10**6):06d}")
            if tid not in seen:
                seen.add(tid)
                break
        if origin == "guest":
            first, last = rng.choice(FIRST), rng.choice(LAST)
            userid, name = 0, f"{first} {last}"
            email, requestor = f"{first}.{tid_num}@guest.example.net".lower(), "Guest"
        else:
            userid, name, email, requestor = client.id, client.fullname, client.email, "Owner"
        plan = reply_plan(seed, tid_num, opened, anchor)
        last_kind = plan[-1][1] if plan else None
        if rng.random() < 0.2:
            status = "Closed"
        elif rng.random() < 0.1:
            status = rng.choice(("On Hold", "In Progress"))
        elif last_kind == "staff":
            status = "Answered"
        elif last_kind == "client":
            status = "Customer-Reply"
        else:
            status = "Open"
        service = ""
        if userid and client.services and rng.random() < 0.5:
            service = f"S{rng.choice(client.services).id}"
        tickets.append(SimTicket(
            id=tid_num, tid=tid, c=_code(rng), deptid=deptid, userid=userid, name=name,
            email=email, requestor_type=requestor, date=opened,
            subject=rng.choice(SUBJECTS[deptid]),
            status=status, priority=rng.choices(PRIORITIES, (30, 50, 20))[0],
            admin=ADMIN_DISPLAY if origin == "staff" else "",
            lastreply=plan[-1][0] if plan else opened,
            flag=1 if rng.random() < 0.05 else 0, service=service))
    return tickets


def reply_plan(seed: int, ticket_id: int, opened: datetime,
               anchor: datetime) -> list[tuple[datetime, str]]:
    """(time, "staff"|"client") of each real reply; deterministic per ticket."""
    rng = random.Random(seed * 1_000_003 + ticket_id)
    plan: list[tuple[datetime, str]] = []
    at = opened
    kind = "client"
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
        kind = "staff" if kind == "client" else "client"
        at = at + timedelta(minutes=rng.randint(3, 60 * 20))
        if at >= anchor:
            break
        plan.append((at, kind))
    return plan


def build_conversation(seed: int, ticket: SimTicket, anchor: datetime,
                       first_reply_id: int) -> tuple[list[SimReply], list[SimNote]]:
    """The seeded replies (reply ids from ``first_reply_id``) and notes of one ticket."""
    rng = random.Random(f"conversation:{seed}:{ticket.id}")
    opening = ticket.message or (
        f"Hello,\r\n\r\n{ticket.subject}. Please help.\r\n\r\nThanks,\r\n{ticket.name}")
    replies = [SimReply(0, ticket.date, opening, ticket.userid, ticket.name, ticket.email,
                        ticket.requestor_type, ticket.admin)]
    for index, (at, kind) in enumerate(reply_plan(seed, ticket.id, ticket.date, anchor)):
        if kind == "staff":
            replies.append(SimReply(first_reply_id + index, at,
                                    "Thanks for contacting us. We are looking into it.\r\n",
                                    ticket.userid, "", "", "Operator", STAFF_NAME))
        else:
            replies.append(SimReply(first_reply_id + index, at,
                                    "Any update on this?\r\n", ticket.userid, ticket.name,
                                    ticket.email, ticket.requestor_type))
    notes = [SimNote(first_reply_id + 50 + n, ticket.date + timedelta(minutes=2 + n),
                     f"Internal note {n + 1}: checked the logs.", STAFF_NAME)
             for n in range(rng.choice((0, 0, 1, 2)))]
    return replies, notes
