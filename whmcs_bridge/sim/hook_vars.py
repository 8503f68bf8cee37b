"""One ``$vars`` example per hook, built from the variable table of the hook's page in WHMCS's
developer docs (developers.whmcs.com; source: the public WHMCS/developer-docs repository,
``hooks-reference/<page>.md``, read at commit 2e75f45 of 2026-01-05).

Each :class:`HookVars` keeps the page, the documented names verbatim and in the page's order,
and an example holding exactly those names with values of the documented types, the way
WHMCS hands them to a hook (passwords included: the module's scrubber and the receiver's
schemas are what remove them). Ids in real ``$vars`` often arrive as strings of digits; the
schema tests cover that, these examples use the documented ``int``.

The simulator emits events through the builders below (:func:`after_module_change_password`,
:func:`ticket_split`, :func:`new_client_details`, :func:`client_added`), so what it sends has
the documented names too. ``tests/receiver/test_documented_vars.py`` checks that every hook
schema of the receiver has an example here, that each example has exactly its documented
names, and that the receiver accepts each one as it is and the worker's handlers process it.

Where a page's table is odd, the example follows WHMCS's behaviour and says so: the docs type
TicketDepartmentChange's ``deptname`` as ``int`` (it is the department's name), and
InvoicePaid's ``invoice`` is a ``WHMCS\\Billing\\Invoice`` object that the module turns into
its array form.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: ids shared by the examples, so related hooks talk about the same records
TICKET, NEW_TICKET, CLIENT, USER, CONTACT, SERVICE, INVOICE = 10, 13, 7, 70, 3, 55, 1001
DEPT, ADMIN = 1, 2


@dataclass(frozen=True)
class HookVars:
    """A hook's page, its documented variable names and one example of its ``$vars``."""

    hook: str
    page: str
    documented: tuple[str, ...]
    example: Mapping[str, Any]

    def vars(self) -> dict[str, Any]:
        """A fresh deep copy of the example (callers may change it)."""
        return copy.deepcopy(dict(self.example))


def top_level(name: str) -> str:
    """``email_preferences[general]`` (a documented nested key) -> ``email_preferences``."""
    return name.split("[", 1)[0]


# --- builders the simulator uses ---------------------------------------------------------

def after_module_change_password(serviceid: int, oldpassword: str, newpassword: str
                                 ) -> dict[str, Any]:
    """AfterModuleChangePassword: no module ``params``, unlike the other module hooks."""
    return {"serviceid": serviceid, "oldpassword": oldpassword, "newpassword": newpassword}


def ticket_split(original_ticket_id: int, new_ticket_id: int) -> dict[str, Any]:
    """TicketSplit, with the documented ``newTicketID`` (some releases send ``newTicketId``)."""
    return {"originalTicketId": original_ticket_id, "newTicketID": new_ticket_id}


def new_client_details(firstname: str, lastname: str, email: str, *, companyname: str = "",
                       address1: str = "1 Le Loi", address2: str = "", city: str = "Hue",
                       state: str = "Thua Thien Hue", postcode: str = "530000",
                       country: str = "VN", phonenumber: str = "+84.912345678",
                       tax_id: str = "", paymentmethod: str = "banktransfer",
                       customfield: Mapping[str, str] | None = None, securityqid: int = 1,
                       securityqans: str = "sim-answer") -> dict[str, Any]:
    """ClientDetailsValidation before a client is added (sign-up, checkout with a new account,
    Add New Client, API AddClient): the submitted fields and **no client id**."""
    return {"firstname": firstname, "lastname": lastname, "companyname": companyname,
            "email": email, "address1": address1, "address2": address2, "city": city,
            "state": state, "postcode": postcode, "country": country,
            "phonenumber": phonenumber, "tax_id": tax_id, "paymentmethod": paymentmethod,
            "customfield": dict(customfield or {"1": "Hue office"}),
            "securityqid": securityqid, "securityqans": securityqans}


_CLIENT_ADD_DETAILS = ("firstname", "lastname", "companyname", "email", "address1", "address2",
                       "city", "state", "postcode", "country", "phonenumber", "tax_id")


def client_added(client_id: int, user_id: int, details: Mapping[str, Any], password: str,
                 customfields: Mapping[str, str] | None = None) -> dict[str, Any]:
    """ClientAdd after a client was added from ``details`` (the sign-up's submitted fields);
    ``userid`` is the deprecated alias of ``client_id``, still sent."""
    return {"client_id": client_id, "user_id": user_id, "userid": client_id,
            **{key: details.get(key, "") for key in _CLIENT_ADD_DETAILS},
            "password": password, "customFields": dict(customfields or {}),
            "taxexempt": False, "latefeeoveride": False, "overideduenotices": False,
            "separateinvoices": False, "disableautocc": False, "emailoptout": False,
            "marketing_emails_opt_in": False, "overrideautoclose": False, "notes": "",
            "groupid": 0}


# --- the examples --------------------------------------------------------------------------

#: provisioning-modules/module-parameters.md: what every module hook's ``params`` holds
MODULE_PARAMS: dict[str, Any] = {
    "serviceid": SERVICE, "userid": CLIENT, "pid": 3, "serverid": 1, "domain": "example.vn",
    "username": "examplev", "password": "svc-password", "producttype": "hostingaccount",
    "moduletype": "cpanel", "configoption1": "Starter",
    "clientsdetails": {"userid": CLIENT, "id": CLIENT, "firstname": "An", "lastname": "Nguyen",
                       "email": "an@example.vn", "country": "VN"},
    "customfields": {"Site name": "Example"}, "configoptions": {"Disk Space": "10"},
    "server": True, "serverip": "192.0.2.10", "serverhostname": "host1.example.net",
    "serverusername": "root", "serverpassword": "server-password",
    "serveraccesshash": "server-access-hash", "serversecure": True, "serverport": 2087,
}

_PROFILE = {"firstname": "An", "lastname": "Nguyen", "companyname": "Example Co",
            "email": "an@example.vn", "address1": "1 Le Loi", "address2": "", "city": "Hue",
            "state": "Thua Thien Hue", "postcode": "530000", "country": "VN",
            "phonenumber": "+84.912345678", "tax_id": ""}
_CONTACT_EMAILS = {"generalemails": True, "productemails": True, "domainemails": False,
                   "invoiceemails": True, "supportemails": True, "affiliateemails": False}
_TICKET = {"ticketid": TICKET, "ticketmask": "ABC-123456", "userid": CLIENT, "deptid": DEPT,
           "deptname": "Technical Support", "subject": "Website is down",
           "message": "My website has been down since this morning.", "priority": "High"}
_REPLY = {"ticketid": TICKET, "replyid": 501, "deptid": DEPT, "deptname": "Technical Support",
          "subject": "Website is down", "message": "Any news?", "priority": "High"}

_EXAMPLES: tuple[tuple[str, str, tuple[str, ...], dict[str, Any]], ...] = (
    # hooks-reference/ticket.md
    ("TicketOpen", "ticket", tuple(_TICKET), dict(_TICKET)),
    ("TicketOpenAdmin", "ticket", tuple(_TICKET), {**_TICKET, "ticketid": TICKET + 1}),
    ("TicketUserReply", "ticket",
     ("ticketid", "replyid", "userid", "deptid", "deptname", "subject", "message", "priority",
      "status"),
     {**_REPLY, "userid": CLIENT, "status": "Customer-Reply"}),
    ("TicketAdminReply", "ticket",
     ("ticketid", "replyid", "deptid", "deptname", "subject", "message", "priority", "admin",
      "status"),
     {**_REPLY, "replyid": 502, "message": "We are on it.", "admin": "Lan Tran",
      "status": "Answered"}),
    ("TicketAddNote", "ticket", ("ticketid", "message", "adminid", "attachments"),
     {"ticketid": TICKET, "message": "Checked the server.", "adminid": ADMIN,
      "attachments": ""}),
    ("TicketStatusChange", "ticket", ("adminid", "status", "ticketid"),
     {"adminid": ADMIN, "status": "In Progress", "ticketid": TICKET}),
    ("TicketPriorityChange", "ticket", ("ticketid", "priority"),
     {"ticketid": TICKET, "priority": "Medium"}),
    # the page types deptname as int; WHMCS sends the department's name
    ("TicketDepartmentChange", "ticket", ("ticketid", "deptid", "deptname"),
     {"ticketid": TICKET, "deptid": 2, "deptname": "Billing"}),
    ("TicketSubjectChange", "ticket", ("ticketid", "subject"),
     {"ticketid": TICKET, "subject": "Website is down (again)"}),
    ("TicketFlagged", "ticket", ("ticketid", "adminid", "adminname"),
     {"ticketid": TICKET, "adminid": ADMIN, "adminname": "Lan Tran"}),
    ("TicketPiping", "ticket", ("to", "cc", "name", "email", "subject", "body", "attachments"),
     {"to": "support@example.net", "cc": ["boss@example.vn"], "name": "An Nguyen",
      "email": "an@example.vn", "subject": "Invoice question", "body": "Hello, ...",
      "attachments": ""}),
    ("TicketMerge", "ticket", ("mergedTicketIds", "masterTicketId"),
     {"mergedTicketIds": [TICKET + 2, TICKET + 3], "masterTicketId": TICKET}),
    ("TicketSplit", "ticket", ("originalTicketId", "newTicketID"),
     ticket_split(TICKET, NEW_TICKET)),
    ("TicketDeleteReply", "ticket", ("ticketId", "replyId", "adminId"),
     {"ticketId": TICKET, "replyId": 501, "adminId": ADMIN}),
    ("TicketClose", "ticket", ("ticketid",), {"ticketid": TICKET}),
    ("TicketDelete", "ticket", ("ticketId", "adminId"),
     {"ticketId": NEW_TICKET, "adminId": ADMIN}),
    # hooks-reference/client.md
    ("ClientAdd", "client",
     ("client_id", "user_id", "userid", "firstname", "lastname", "companyname", "email",
      "address1", "address2", "city", "state", "postcode", "country", "phonenumber", "tax_id",
      "password", "customFields", "taxexempt", "latefeeoveride", "overideduenotices",
      "separateinvoices", "disableautocc", "emailoptout", "marketing_emails_opt_in",
      "overrideautoclose", "notes", "groupid"),
     # userid is struck through on the page (deprecated alias of client_id), still sent
     client_added(CLIENT, USER, _PROFILE, "client-password", {"1": "Hue office"})),
    ("ClientEdit", "client",
     ("userid", "uuid", "firstname", "lastname", "companyname", "email", "address1",
      "address2", "city", "state", "postcode", "country", "phonenumber", "currency", "notes",
      "status", "taxexempt", "latefeeoveride", "overideduenotices", "separateinvoices",
      "disableautocc", "emailoptout", "marketing_emails_opt_in", "overrideautoclose",
      "language", "billingcid", "groupid", "allow_sso", "olddata", "authmodule", "authdata",
      "email_verified", "isOptedInToMarketingEmails", "email_preferences[affiliate]",
      "email_preferences[domain]", "email_preferences[general]",
      "email_preferences[invoices]", "email_preferences[product]",
      "email_preferences[support]"),
     {"userid": CLIENT, "uuid": "0b6c3a52-0d5c-4b8e-9d2e-5a3f8f0c7e11",
      **{k: v for k, v in _PROFILE.items() if k != "tax_id"}, "email": "an.new@example.vn",
      "currency": 1, "notes": "", "status": "Active", "taxexempt": False,
      "latefeeoveride": False, "overideduenotices": False, "separateinvoices": False,
      "disableautocc": False, "emailoptout": False, "marketing_emails_opt_in": True,
      "overrideautoclose": False, "language": "vietnamese", "billingcid": 0, "groupid": 0,
      "allow_sso": True,
      "olddata": {**_PROFILE, "email": "an@example.vn", "authmodule": "totp",
                  "authdata": "old-two-factor-data"},
      "authmodule": "totp", "authdata": "two-factor-data", "email_verified": True,
      "isOptedInToMarketingEmails": True,
      "email_preferences": {"affiliate": False, "domain": True, "general": True,
                            "invoices": True, "product": True, "support": True}}),
    ("ClientChangePassword", "client", ("userid", "password"),
     {"userid": CLIENT, "password": "new-client-password"}),
    ("ClientClose", "client", ("userid",), {"userid": CLIENT}),
    ("PreDeleteClient", "client", ("userid",), {"userid": CLIENT + 1}),
    # hooks-reference/user.md
    ("UserAdd", "user", ("user_id", "firstname", "lastname", "email", "password", "language"),
     {"user_id": USER, "firstname": "An", "lastname": "Nguyen", "email": "an@example.vn",
      "password": "user-password", "language": "vietnamese"}),
    ("UserEdit", "user", ("user_id", "firstname", "lastname", "email", "olddata"),
     {"user_id": USER, "firstname": "An", "lastname": "Nguyen", "email": "an.new@example.vn",
      "olddata": {"firstname": "An", "lastname": "Nguyen", "email": "an@example.vn"}}),
    ("UserChangePassword", "user", ("userid", "password"),
     {"userid": USER, "password": "new-user-password"}),
    # hooks-reference/contact.md
    ("ContactAdd", "contact",
     ("userid", "contactid", *_PROFILE, *_CONTACT_EMAILS),
     {"userid": CLIENT, "contactid": CONTACT, **_PROFILE, "firstname": "Binh",
      "email": "binh@example.vn", **_CONTACT_EMAILS}),
    ("ContactEdit", "contact",
     ("userid", "contactid", *_PROFILE, "domainemails", "generalemails", "invoiceemails",
      "productemails", "supportemails", "affiliateemails", "olddata"),
     {"userid": CLIENT, "contactid": CONTACT, **_PROFILE, "firstname": "Binh",
      "email": "binh.new@example.vn", **_CONTACT_EMAILS,
      "olddata": {**_PROFILE, "firstname": "Binh", "email": "binh@example.vn"}}),
    ("ContactDelete", "contact", ("userid", "contactid"),
     {"userid": CLIENT, "contactid": CONTACT}),
    # hooks-reference/module.md
    ("AfterModuleChangePackage", "module", ("params",), {"params": MODULE_PARAMS}),
    ("AfterModuleChangePassword", "module", ("serviceid", "oldpassword", "newpassword"),
     after_module_change_password(SERVICE, "old-service-password", "new-service-password")),
    ("AfterModuleCustom", "module", ("params",), {"params": MODULE_PARAMS}),
    # hooks-reference/products-and-services.md (upgradeid has no type on the page)
    ("AfterProductUpgrade", "products-and-services", ("upgradeid",), {"upgradeid": 8}),
    # hooks-reference/everything-else.md
    ("AfterConfigOptionsUpgrade", "everything-else", ("upgradeid",), {"upgradeid": 9}),
    # hooks-reference/service.md
    ("ServiceEdit", "service", ("userid", "serviceid"),
     {"userid": CLIENT, "serviceid": SERVICE}),
    ("CancellationRequest", "service", ("userid", "relid", "reason", "type"),
     {"userid": CLIENT, "relid": SERVICE, "reason": "Moving elsewhere",
      "type": "End of Billing Period"}),
    # hooks-reference/admin-area.md
    ("AdminServiceEdit", "admin-area", ("userid", "serviceid"),
     {"userid": CLIENT, "serviceid": SERVICE}),
    # hooks-reference/invoices-and-quotes.md (invoice: the model's array form)
    ("InvoicePaid", "invoices-and-quotes", ("invoiceid", "invoice"),
     {"invoiceid": INVOICE, "invoice": {"id": INVOICE, "userid": CLIENT, "status": "Paid",
                                        "total": "12.00", "datepaid": "2026-11-25 10:00:00"}}),
    # gates (hooks-reference/client.md, shopping-cart.md, module.md)
    ("ClientDetailsValidation", "client",
     ("firstname", "lastname", "companyname", "email", "address1", "address2", "city",
      "state", "postcode", "country", "phonenumber", "tax_id", "paymentmethod", "customfield",
      "securityqid", "securityqans"),
     new_client_details("Chi", "Le", "chi@example.vn")),
    ("ShoppingCartValidateUpgrade", "shopping-cart", ("id", "pid"),
     {"id": SERVICE, "pid": 4}),
    ("PreModuleChangePackage", "module", ("params",), {"params": MODULE_PARAMS}),
    ("PreModuleChangePassword", "module", ("params",), {"params": MODULE_PARAMS}),
    ("PreModuleCustom", "module", ("params",), {"params": MODULE_PARAMS}),
)

#: hook name -> its documented vars, in an order a bridge can take them one after another
#: (a ticket is opened before it is replied to, deleted last)
DOCUMENTED: dict[str, HookVars] = {
    hook: HookVars(hook, f"hooks-reference/{page}.md", names, example)
    for hook, page, names, example in _EXAMPLES
}


def documented_vars(hook: str) -> dict[str, Any]:
    """A fresh copy of ``hook``'s example; KeyError names a hook without one."""
    return DOCUMENTED[hook].vars()
