"""Every proof checked against the WHMCS simulator, right and wrong."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from whmcs_bridge.sim.data import client_password, service_password
from whmcs_bridge.verification.proofs import (
    ProofInputError,
    _client_emails,
    build_proof,
    check,
    latest_payment,
)


def _other(sim: Any, client: Any) -> Any:
    return next(c for c in sim.state.clients.values() if c.id != client.id)


def test_client_login_right_and_wrong(sim, whmcs, sim_client) -> None:
    right = build_proof("client_login", {"email": sim_client.email,
                                         "password": client_password(sim_client.id)})
    assert check(whmcs, sim_client.id, right).ok
    wrong = build_proof("client_login", {"email": sim_client.email, "password": "nope-123"})
    assert check(whmcs, sim_client.id, wrong).reason == "mismatch"
    other = _other(sim, sim_client)
    # another customer's valid login does not prove this account (and is never even tried)
    logins_before = len(sim.state.logins)
    theirs = build_proof("client_login", {"email": other.email,
                                          "password": client_password(other.id)})
    result = check(whmcs, sim_client.id, theirs)
    assert not result.ok and result.reason == "email_not_on_account"
    assert len(sim.state.logins) == logins_before


def test_service_login_right_and_wrong(sim, whmcs, sim_client) -> None:
    service = sim_client.services[0]
    right = build_proof("service_login", {"username": service.username,
                                          "password": service_password(service.id)})
    assert check(whmcs, sim_client.id, right).ok
    wrong = build_proof("service_login", {"username": service.username, "password": "x" * 9})
    assert not check(whmcs, sim_client.id, wrong).ok
    other = _other(sim, sim_client).services[0]
    theirs = build_proof("service_login", {"username": other.username,
                                           "password": service_password(other.id)})
    assert not check(whmcs, sim_client.id, theirs).ok


def test_card_last4_right_and_wrong(whmcs, sim_client) -> None:
    card = next(p for p in sim_client.paymethods if "Card" in p.type)
    assert check(whmcs, sim_client.id, build_proof("card_last4",
                                                   {"last4": card.card_last_four})).ok
    wrong = f"{(int(card.card_last_four) + 1) % 10000:04d}"
    others = {p.card_last_four for p in sim_client.paymethods}
    if wrong in others:
        wrong = f"{(int(card.card_last_four) + 2) % 10000:04d}"
    assert check(whmcs, sim_client.id, build_proof("card_last4", {"last4": wrong})).reason \
        == "mismatch"


def test_payment_right_and_each_field_wrong(sim, whmcs, sim_client) -> None:
    txs = [t for t in sim.state.transactions if t.userid == sim_client.id]
    tx = max(txs, key=lambda t: (t.date, t.id))
    assert latest_payment(whmcs, sim_client.id)[1] == tx.amountin
    fields = {"payment_method": tx.gateway, "amount": str(tx.amountin),
              "date": tx.date.date().isoformat()}
    assert check(whmcs, sim_client.id, build_proof("payment", fields)).ok
    for key, bad in (("payment_method", "cash"), ("amount", str(tx.amountin + Decimal("1"))),
                     ("date", "2001-01-01")):
        proof = build_proof("payment", {**fields, key: bad})
        assert not check(whmcs, sim_client.id, proof).ok, key


def test_in_person_is_an_attestation(whmcs, sim_client) -> None:
    assert check(whmcs, sim_client.id, build_proof("in_person", {"reference": "VISIT-42"})).ok
    with pytest.raises(ProofInputError) as err:
        build_proof("in_person", {})
    assert err.value.field == "reference"


@pytest.mark.parametrize(("method", "fields", "bad"), [
    ("card_last4", {"last4": "12a4"}, "last4"),
    ("card_last4", {"last4": "\u0664\u0662\u0664\u0662"}, "last4"),  # Arabic-Indic digits
    ("service_login", {"username": "u1", "password": "p", "service_id": "\u00b2"}, "service_id"),
    # 5000 digits passed the digits check and crashed int() (ValueError, a 500)
    ("service_login", {"username": "u1", "password": "p", "service_id": "9" * 5000},
     "service_id"),
    ("service_login", {"username": "u1", "password": "p", "service_id": 10**30}, "service_id"),
    ("client_login", {"email": "nobody", "password": "x"}, "email"),
    ("payment", {"payment_method": "stripe", "amount": "ten", "date": "2024-01-01"}, "amount"),
    ("payment", {"payment_method": "stripe", "amount": "Infinity", "date": "2024-01-01"}, "amount"),
    ("payment", {"payment_method": "stripe", "amount": "NaN", "date": "2024-01-01"}, "amount"),
    ("payment", {"payment_method": "stripe", "amount": "sNaN", "date": "2024-01-01"}, "amount"),
    ("payment", {"payment_method": "stripe", "amount": "1e999", "date": "2024-01-01"}, "amount"),
    ("payment", {"payment_method": "stripe", "amount": "-5", "date": "2024-01-01"}, "amount"),
    ("payment", {"payment_method": "stripe", "amount": "10", "date": "01/02/2024"}, "date"),
    ("service_login", {"username": "u1"}, "password"),
    ("telepathy", {}, "method"),
])
def test_bad_fields_name_the_field(method, fields, bad) -> None:
    with pytest.raises(ProofInputError) as err:
        build_proof(method, fields)
    assert err.value.field == bad


def test_proof_repr_hides_secret() -> None:
    proof = build_proof("card_last4", {"last4": "4242"})
    assert "4242" not in repr(proof)


def test_client_users_with_odd_ids_from_whmcs_are_skipped() -> None:
    # "²" passed str.isdigit() and crashed int() while checking a client-area login
    client = SimpleNamespace(email="Owner@Example.test", owner_user_id=5, extra={"users": {
        "user": [{"id": "\u00b2", "email": "a@example.test"}, {"id": "9" * 5000},
                 {"id": "7", "email": "b@example.test"}]}})
    assert _client_emails(client) == ({"owner@example.test", "a@example.test",
                                       "b@example.test"}, {5, 7})
