"""Records → the JSON WHMCS sends, quirks included (pure functions of a record + config).

Per the reference's simulator checklist: ticket, reply, department, product and transaction
ids are strings; client, invoice and status counts are ints; GetTickets mixes a string
``totalresults`` with int ``startnumber``/``numreturned``; dates are naive in the server zone;
GetTicket says ``ticketid`` (not ``id``) and starts its replies with the opening message as
reply ``"0"``; empty attachments are ``[[]]``; empty lists take the configured shape.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from whmcs_bridge.sim.config import SimConfig
from whmcs_bridge.sim.records import (
    SimClient,
    SimContact,
    SimDomain,
    SimInvoice,
    SimNote,
    SimPayMethod,
    SimReply,
    SimService,
    SimTicket,
    SimTransaction,
    SimUser,
)

ZERO_DATETIME = "0000-00-00 00:00:00"
ZERO_DATE = "0000-00-00"


def dt(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else ZERO_DATETIME


def d(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d") if value else ZERO_DATE


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def put_list(out: dict[str, Any], key: str, inner: str, items: list[Any],
             config: SimConfig) -> None:
    """Place ``items`` under ``out[key]`` as ``{inner: [...]}``, or the configured empty shape."""
    if items:
        value: Any = items[0] if config.single_item_as_object and len(items) == 1 else items
        out[key] = {inner: value}
        return
    shape = config.empty_list_shape
    if shape == "omit":
        return
    out[key] = {"empty_string": "", "empty_list": [], "empty_object": {},
                "wrapper_only": {}, "wrapper_empty_list": {inner: []}}[shape]


def ticket_item(t: SimTicket, tz: tzinfo, owner: SimClient | None) -> dict[str, Any]:
    """A GetTickets list item (stringly typed, as the documented example)."""
    return {
        "id": str(t.id), "tid": t.tid, "deptid": str(t.deptid), "userid": str(t.userid),
        "name": t.name, "owner_name": owner.fullname if owner else "", "email": t.email,
        "requestor_name": t.name, "requestor_email": t.email,
        "requestor_type": t.requestor_type, "cc": t.cc, "c": t.c, "date": dt(t.date, tz),
        "subject": t.subject, "status": t.status, "priority": t.priority, "admin": t.admin,
        "attachment": "", "attachments": [], "attachments_removed": False,
        "lastreply": dt(t.lastreply, tz), "flag": str(t.flag), "service": t.service,
    }


def reply_item(r: SimReply, tz: tzinfo, opening: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "replyid": str(r.replyid), "userid": str(r.userid), "contactid": str(r.contactid),
        "name": r.name, "email": r.email, "requestor_name": r.name,
        "requestor_email": r.email, "requestor_type": r.requestor_type,
        "date": dt(r.date, tz), "message": r.message, "attachment": "",
        "attachments": [[]], "attachments_removed": False, "admin": r.admin,
    }
    if not opening:
        out["rating"] = str(r.rating)
    return out


def note_item(n: SimNote, tz: tzinfo) -> dict[str, Any]:
    return {"noteid": str(n.noteid), "date": dt(n.date, tz), "message": n.message,
            "attachment": "", "attachments": [[]], "attachments_removed": False,
            "admin": n.admin}


def ticket_detail(t: SimTicket, replies: list[SimReply], notes: list[SimNote], deptname: str,
                  tz: tzinfo, config: SimConfig, *, descending: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "result": "success", "ticketid": str(t.id), "tid": t.tid, "c": t.c,
        "deptid": str(t.deptid), "deptname": deptname, "userid": str(t.userid),
        "contactid": "0", "name": t.name, "email": t.email, "requestor_name": t.name,
        "requestor_type": t.requestor_type, "requestor_email": t.email, "cc": t.cc,
        "date": dt(t.date, tz), "subject": t.subject, "status": t.status,
        "priority": t.priority, "admin": t.admin, "lastreply": dt(t.lastreply, tz),
        "flag": str(t.flag), "service": t.service,
    }
    items = [reply_item(r, tz, r.replyid == 0) for r in replies]
    if descending:
        items.reverse()
    put_list(out, "replies", "reply", items, config)
    put_list(out, "notes", "note", [note_item(n, tz) for n in notes], config)
    return out


def client_details(c: SimClient, tz: tzinfo) -> dict[str, Any]:
    """GetClientsDetails' ``client`` object (ints for ids, as its example)."""
    lastlogin = (f"Date: {c.lastlogin.astimezone(tz).strftime('%d/%m/%Y %H:%M')}<br>"
                 "IP Address: 127.0.0.1<br>Host: localhost") if c.lastlogin else "No Login Logged"
    return {
        "client_id": c.id, "owner_user_id": c.user_id, "userid": c.id, "id": c.id,
        "uuid": c.uuid, "firstname": c.firstname, "lastname": c.lastname,
        "fullname": c.fullname, "companyname": c.companyname, "email": c.email,
        "address1": "1 Example Street", "address2": "", "city": "Ho Chi Minh City",
        "fullstate": "", "state": "", "postcode": "700000", "countrycode": c.country,
        "country": c.country, "phonenumber": c.phonenumber, "tax_id": "",
        "email_preferences": {"general": "1", "invoice": "1", "support": "1",
                              "product": "1", "domain": "1", "affiliate": "0"},
        "statecode": "", "countryname": c.country, "phonecc": 84,
        "phonenumberformatted": c.phonenumber, "telephoneNumber": c.phonenumber,
        "billingcid": 0, "notes": "", "currency": 1 if c.currency_code == "USD" else 2,
        "defaultgateway": "", "groupid": 0, "status": c.status, "credit": "0.00",
        "taxexempt": False, "latefeeoveride": False, "overideduenotices": False,
        "separateinvoices": False, "disableautocc": False, "emailoptout": False,
        "marketing_emails_opt_in": False, "overrideautoclose": False,
        "allowSingleSignOn": 1, "email_verified": True, "language": c.language,
        "isOptedInToMarketingEmails": False, "lastlogin": lastlogin,
        "currency_code": c.currency_code, "customfields": [],
        "users": {"user": [{"id": c.user_id, "name": c.fullname, "email": c.email,
                            "is_owner": True}]},
    }


def product_item(s: SimService, tz: tzinfo) -> dict[str, Any]:
    return {
        "id": str(s.id), "qty": "1", "clientid": str(s.clientid), "orderid": str(s.orderid),
        "ordernumber": f"{s.orderid:010d}", "pid": str(s.pid), "regdate": d(s.regdate, tz),
        "name": s.name, "translated_name": s.name, "groupname": s.groupname,
        "translated_groupname": s.groupname, "domain": s.domain, "dedicatedip": "",
        "serverid": str(s.serverid), "servername": "sim-server-1", "serverip": "192.0.2.10",
        "serverhostname": "server1.example.test", "suspensionreason": "",
        "firstpaymentamount": money(s.amount), "recurringamount": money(s.amount),
        "paymentmethod": "stripe", "paymentmethodname": "Credit Card",
        "billingcycle": s.billingcycle, "nextduedate": d(s.nextduedate, tz),
        "status": s.status, "username": s.username, "password": s.password,
        "subscriptionid": "", "promoid": "0", "overideautosuspend": "0",
        "overidesuspenduntil": ZERO_DATE, "ns1": "", "ns2": "", "assignedips": "",
        "notes": "", "diskusage": "0", "disklimit": "0", "bwusage": "0", "bwlimit": "0",
        "lastupdate": ZERO_DATETIME, "customfields": {"customfield": []},
        "configoptions": {"configoption": []},
    }


def paymethod_item(p: SimPayMethod, tz: tzinfo) -> dict[str, Any]:
    updated = p.last_updated.astimezone(tz).strftime("%d/%m/%Y %H:%M") if p.last_updated else ""
    out: dict[str, Any] = {
        "id": p.id, "type": p.type, "description": p.description,
        "gateway_name": p.gateway_name, "contact_type": "Client", "contact_id": p.clientid,
        "last_updated": updated,
    }
    if "CreditCard" in p.type:
        out.update({"card_last_four": p.card_last_four, "expiry_date": p.expiry_date,
                    "start_date": "", "issue_number": "", "card_type": p.card_type,
                    "remote_token": p.remote_token})
    else:
        out.update({"bank_name": p.bank_name, "remote_token": ""})
    return out


def invoice_item(i: SimInvoice, c: SimClient, tz: tzinfo) -> dict[str, Any]:
    return {
        "id": i.id, "userid": i.userid, "firstname": c.firstname, "lastname": c.lastname,
        "companyname": c.companyname, "invoicenum": "", "date": d(i.date, tz),
        "duedate": d(i.duedate, tz), "datepaid": dt(i.datepaid, tz),
        "last_capture_attempt": ZERO_DATETIME, "date_refunded": ZERO_DATETIME,
        "date_cancelled": ZERO_DATETIME, "subtotal": money(i.subtotal), "credit": "0.00",
        "tax": money(i.tax), "tax2": "0.00", "total": money(i.total), "taxrate": "10.00",
        "taxrate2": "0.00", "status": i.status, "paymentmethod": i.paymentmethod,
        "paymethodid": None, "notes": "", "created_at": dt(i.date, tz),
        "updated_at": dt(i.datepaid or i.date, tz), "currencycode": c.currency_code,
        "currencyprefix": "$" if c.currency_code == "USD" else "",
        "currencysuffix": " USD" if c.currency_code == "USD" else " VND",
    }


def transaction_item(t: SimTransaction, tz: tzinfo) -> dict[str, Any]:
    return {
        "id": str(t.id), "userid": str(t.userid), "currency": "0", "gateway": t.gateway,
        "date": dt(t.date, tz), "description": t.description,
        "amountin": money(t.amountin), "fees": money(t.fees), "amountout": "0.00",
        "rate": "1.00000", "transid": t.transid, "invoiceid": str(t.invoiceid),
        "refundid": "0",
    }


def contact_item(c: SimContact) -> dict[str, Any]:
    """A GetContacts item (ints and booleans, as the documented example)."""
    return {
        "id": c.id, "userid": c.userid, "firstname": c.firstname, "lastname": c.lastname,
        "email": c.email, "address1": "", "address2": "", "city": "", "state": "",
        "postcode": "", "country": "VN", "phonenumber": "", "domainemails": True,
        "generalemails": True, "invoiceemails": True, "productemails": True,
        "supportemails": True, "affiliateemails": True,
        "created_at": ZERO_DATETIME, "updated_at": ZERO_DATETIME,
    }


def user_item(u: SimUser, tz: tzinfo, owned: list[int]) -> dict[str, Any]:
    """A GetUsers item: ``clients`` lists every client the user may act for, ``isOwner``
    true for those it owns (the documented example)."""
    return {
        "id": u.id, "firstname": u.firstname, "lastname": u.lastname, "email": u.email,
        "datecreated": dt(u.datecreated, tz) if u.datecreated else ZERO_DATETIME,
        "validationdata": "",
        "clients": [{"id": cid, "isOwner": cid in owned} for cid in u.clients],
    }


def domain_item(d_: SimDomain, tz: tzinfo) -> dict[str, Any]:
    """A GetClientsDomains item (strings, as the documented example)."""
    return {
        "id": str(d_.id), "userid": str(d_.userid), "orderid": "0", "regtype": "Register",
        "domainname": d_.domainname, "registrar": d_.registrar, "regperiod": "1",
        "firstpaymentamount": "12.95", "recurringamount": "12.95",
        "paymentmethod": "stripe", "paymentmethodname": "Credit Card",
        "regdate": d(d_.regdate, tz), "expirydate": d(d_.expirydate, tz),
        "nextduedate": d(d_.expirydate, tz), "status": d_.status, "subscriptionid": "",
        "promoid": "0", "dnsmanagement": "0", "emailforwarding": "0", "idprotection": "0",
        "donotrenew": "0", "notes": "",
    }
