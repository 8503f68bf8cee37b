"""The notifications the bridge knows: their payload keys and who they are for.

This is the single source the rest of the room reads (enqueue validates payloads against it,
routing decides audiences from it, the template tests build their fixtures from it). The keys
are the ones pinned in ``docs/CONTRACTS.md``; producers in other rooms code against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Audiences: ``staff`` follows the configured routes, ``customer`` goes to the client's
#: address on file, ``admins`` to staff flagged ``admin`` (all staff when none is flagged).
STAFF = "staff"
CUSTOMER = "customer"
ADMINS = "admins"

LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class Kind:
    """One notification kind."""

    name: str
    keys: tuple[str, ...]
    audiences: frozenset[str]
    #: bursts to a chat channel become one digest message
    coalesce: bool = True
    #: payload keys that are capabilities (a signed link): blanked in the outbox once sent
    scrub_after_send: tuple[str, ...] = ()


def _kind(name: str, keys: str, *audiences: str, coalesce: bool = True,
          scrub: str = "") -> Kind:
    return Kind(name, tuple(keys.split()), frozenset(audiences), coalesce,
                tuple(scrub.split()))


_SLA_KEYS = "ticket_id tid subject level due_at department_id client_id kind"
_VERIFY_KEYS = "ticket_id tid client_id method actor change"

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        _kind("urgent_ticket_opened",
              "ticket_id tid subject level department_id client_id due_at", STAFF),
        _kind("sla_at_risk", _SLA_KEYS, STAFF),
        _kind("sla_breached", _SLA_KEYS, STAFF),
        _kind("escalation_done", "ticket_id tid level actions kind", STAFF),
        _kind("verification_required", "ticket_id tid client_id change language", CUSTOMER),
        _kind("verification_link",
              "ticket_id tid client_id change url expires_at language", CUSTOMER,
              scrub="url"),
        _kind("verification_verified", _VERIFY_KEYS, STAFF),
        _kind("verification_refused", _VERIFY_KEYS, STAFF),
        _kind("verification_locked", _VERIFY_KEYS, STAFF, CUSTOMER),
        _kind("account_change_authorised", "client_id ticket_id method change",
              STAFF, CUSTOMER),
        _kind("billing_redirected", "ticket_id tid client_id language", CUSTOMER),
        _kind("contact_preference", "ticket_id tid client_id preference", STAFF),
        _kind("go_live_backlog", "count go_live_at list_url", STAFF, coalesce=False),
        _kind("dead_letter", "event_id event_type attempts last_error", ADMINS),
    )
}

#: Only for ``whmcs-bridge notify test``; never routed.
TEST = "test"


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown notification {name!r}; known: {', '.join(KINDS)}") from None


def check_payload(name: str, payload: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the missing keys (a producer bug, caught in its tests)."""
    missing = [k for k in kind(name).keys if k not in payload]
    if missing:
        raise ValueError(f"notification {name!r}: payload lacks {', '.join(missing)}")
