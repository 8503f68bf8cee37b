"""Response bodies shaped like the documented WHMCS examples (developer docs' "Example
Response JSON" of each action): the same keys, the same mix of string and int types, the same
wrappers. Values are our own."""

from __future__ import annotations

import copy
from typing import Any

GET_TICKETS = {
    "result": "success", "totalresults": "2", "startnumber": 0, "numreturned": 2,
    "tickets": {"ticket": [
        {"id": "7", "tid": "ABC-123456", "deptid": "1", "userid": "3", "name": "Lan Pham",
         "owner_name": "Lan Pham", "email": "lan@example.test", "requestor_name": "Lan Pham",
         "requestor_email": "lan@example.test", "requestor_type": "Owner", "cc": "",
         "c": "aB3dE5fG", "date": "2024-05-01 10:00:00", "subject": "Site down",
         "status": "Open", "priority": "High", "admin": "", "attachment": "",
         "attachments": [{"filename": "shot.png", "index": 0}],
         "attachments_removed": False, "lastreply": "2024-05-01 10:00:00", "flag": "0",
         "service": "S12"},
        {"id": "8", "tid": "XYZ-654321", "deptid": "2", "userid": "0", "name": "Jo Guest",
         "owner_name": "", "email": "jo@guest.test", "requestor_name": "Jo Guest",
         "requestor_email": "jo@guest.test", "requestor_type": "Guest", "cc": "",
         "c": "Zz9Yy8Xx", "date": "2024-05-02 08:15:00", "subject": "Invoice question",
         "status": "Customer-Reply", "priority": "Medium", "admin": "", "attachment": "",
         "attachments": [], "attachments_removed": False,
         "lastreply": "2024-05-02 09:00:00", "flag": "0", "service": ""},
    ]},
}

GET_TICKET = {
    "result": "success", "ticketid": "7", "tid": "ABC-123456", "c": "aB3dE5fG",
    "deptid": "1", "deptname": "Technical Support", "userid": "3", "contactid": "0",
    "name": "Lan Pham", "email": "lan@example.test", "requestor_name": "Lan Pham",
    "requestor_type": "Owner", "requestor_email": "lan@example.test", "cc": "",
    "date": "2024-05-01 10:00:00", "subject": "Site down", "status": "Answered",
    "priority": "High", "admin": "", "lastreply": "2024-05-01 10:20:00", "flag": "0",
    "service": "S12",
    "replies": {"reply": [
        {"replyid": "0", "userid": "3", "contactid": "0", "name": "Lan Pham",
         "email": "lan@example.test", "requestor_name": "Lan Pham",
         "requestor_email": "lan@example.test", "requestor_type": "Owner",
         "date": "2024-05-01 10:00:00", "message": "Hi,\r\n\r\nMy site is down.\r\n",
         "attachment": "", "attachments": [[]], "attachments_removed": False, "admin": ""},
        {"replyid": "41", "userid": "3", "contactid": "0", "name": "", "email": "",
         "requestor_name": "", "requestor_email": "", "requestor_type": "Operator",
         "date": "2024-05-01 10:20:00", "message": "Looking into it.\r\n",
         "attachment": "", "attachments": [[]], "attachments_removed": False,
         "admin": "Demo Admin", "rating": "0"},
    ]},
    "notes": {"note": [
        {"noteid": "5", "date": "2024-05-01 10:05:00", "message": "Checked the server.",
         "attachment": "", "attachments": [[]], "attachments_removed": False,
         "admin": "Demo Admin"},
    ]},
}

OPEN_TICKET = {"result": "success", "id": 9, "tid": "QWE-777777", "c": "Pp0Oo9Ii"}
SUCCESS = {"result": "success"}
UPDATE_TICKET = {"result": "success", "ticketid": "7"}
UPDATE_TICKET_REPLY = {"result": "success", "replyid": "41"}

GET_SUPPORT_DEPARTMENTS = {
    "result": "success", "totalresults": 2,
    "departments": {"department": [
        {"id": "1", "name": "Technical Support", "awaitingreply": "3", "opentickets": "9"},
        {"id": "2", "name": "Billing", "awaitingreply": "0", "opentickets": "1"},
    ]},
}

GET_SUPPORT_STATUSES = {
    "result": "success", "totalresults": 3,
    "statuses": {"status": [
        {"title": "Open", "count": 4, "color": "#779500"},
        {"title": "Answered", "count": 10, "color": "#000000"},
        {"title": "Customer-Reply", "count": 2, "color": "#ff6600"},
    ]},
}

_CLIENT = {
    "client_id": 3, "owner_user_id": 1003, "userid": 3, "id": 3,
    "uuid": "6e1f3b5c-1111-4a2b-9c3d-222233334444", "firstname": "Lan", "lastname": "Pham",
    "fullname": "Lan Pham", "companyname": "", "email": "lan@example.test",
    "address1": "1 Street", "city": "Hanoi", "country": "VN", "phonenumber": "0912345678",
    "email_preferences": {"general": "1", "invoice": "1", "support": "1", "product": "0",
                          "domain": "1", "affiliate": "0"},
    "status": "Active", "credit": "0.00", "taxexempt": False, "email_verified": False,
    "language": "vietnamese", "lastlogin": "Date: 01/05/2024 10:00<br>IP Address: "
    "192.0.2.1<br>Host: host.test", "currency_code": "VND", "groupid": 0,
    "customfields": [], "users": {"user": [{"id": 1003, "name": "Lan Pham",
                                            "email": "lan@example.test", "is_owner": True}]},
}
GET_CLIENTS_DETAILS = {"result": "success", "client": _CLIENT, **_CLIENT,
                       "stats": {"numtickets": 4, "creditbalance": "$0.00 USD"}}

GET_CLIENTS_PRODUCTS = {
    "result": "success", "clientid": "3", "serviceid": None, "pid": None, "domain": None,
    "totalresults": "1", "startnumber": 0, "numreturned": 1,
    "products": {"product": [{
        "id": "12", "qty": "1", "clientid": "3", "orderid": "4", "ordernumber": "0123456789",
        "pid": "2", "regdate": "2023-01-10", "name": "Shared Hosting Pro",
        "translated_name": "Shared Hosting Pro", "groupname": "Hosting",
        "translated_groupname": "Hosting", "domain": "lan.example.test", "dedicatedip": "",
        "serverid": "1", "servername": "s1", "serverip": "192.0.2.10",
        "serverhostname": "s1.test", "suspensionreason": "", "firstpaymentamount": "12.50",
        "recurringamount": "12.50", "paymentmethod": "stripe",
        "paymentmethodname": "Credit Card", "billingcycle": "Monthly",
        "nextduedate": "2024-06-10", "status": "Active", "username": "lanpham",
        "password": "S3rv1ce-Pa55", "subscriptionid": "", "promoid": "0",
        "overideautosuspend": "0", "overidesuspenduntil": "0000-00-00", "ns1": "", "ns2": "",
        "assignedips": "", "notes": "", "diskusage": "0", "disklimit": "0", "bwusage": "0",
        "bwlimit": "0", "lastupdate": "0000-00-00 00:00:00",
        "customfields": {"customfield": []}, "configoptions": {"configoption": []},
    }]},
}

GET_PAY_METHODS = {
    "result": "success", "clientid": 3,
    "paymethods": [
        {"id": 1, "type": "CreditCard", "description": "", "gateway_name": "offlinecc",
         "contact_type": "Client", "contact_id": 3, "card_last_four": "4242",
         "expiry_date": "12/27", "start_date": "", "issue_number": "", "card_type": "Visa",
         "remote_token": "", "last_updated": "01/05/2024 10:00"},
        {"id": 2, "type": "BankAccount", "description": "", "gateway_name": "directdebit",
         "contact_type": "Client", "contact_id": 3, "bank_name": "ACB",
         "remote_token": "", "last_updated": "02/05/2024 11:30"},
    ],
}

VALIDATE_LOGIN = {"result": "success", "userid": 1003,
                  "passwordhash": "$2y$10$abcdefghijklmnopqrstuv", "twoFactorEnabled": "false"}

GET_INVOICES = {
    "result": "success", "totalresults": 1, "startnumber": 0, "numreturned": 1,
    "invoices": {"invoice": [{
        "id": 100, "userid": 3, "firstname": "Lan", "lastname": "Pham", "companyname": "",
        "invoicenum": "", "date": "2024-05-01", "duedate": "2024-05-08",
        "datepaid": "0000-00-00 00:00:00", "last_capture_attempt": "0000-00-00 00:00:00",
        "subtotal": "12.50", "credit": "0.00", "tax": "1.25", "tax2": "0.00",
        "total": "13.75", "taxrate": "10.00", "taxrate2": "0.00", "status": "Unpaid",
        "paymentmethod": "stripe", "paymethodid": None, "notes": "",
        "currencycode": "VND", "currencyprefix": "", "currencysuffix": " VND",
    }]},
}

GET_TRANSACTIONS = {
    "result": "success", "totalresults": "1", "startnumber": 0, "numreturned": 1,
    "transactions": {"transaction": [{
        "id": "55", "userid": "3", "currency": "0", "gateway": "stripe",
        "date": "2024-05-02 09:00:00", "description": "Invoice Payment", "amountin": "13.75",
        "fees": "0.41", "amountout": "0.00", "rate": "1.00000", "transid": "ch_123",
        "invoiceid": "100", "refundid": "0",
    }]},
}

GET_ADMIN_DETAILS = {
    "result": "success", "adminid": "1", "name": "Demo Admin", "notes": "", "signature": "",
    "allowedpermissions": "Main Homepage,API Access,List Support Tickets",
    "departments": ",1,2,", "requesttime": "2024-05-01 10:00:00",
    "whmcs": {"version": "8.13.1", "canonicalversion": "8.13.1-release.1"},
}

BY_ACTION: dict[str, dict[str, Any]] = {
    "GetTickets": GET_TICKETS, "GetTicket": GET_TICKET, "OpenTicket": OPEN_TICKET,
    "AddTicketReply": SUCCESS, "AddTicketNote": SUCCESS, "UpdateTicket": UPDATE_TICKET,
    "UpdateTicketReply": UPDATE_TICKET_REPLY,
    "GetSupportDepartments": GET_SUPPORT_DEPARTMENTS,
    "GetSupportStatuses": GET_SUPPORT_STATUSES, "GetClientsDetails": GET_CLIENTS_DETAILS,
    "GetClientsProducts": GET_CLIENTS_PRODUCTS, "GetPayMethods": GET_PAY_METHODS,
    "ValidateLogin": VALIDATE_LOGIN, "GetInvoices": GET_INVOICES,
    "GetTransactions": GET_TRANSACTIONS, "SendEmail": SUCCESS, "SendAdminEmail": SUCCESS,
    "TriggerNotificationEvent": SUCCESS, "GetAdminDetails": GET_ADMIN_DETAILS,
}


def payload(action: str) -> dict[str, Any]:
    return copy.deepcopy(BY_ACTION[action])
