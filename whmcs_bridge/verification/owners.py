"""Whose account a verification request is about, when the ticket does not say.

A guest ticket (``userid`` 0: mail from an address WHMCS did not attach to a client) asking for
an account change must still block the gates of the client it is about, or the policy's main
case goes through: someone writes from (or spoofs) a client's address and staff act on it.
So the owner is resolved from what the request carries:

* the sender address, trimmed and compared case-insensitively with the client's own e-mail
  (``GetClientsDetails`` by ``email``), its contacts' (``GetContacts`` by ``email``) and its
  users' (``GetUsers`` by ``search``; a user may act for several clients: all are
  candidates);
* domain names the subject or message names, matched with the clients' services
  (``GetClientsProducts`` by ``domain``) and registered domains (``GetClientsDomains`` by
  ``domain``).

One client found: the request is that client's (``matched``). Several: every one of them is
blocked and staff are told (``ambiguous``). None: staff see "sender not matched to any
client" (``unmatched``). The ticket's own client, when WHMCS knows it, is always a candidate
(``ticket``).

:func:`match` and :func:`domains_in` are pure; :func:`lookup` is the thin edge that reads
WHMCS, and is called with no database transaction open (the caller reads the pending request,
closes its transaction, looks up, then writes the result in a new one).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from whmcs_bridge.api.errors import NotFoundError, UnknownActionError

log = logging.getLogger("whmcs_bridge.verification")

#: ``verification_requests.owner`` values.
PENDING = "pending"  # the WHMCS lookup has not run yet
TICKET = "ticket"  # WHMCS attached the ticket to a client
MATCHED = "matched"  # one client found from the sender or the domains named
AMBIGUOUS = "ambiguous"  # several clients found: all are blocked
UNMATCHED = "unmatched"  # nobody found: shown to staff, blocks no client
OWNER_STATES = (PENDING, TICKET, MATCHED, AMBIGUOUS, UNMATCHED)

#: At most this many domain names are looked up per request (a pasted log names hundreds).
MAX_DOMAINS = 5

_DOMAIN = re.compile(
    r"(?<![@\w.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})(?![\w-])",
    re.IGNORECASE)
#: Suffixes that look like domains in ordinary text but name files.
_NOT_TLDS = frozenset({"php", "html", "htm", "js", "css", "txt", "png", "jpg", "jpeg", "gif",
                       "zip", "gz", "tar", "sql", "log", "pdf", "doc", "docx", "xls", "xlsx"})


def normalise_email(value: str | None) -> str | None:
    """The address as compared: trimmed and lower-cased; None when it is not an address."""
    v = (value or "").strip().strip("<>").strip().lower()
    return v if "@" in v and " " not in v else None


def domains_in(*texts: str | None) -> list[str]:
    """Domain names in ``texts``, lower-case, first seen first, at most :data:`MAX_DOMAINS`;
    the domain part of an e-mail address is not one (it names a mailbox, not a service)."""
    out: list[str] = []
    for text in texts:
        for found in _DOMAIN.findall(text or ""):
            name = found.lower().rstrip(".")
            if name.rsplit(".", 1)[-1] in _NOT_TLDS or name in out:
                continue
            out.append(name)
            if len(out) == MAX_DOMAINS:
                return out
    return out


@dataclass(frozen=True)
class Resolution:
    """Who a request may belong to: client id → how it was found (``ticket``, ``email``,
    ``domain``)."""

    candidates: Mapping[int, frozenset[str]] = field(default_factory=dict)

    @property
    def state(self) -> str:
        if not self.candidates:
            return UNMATCHED
        if len(self.candidates) > 1:
            return AMBIGUOUS
        return TICKET if TICKET in next(iter(self.candidates.values())) else MATCHED

    @property
    def client_id(self) -> int | None:
        """The one owner to verify against, or None when unmatched or ambiguous (then a
        proof needs staff to link the ticket to the right client first)."""
        return next(iter(self.candidates)) if len(self.candidates) == 1 else None


def match(*, ticket_client: int | None, email_clients: Iterable[int],
          domain_clients: Iterable[int]) -> Resolution:
    """Pure: combine what was found. The ticket's client is always a candidate; a sender or
    domain match on another client makes the request ambiguous (both are blocked)."""
    found: dict[int, set[str]] = {}
    for source, ids in (("ticket", [ticket_client] if ticket_client else []),
                        ("email", email_clients), ("domain", domain_clients)):
        for cid in ids:
            if cid:
                found.setdefault(int(cid), set()).add(source)
    return Resolution({cid: frozenset(src) for cid, src in sorted(found.items())})


def lookup(whmcs: Any, *, sender: str | None, texts: Iterable[str | None]
           ) -> tuple[list[int], list[int]]:
    """Read WHMCS: (clients the ``sender`` address belongs to, clients owning a named domain).

    The address belongs to a client when it is the client's own e-mail (GetClientsDetails),
    one of its contacts' (GetContacts) or one of its users' (GetUsers, every client the
    user may act for). A domain belongs to the client holding a service on it
    (GetClientsProducts) or its registration (GetClientsDomains). Addresses and names are
    compared trimmed and case-insensitively, whatever filter WHMCS applied.

    Call it with no database transaction open. "Not found" is an empty result, and so is an
    action this WHMCS does not have (GetUsers is 8.1+); any other WHMCS error propagates
    (the request stays pending and is tried again).
    """
    address = normalise_email(sender)
    email_clients: list[int] = []
    if address:
        email_clients = _by_address(whmcs, address)
    domain_clients: list[int] = []
    for name in domains_in(*texts):
        domain_clients.extend(_by_domain(whmcs, name))
    return _unique(email_clients), _unique(domain_clients)


def _unique(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in ids if i))


def _answer(call: Callable[[], Any]) -> Any | None:
    """``call()``, or None when WHMCS finds nothing or does not have the action."""
    try:
        return call()
    except (NotFoundError, UnknownActionError):
        return None


def _items(call: Callable[[], Any]) -> list[Any]:
    """A listing's items (a :class:`~whmcs_bridge.api.models.Page`), or none."""
    page = _answer(call)
    return list(page.items) if page is not None else []


def _by_address(whmcs: Any, address: str) -> list[int]:
    found: list[int] = []
    client = _answer(lambda: whmcs.get_client(email=address))
    if client is not None and client.id and normalise_email(client.email) in (address, None):
        found.append(int(client.id))
    found += [int(c.userid) for c in _items(lambda: whmcs.get_contacts(email=address))
              if c.userid and normalise_email(c.email) == address]
    for user in _items(lambda: whmcs.get_users(search=address)):
        if normalise_email(user.email) == address:  # search matches a prefix
            found += [int(cid) for cid in user.client_ids]
    return found


def _by_domain(whmcs: Any, name: str) -> list[int]:
    found = [int(p.clientid) for p in _items(
        lambda: whmcs.get_clients_products(domain=name, limitnum=10))
        if p.clientid and (p.domain or "").strip().lower() == name]
    found += [int(d.userid) for d in _items(
        lambda: whmcs.get_clients_domains(domain=name, limitnum=10))
        if d.userid and (d.domainname or "").strip().lower() == name]
    return found
