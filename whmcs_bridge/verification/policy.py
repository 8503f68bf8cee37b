"""When proof is needed, and the gate decision — pure functions of store rows.

Proof is never needed for a ticket opened by a logged-in client in the client area; it is
needed for e-mail/guest, phone, chat and staff-opened tickets (configurable list).

Gates (``POST /gates/<HookName>``) decide from the store alone (no WHMCS call). The clients a
change may be about are the candidates (:func:`target_clients`); rules in order:

1. ``ClientDetailsValidation`` with no client id runs before a client is *added* (sign-up,
   checkout with a new account, the admin's "Add New Client", API ``AddClient``): nothing to
   verify → allow (``new_client``). Every other gate needs a client (the caller answers 400);
2. a module command (``PreModule*``) run by the system (cron, automatic provisioning after a
   paid order) → allow (``system``): WHMCS never retries an aborted one, so the customer would
   have paid for nothing — unless a candidate has an open ``locked`` request (repeated failed
   proofs: the order may be the attacker's), which refuses like rule 5. Staff and API changes
   keep the gate;
3. a candidate who is the acting client in their own logged-in session (``actor.type ==
   "client"`` and ``actor.client_id``) is cleared; only a client's own session counts — an
   admin's or masquerading admin's session client is never the target of a change;
4. a candidate with a verified request covering the gate's change kind, not expired, is cleared;
5. a remaining candidate with an open request (ticket not closed) that is ``required``,
   ``locked`` or ``refused`` — of any change kind, since staff acting on an unverified request
   is exactly what the gate prevents — → refuse, naming the ticket (the most severe across
   candidates). Every candidate is checked, so a key pointing elsewhere never clears the owner;
6. otherwise (nothing pending) → allow: the gate never blocks normal admin work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from whmcs_bridge.digits import as_id
from whmcs_bridge.i18n import customer_language
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


#: Module commands: the service owner (``params``) is the client, and the system may run them.
MODULE_HOOKS = frozenset(h for h in GATE_CHANGES if h.startswith("PreModule"))
#: The gate that also runs before a client exists (its vars then carry no client id).
NEW_CLIENT_HOOK = "ClientDetailsValidation"
#: Keys that hold a client id, per place in the hook's data. ``userId`` / ``user_id`` are never
#: read: they are WHMCS *user* ids (a login, which may manage several clients), not clients.
_TOP_KEYS = ("userid", "client_id", "clientId", "clientid")
_PARAMS_KEYS = ("userid", "clientid", "client_id")
_DETAILS_KEYS = ("userid", "id", "client_id")


def _ids(values: Any, keys: tuple[str, ...]) -> list[int]:
    """The client ids ``values`` holds under ``keys`` (nothing if not a mapping)."""
    if not isinstance(values, Mapping):
        return []
    return [found for key in keys if (found := _int(values.get(key)))]


def unreadable_client_key(data: Mapping[str, Any]) -> str | None:
    """The first client-id key holding something that is not a client id (``0``, empty and
    null mean none), as a dotted path: such a change names a client nobody can check, which
    must never pass for a new client."""
    params = data.get("params")
    details = params.get("clientsdetails") if isinstance(params, Mapping) else None
    for path, values, keys in (("data", data, _TOP_KEYS), ("data.params", params, _PARAMS_KEYS),
                               ("data.params.clientsdetails", details, _DETAILS_KEYS)):
        if not isinstance(values, Mapping):
            continue
        for key in keys:
            value = values.get(key)
            if value not in (None, "", 0, "0") and _int(value) is None:
                return f"{path}.{key}"
    return None


def _session_client(actor: Mapping[str, Any] | None) -> int | None:
    """The acting client, only when a client acts in their own session: an admin's or a
    masquerading admin's session client is not who an admin-area change is about."""
    if not actor or actor.get("type") != "client":
        return None
    return _int(actor.get("client_id"))


def target_clients(hook: str, data: Mapping[str, Any], actor: Mapping[str, Any] | None
                   ) -> tuple[int, ...]:
    """Every client the change may be about, the one that decides first: for module hooks the
    service owner (``params.userid``, then ``params.clientsdetails``), for the others the
    top-level keys; then every other id the data names, then the acting client's own session
    (:func:`_session_client`). All are checked, so disagreeing keys can only refuse more."""
    params = data.get("params")
    details = params.get("clientsdetails") if isinstance(params, Mapping) else None
    owner = _ids(params, _PARAMS_KEYS) + _ids(details, _DETAILS_KEYS)
    top = _ids(data, _TOP_KEYS)
    found = owner + top if hook in MODULE_HOOKS else top + owner
    session = _session_client(actor)
    if session is not None:
        found.append(session)
    return tuple(dict.fromkeys(found))


def _blocking(requests: Iterable[Any], change: str, now: datetime) -> Any | None:
    """The most severe open blocking request, or None when there is none or a verified
    request covers ``change``."""
    blocking = None
    for row in requests:
        if row.state == VERIFIED and change in split_changes(row.changes) and (
                row.expires_at is None or row.expires_at > now):
            return None
        if row.state in _SEVERITY and (
                blocking is None or _SEVERITY[row.state] > _SEVERITY[blocking.state]):
            blocking = row
    return blocking


def _refusal(blocking: Any, default_language: str) -> GateDecision:
    lang = customer_language(blocking.language, default_language)
    tid = blocking.tid or f"#{blocking.ticket_id}"
    key = {LOCKED: "gate_locked", REFUSED: "gate_refused", REQUIRED: "gate_required"}[
        blocking.state]
    text = messages.text(lang, key, tid=tid)
    owner = getattr(blocking, "owner", None)
    if owner in _UNRESOLVED:
        # the request is held against this client without being known to be theirs: say so,
        # so staff link the ticket to its client in WHMCS instead of asking this one for proof
        text += f" ({tid}: {messages.OWNER_TEXTS[lang][owner]})"
    return GateDecision(False, f"verification_{blocking.state}", text, blocking.ticket_id)


#: Owner states of a request that blocks a client it may not belong to.
_UNRESOLVED = ("ambiguous", "unmatched")


def _worst(rows: Iterable[Any]) -> Any | None:
    return max(rows, key=lambda row: _SEVERITY[row.state], default=None)


def decide_gate(hook: str, actor: Mapping[str, Any] | None,
                requests: Mapping[int, Iterable[Any]], now: datetime,
                default_language: str = "vi") -> GateDecision:
    """Allow or refuse one gated change (see the module docstring for the rules).

    ``requests`` maps each candidate of :func:`target_clients` to its open requests."""
    change = GATE_CHANGES[hook]
    actor = actor or {}
    if not requests:
        if hook != NEW_CLIENT_HOOK:
            raise ValueError(f"{hook} needs the client being changed")
        return GateDecision(True, "new_client")
    if actor.get("type") == "system" and hook in MODULE_HOOKS:
        locked = _worst(row for rows in requests.values() for row in rows
                        if row.state == LOCKED)
        return _refusal(locked, default_language) if locked else GateDecision(True, "system")
    session = _session_client(actor)
    others = {cid: rows for cid, rows in requests.items() if cid != session}
    if not others:
        return GateDecision(True, "client_session")
    found = [row for rows in others.values() if (row := _blocking(rows, change, now))]
    worst = _worst(found)
    return GateDecision(True) if worst is None else _refusal(worst, default_language)
