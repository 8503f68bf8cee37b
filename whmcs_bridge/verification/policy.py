"""When proof is needed, and the gate decision — pure functions of store rows.

Proof is never needed for a ticket opened by a logged-in client in the client area; it is
needed for e-mail/guest, phone, chat and staff-opened tickets (configurable list).

Gates (``POST /gates/<HookName>``) decide from the store alone (no WHMCS call):

1. the change comes from the client's own logged-in session (``actor.type == "client"`` and
   ``actor.client_id`` is the client being changed) → allow;
2. a verified request of this client covers the gate's change kind and has not expired → allow;
3. the client has an open request (ticket not closed) that is ``required``, ``locked`` or
   ``refused`` — of any change kind, since staff acting on an unverified request is exactly what
   the gate prevents — → refuse, naming the ticket;
4. otherwise (nothing pending) → allow: the gate never blocks normal admin work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from whmcs_bridge.digits import as_id
from whmcs_bridge.verification import (
    CUSTOMER_DETAILS_CHANGE,
    LOCKED,
    PACKAGE_CHANGE,
    REFUSED,
    REQUIRED,
    SOFTWARE_INSTALL,
    VERIFIED,
    messages,
)
from whmcs_bridge.verification.store import split_changes

#: The change kind each gate hook protects. A service password is account information.
GATE_CHANGES: dict[str, str] = {
    "ClientDetailsValidation": CUSTOMER_DETAILS_CHANGE,
    "ContactDetailsValidation": CUSTOMER_DETAILS_CHANGE,
    "PreModuleChangePassword": CUSTOMER_DETAILS_CHANGE,
    "ShoppingCartValidateUpgrade": PACKAGE_CHANGE,
    "PreModuleChangePackage": PACKAGE_CHANGE,
    "PreModuleCustom": SOFTWARE_INSTALL,
}

#: Which blocking state wins when a client has several open requests.
_SEVERITY = {LOCKED: 3, REFUSED: 2, REQUIRED: 1}


def proof_needed(channel: str | None, channels_requiring_proof: Iterable[str]) -> bool:
    """Unknown origin counts as not logged in (the safe side)."""
    if channel == "client_area":
        return False
    if channel is None:
        return True
    return channel in set(channels_requiring_proof)


@dataclass(frozen=True)
class GateDecision:
    allow: bool
    reason: str | None = None
    message: str | None = None
    ticket_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        if self.allow:
            return {"allow": True}
        return {"allow": False, "reason": self.reason, "message": self.message,
                "ticket_id": self.ticket_id}


def _int(value: Any) -> int | None:
    return as_id(value.strip() if isinstance(value, str) else value)


def _first_id(values: Any, keys: tuple[str, ...]) -> int | None:
    """The first of ``keys`` in ``values`` that holds a client id (nothing if not a mapping)."""
    if not isinstance(values, Mapping):
        return None
    return next((found for key in keys if (found := _int(values.get(key)))), None)


def target_client(data: Mapping[str, Any], actor: Mapping[str, Any] | None) -> int | None:
    """The client being changed: from the hook's data (top level, then the module hooks'
    ``params`` and ``params.clientsdetails``), else the acting client's own id."""
    params = data.get("params")
    details = params.get("clientsdetails") if isinstance(params, Mapping) else None
    return (_first_id(data, ("client_id", "clientId", "userid", "userId", "clientid"))
            or _first_id(params, ("userid", "clientid", "client_id"))
            or _first_id(details, ("userid", "id", "client_id"))
            or (_int(actor.get("client_id")) if actor else None))


def decide_gate(hook: str, actor: Mapping[str, Any] | None, client_id: int,
                requests: Iterable[Any], now: datetime, default_language: str = "vi"
                ) -> GateDecision:
    """Allow or refuse one gated change (see the module docstring for the rules)."""
    change = GATE_CHANGES[hook]
    actor = actor or {}
    if actor.get("type") == "client" and _int(actor.get("client_id")) == client_id:
        return GateDecision(True, "client_session")
    blocking = None
    for row in requests:
        if row.state == VERIFIED and change in split_changes(row.changes) and (
                row.expires_at is None or row.expires_at > now):
            return GateDecision(True, "verified")
        if row.state in _SEVERITY and (
                blocking is None or _SEVERITY[row.state] > _SEVERITY[blocking.state]):
            blocking = row
    if blocking is None:
        return GateDecision(True)
    lang = messages.language_of(blocking.language, default_language)
    tid = blocking.tid or f"#{blocking.ticket_id}"
    key = {LOCKED: "gate_locked", REFUSED: "gate_refused", REQUIRED: "gate_required"}[
        blocking.state]
    return GateDecision(False, f"verification_{blocking.state}",
                        messages.text(lang, key, tid=tid), blocking.ticket_id)
