"""Service flows on both databases with the real ticket store, outbox and the simulator:
proofs right and wrong, lockout at the 5th failure with the owner alert, leaked secrets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.verification.helpers import (
    NOW,
    add_ticket,
    context,
    job,
    notifications,
    pauses,
    send_writes,
    vsettings,
)
from whmcs_bridge.sim.data import client_password, service_password
from whmcs_bridge.store import make_engine
from whmcs_bridge.verification import intake, service, status, store
from whmcs_bridge.verification.proofs import ProofInputError, build_proof
from whmcs_bridge.verification.redact import redact


@pytest.fixture
def env(db_url: str, whmcs: Any) -> Any:
    settings = vsettings(db_url)
    engine = make_engine(db_url)
    yield settings, engine, whmcs
    engine.dispose()


def _open(ctx: Any, sim: Any, client_id: int, channel: str = "email") -> Any:
    ticket = add_ticket(ctx.conn, sim, client_id=client_id, channel=channel)
    service.open_request(ctx, service.BridgeEffects(ctx), ticket,
                         frozenset({"package_change"}))
    return ticket


def _notes(sim: Any, ticket_id: int) -> list[str]:
    _, notes = sim.state.conversation(sim.state.tickets[ticket_id])
    return [n.message for n in notes]


def test_required_flow_then_verified_by_card(env, sim, sim_client) -> None:
    settings, engine, whmcs = env
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs)
        ticket = _open(ctx, sim, sim_client.id)
        assert status.for_ticket(conn, ticket.id) == {
            "required": True, "state": "required", "method": None, "verified_at": None,
            "owner": {"state": "ticket", "clients": [sim_client.id], "warning": None}}
        assert [p.reason for p in pauses(conn, ticket.id)] == ["awaiting_verification"]
        assert len(notifications(conn, "verification_required")) == 1
        link = notifications(conn, "verification_link")
        assert len(link) == 1 and link[0].payload["url"].startswith("http://bridge.test/verify/")
    card = next(p for p in sim_client.paymethods if "Card" in p.type)
    out = service.submit_proof(job(settings, engine, whmcs), ticket.id,
                               build_proof("card_last4", {"last4": card.card_last_four}),
                               actor="alice", channel="cli")
    assert out.outcome == "verified"
    with engine.connect() as conn:
        got = status.for_ticket(conn, ticket.id)
        assert got["state"] == "verified" and got["method"] == "card_last4"
        assert got["verified_at"] == NOW.isoformat()
        assert pauses(conn, ticket.id)[0].ended_at is not None
        assert len(notifications(conn, "account_change_authorised")) == 1
        attempts = store.attempts_for_ticket(conn, ticket.id)
        assert [(a.method, a.outcome, a.actor, a.channel) for a in attempts] == [
            ("card_last4", "verified", "alice", "cli")]
        assert card.card_last_four not in (attempts[0].fingerprint or "")
    send_writes(settings, engine, whmcs)
    assert any("VERIFIED" in n and "alice" in n for n in _notes(sim, ticket.id))


def test_client_area_ticket_needs_no_proof(env, sim, sim_client) -> None:
    settings, engine, whmcs = env
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs)
        ticket = _open(ctx, sim, sim_client.id, channel="client_area")
        assert status.for_ticket(conn, ticket.id)["state"] == "not_required"
        assert pauses(conn, ticket.id) == []
        assert notifications(conn) == []


@pytest.mark.parametrize("method", ["client_login", "service_login", "payment"])
def test_other_proofs_verify(env, sim, sim_client, method) -> None:
    settings, engine, whmcs = env
    svc = sim_client.services[0]
    tx = max((t for t in sim.state.transactions if t.userid == sim_client.id),
             key=lambda t: (t.date, t.id))
    fields = {
        "client_login": {"email": sim_client.email, "password": client_password(sim_client.id)},
        "service_login": {"username": svc.username, "password": service_password(svc.id)},
        "payment": {"payment_method": tx.gateway, "amount": str(tx.amountin),
                    "date": tx.date.date().isoformat()},
    }[method]
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs)
        ticket = _open(ctx, sim, sim_client.id)
    out = service.submit_proof(job(settings, engine, whmcs), ticket.id,
                               build_proof(method, fields), actor="bob", channel="api")
    assert out.outcome == "verified", out


def test_lockout_at_fifth_failure_alerts_owner(env, sim, sim_client) -> None:
    settings, engine, whmcs = env
    card = next(p for p in sim_client.paymethods if "Card" in p.type)
    wrong = "0000" if card.card_last_four != "0000" else "0001"
    with engine.begin() as conn:
        first = _open(context(settings, conn, whmcs), sim, sim_client.id)
    outcomes = []
    for i in range(5):
        # failures on two channels count together (per client)
        outcomes.append(service.submit_proof(
            job(settings, engine, whmcs, NOW + timedelta(minutes=i)), first.id,
            build_proof("card_last4", {"last4": wrong}), actor="carol",
            channel="cli" if i % 2 else "api"))
    assert [o.state for o in outcomes] == ["required"] * 4 + ["locked"]
    with engine.connect() as conn:
        assert len(notifications(conn, "verification_locked")) == 1
        assert status.for_ticket(conn, first.id)["state"] == "locked"
    # locked: even the right digits are refused now …
    later = job(settings, engine, whmcs, NOW + timedelta(minutes=10))
    right = service.submit_proof(later, first.id,
                                 build_proof("card_last4", {"last4": card.card_last_four}),
                                 actor="carol", channel="cli")
    assert (right.outcome, right.reason) == ("rejected", "locked")
    # … but a strong proof (in person) still verifies, and resets the count
    strong = service.submit_proof(later, first.id,
                                  build_proof("in_person", {"reference": "VISIT-7"}),
                                  actor="carol", channel="cli")
    assert strong.outcome == "verified"
    with engine.connect() as conn:
        rows = store.attempts_for_ticket(conn, first.id)
    assert [r.outcome for r in rows] == ["failed"] * 5 + ["rejected", "verified"]
    assert rows[-1].reference == "VISIT-7"
    send_writes(settings, engine, whmcs)
    notes = _notes(sim, first.id)
    assert sum("Ownership verification for" in n for n in notes) >= 7


def test_leaked_password_is_unusable_for_proof(env, sim, sim_client) -> None:
    settings, engine, whmcs = env
    svc = sim_client.services[0]
    secret = service_password(svc.id)
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs)
        ticket = _open(ctx, sim, sim_client.id)
        found = redact(f"my cpanel pass: {secret}")
        assert found.kinds == ["password"]
        service.handle_leak(ctx, service.BridgeEffects(ctx),
                            intake.leaks(settings, "message", found), found.text,
                            ticket=ticket, reply_id=None, event_id="evt-leak")
    out = service.submit_proof(job(settings, engine, whmcs), ticket.id,
                               build_proof("service_login", {"username": svc.username,
                                                             "password": secret}),
                               actor="dan", channel="cli")
    assert (out.outcome, out.reason) == ("failed", "leaked_secret")


def test_ticket_without_client_is_a_clear_error(env, sim) -> None:
    settings, engine, whmcs = env
    with engine.begin() as conn:
        ticket = add_ticket(conn, sim, client_id=0, channel="email")
    with pytest.raises(ProofInputError) as err:
        service.submit_proof(job(settings, engine, whmcs), ticket.id,
                             build_proof("card_last4", {"last4": "1234"}), actor="x",
                             channel="cli")
    assert err.value.field == "ticket"
    with pytest.raises(service.NotFound):
        service.submit_proof(job(settings, engine, whmcs), 999999,
                             build_proof("card_last4", {"last4": "1234"}), actor="x",
                             channel="cli")
