"""Check one proof of ownership against WHMCS through the API client.

Nothing here stores or logs a submitted value. Each check returns a :class:`ProofResult`
(outcome plus a short machine reason); comparisons of secrets use :func:`hmac.compare_digest`.
The caller (:mod:`.service`) records the attempt, fingerprints the value and applies lockout.

Methods (constants in :mod:`whmcs_bridge.verification`):

* ``client_login`` — client-area e-mail + password, via ``ValidateLogin``. **Side effects:**
  WHMCS starts a session and updates the user's last-login time (reference 2.13), so the check
  is staff-initiated only (CLI and staff API; never from the customer-facing link page) and the
  e-mail must first be one of the client's own addresses, so we never touch another account. A
  user with two-factor authentication still proves knowledge of the password; the attempt is
  recorded with reason ``matched_2fa_user`` so staff can see it.
* ``service_login`` — service (cPanel) username + password, via ``GetClientsProducts``.
* ``card_last4`` — last four digits of a stored card, via ``GetPayMethods.card_last_four``.
* ``payment`` — gateway, amount and date of the most recent payment must all match (latest
  ``GetTransactions`` income, else the latest paid invoice from ``GetInvoices``).
* ``in_person`` — staff attestation (national ID, plus an introduction letter for an
  organisation) recorded with the admin's name and a reference; no WHMCS call.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from whmcs_bridge.digits import MAX_ID, as_id
from whmcs_bridge.errors import BadRequest
from whmcs_bridge.verification import (
    CARD_LAST4,
    CLIENT_LOGIN,
    IN_PERSON,
    PAYMENT,
    SERVICE_LOGIN,
)

#: The longest in-person reference kept (the audit column's width).
REFERENCE_MAX = 200

_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,4})?")


class ProofInputError(BadRequest, ValueError):
    """A proof's fields are missing or malformed (HTTP 400 / CLI exit 2), naming the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message, field=field_name)
        self.message = message


@dataclass(frozen=True)
class Proof:
    """A submitted proof. ``secret`` holds the value that must never be stored or shown."""

    method: str
    identity: str = ""  # e-mail / service username / gateway (not secret, not stored either)
    secret: str = field(default="", repr=False)
    amount: Decimal | None = None
    paid_on: date | None = None
    service_id: int | None = None
    reference: str = ""

    @property
    def reuse_value(self) -> str | None:
        """What a fingerprint is taken of (to spot a leaked or repeated value)."""
        if self.method in (CLIENT_LOGIN, SERVICE_LOGIN, CARD_LAST4):
            return self.secret
        if self.method == PAYMENT:
            return f"{_norm(self.identity)}|{self.amount}|{self.paid_on}"
        return None

    @property
    def leak_kind(self) -> str | None:
        """Which leaked-secret fingerprints make this proof unusable."""
        return {CLIENT_LOGIN: "password", SERVICE_LOGIN: "password",
                CARD_LAST4: "card_last4"}.get(self.method)


@dataclass(frozen=True)
class ProofResult:
    ok: bool
    reason: str


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def build_proof(method: str, fields: dict[str, Any]) -> Proof:
    """Validate the fields of one method (from JSON or CLI prompts) into a :class:`Proof`."""

    def need(name: str) -> str:
        value = fields.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ProofInputError(name, "is required")
        return value.strip() if name not in ("password",) else value

    if method == CLIENT_LOGIN:
        email = need("email")
        if "@" not in email:
            raise ProofInputError("email", "is not an e-mail address")
        return Proof(method, identity=email, secret=need("password"))
    if method == SERVICE_LOGIN:
        raw_id = fields.get("service_id")
        service_id = None if raw_id is None else as_id(raw_id)
        if raw_id is not None and service_id is None:
            raise ProofInputError("service_id", f"must be a number from 0 to {MAX_ID}")
        return Proof(method, identity=need("username"), secret=need("password"),
                     service_id=service_id)
    if method == CARD_LAST4:
        digits = need("last4")
        if not re.fullmatch(r"[0-9]{4}", digits):
            raise ProofInputError("last4", "must be exactly 4 digits")
        return Proof(method, secret=digits)
    if method == PAYMENT:
        gateway = need("payment_method")
        # an amount as a customer writes it, "1,234.50": not "NaN", "Infinity" or "1e999",
        # which Decimal parses but quantize() refuses (a 500 when comparing with the payment)
        text = need("amount").replace(",", "").strip()
        if not _AMOUNT.fullmatch(text):
            raise ProofInputError("amount", "is not an amount like 1234.50")
        amount = Decimal(text)
        try:
            paid_on = date.fromisoformat(need("date"))
        except ValueError:
            raise ProofInputError("date", "must be YYYY-MM-DD") from None
        return Proof(method, identity=gateway, amount=amount, paid_on=paid_on)
    if method == IN_PERSON:
        reference = need("reference")
        if len(reference) > REFERENCE_MAX:
            raise ProofInputError("reference", f"must be at most {REFERENCE_MAX} characters")
        return Proof(method, reference=reference)
    raise ProofInputError("method", f"unknown method {method!r}")


def check(whmcs: Any, client_id: int, proof: Proof) -> ProofResult:
    """Check ``proof`` for ``client_id`` against WHMCS (network calls; no storage)."""
    if proof.method == CLIENT_LOGIN:
        return _client_login(whmcs, client_id, proof)
    if proof.method == SERVICE_LOGIN:
        return _service_login(whmcs, client_id, proof)
    if proof.method == CARD_LAST4:
        return _card_last4(whmcs, client_id, proof)
    if proof.method == PAYMENT:
        return _payment(whmcs, client_id, proof)
    if proof.method == IN_PERSON:
        return ProofResult(bool(proof.reference), "attested")
    raise ProofInputError("method", f"unknown method {proof.method!r}")


def _client_emails(client: Any) -> tuple[set[str], set[int]]:
    emails = {client.email.lower()} if client.email else set()
    user_ids = {client.owner_user_id} if client.owner_user_id else set()
    users = client.extra.get("users")
    if isinstance(users, dict):
        users = users.get("user")
    if isinstance(users, dict):
        users = [users]
    for user in users or []:
        if isinstance(user, dict):
            if user.get("email"):
                emails.add(str(user["email"]).lower())
            if (user_id := as_id(user.get("id"))) is not None:
                user_ids.add(user_id)
    return emails, user_ids


def _client_login(whmcs: Any, client_id: int, proof: Proof) -> ProofResult:
    client = whmcs.get_client(client_id)
    emails, user_ids = _client_emails(client)
    if proof.identity.lower() not in emails:
        # never call ValidateLogin (and its side effects) for someone else's address
        return ProofResult(False, "email_not_on_account")
    login = whmcs.validate_login(proof.identity, proof.secret)
    if login is None:
        return ProofResult(False, "mismatch")
    if user_ids and login.userid not in user_ids:
        return ProofResult(False, "other_user")
    return ProofResult(True, "matched_2fa_user" if login.two_factor_enabled else "matched")


def _service_login(whmcs: Any, client_id: int, proof: Proof) -> ProofResult:
    matched = False
    seen = False
    for product in whmcs.iter_clients_products(clientid=client_id):
        if proof.service_id is not None and product.id != proof.service_id:
            continue
        seen = True
        stored = product.password.reveal() if product.password else ""
        # evaluate both comparisons for every service: no early exit on the username
        same_user = _eq(product.username.lower(), proof.identity.lower())
        same_pass = bool(stored) and _eq(stored, proof.secret)
        matched |= same_user and same_pass
    if not seen:
        return ProofResult(False, "no_service")
    return ProofResult(matched, "matched" if matched else "mismatch")


def _card_last4(whmcs: Any, client_id: int, proof: Proof) -> ProofResult:
    cards = [m for m in whmcs.get_pay_methods(client_id)
             if "card" in m.type.lower() and m.card_last_four]
    if not cards:
        return ProofResult(False, "no_card_on_file")
    matched = False
    for card in cards:
        matched |= _eq(card.card_last_four, proof.secret)
    return ProofResult(matched, "matched" if matched else "mismatch")


def _day(value: datetime | date) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value


def latest_payment(whmcs: Any, client_id: int) -> tuple[str, Decimal, date] | None:
    """(gateway, amount, day) of the client's most recent payment, or None."""
    txs = [t for t in whmcs.get_transactions(clientid=client_id)
           if t.amountin and t.amountin > 0 and t.date]
    if txs:
        tx = max(txs, key=lambda t: (t.date, t.id))
        return tx.gateway, tx.amountin, _day(tx.date)
    invoices = [i for i in whmcs.iter_invoices(userid=client_id, status="Paid")
                if i.datepaid and i.total is not None]
    if invoices:
        inv = max(invoices, key=lambda i: (i.datepaid, i.id))
        return inv.paymentmethod, inv.total, _day(inv.datepaid)
    return None


def _payment(whmcs: Any, client_id: int, proof: Proof) -> ProofResult:
    latest = latest_payment(whmcs, client_id)
    if latest is None:
        return ProofResult(False, "no_payment_on_file")
    gateway, amount, day = latest
    ok_gateway = _eq(_norm(gateway), _norm(proof.identity))
    ok_amount = proof.amount is not None and Decimal(amount).quantize(Decimal("0.01")) == \
        proof.amount.quantize(Decimal("0.01"))
    ok_day = day == proof.paid_on
    ok = ok_gateway and ok_amount and ok_day
    return ProofResult(ok, "matched" if ok else "mismatch")
