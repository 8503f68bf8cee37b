"""Customer recipients: the address and language on file in WHMCS.

The address is always the one WHMCS holds for the client (``GetClientsDetails``), never one
taken from an event payload, so a verification link can only reach the account's owner.
WHMCS stores languages as lower-case English names (``vietnamese``, ``english``); anything we
have no templates for falls back to the configured default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from whmcs_bridge.notify.catalog import LANGUAGES

WHMCS_LANGUAGES = {
    "vietnamese": "vi",
    "vi": "vi",
    "tieng viet": "vi",
    "english": "en",
    "en": "en",
    "english-uk": "en",
    "english-us": "en",
}


@dataclass(frozen=True)
class Customer:
    client_id: int
    email: str
    name: str
    language: str


def language_of(whmcs_language: str | None, default: str) -> str:
    """``'Vietnamese'`` -> ``'vi'``; unknown or empty -> ``default``."""
    key = (whmcs_language or "").strip().lower()
    code = WHMCS_LANGUAGES.get(key, key if key in LANGUAGES else None)
    return code or default


def parse_recipient(recipient: str) -> int:
    """``client:42`` -> 42."""
    prefix, _, number = recipient.partition(":")
    if prefix != "client" or not number.isdigit():
        raise ValueError(f"not a customer recipient: {recipient!r}")
    return int(number)


def lookup(whmcs: Any, client_id: int, *, default_language: str) -> Customer:
    """Fetch the client record (raises the API client's errors; the caller decides retries)."""
    client = whmcs.get_client(client_id)
    name = (client.fullname or f"{client.firstname} {client.lastname}").strip()
    return Customer(client_id=client_id, email=client.email or "", name=name,
                    language=language_of(client.language, default_language))
