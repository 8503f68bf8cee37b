"""Customer recipients: the address and language on file in WHMCS.

The address is always the one WHMCS holds for the client (``GetClientsDetails``), never one
taken from an event payload, so a verification link can only reach the account's owner.
WHMCS stores languages as lower-case English names (``vietnamese``, ``english``); anything we
have no templates for falls back to the configured default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from whmcs_bridge.digits import is_digits
from whmcs_bridge.i18n import customer_language


@dataclass(frozen=True)
class Customer:
    client_id: int
    email: str
    name: str
    language: str


def parse_recipient(recipient: str) -> tuple[str, int]:
    """``client:42`` -> ``("client", 42)``; ``ticket:7`` -> ``("ticket", 7)`` (a guest ticket)."""
    prefix, _, number = recipient.partition(":")
    if prefix not in ("client", "ticket") or not is_digits(number):
        raise ValueError(f"not a customer recipient: {recipient!r}")
    return prefix, int(number)


def lookup(whmcs: Any, client_id: int, *, default_language: str) -> Customer:
    """Fetch the client record (raises the API client's errors; the caller decides retries)."""
    client = whmcs.get_client(client_id)
    name = (client.fullname or f"{client.firstname} {client.lastname}").strip()
    return Customer(client_id=client_id, email=client.email or "", name=name,
                    language=customer_language(client.language, default_language))


def lookup_guest(whmcs: Any, ticket_id: int, *, default_language: str) -> Customer:
    """The requestor of a guest ticket (opened by e-mail without an account)."""
    ticket = whmcs.get_ticket(ticket_id)
    return Customer(client_id=0, email=ticket.email or "", name=ticket.name or "",
                    language=default_language)


def resolve(whmcs: Any, recipient: str, *, default_language: str) -> Customer:
    kind, number = parse_recipient(recipient)
    if kind == "client":
        return lookup(whmcs, number, default_language=default_language)
    return lookup_guest(whmcs, number, default_language=default_language)
