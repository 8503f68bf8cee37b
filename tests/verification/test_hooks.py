"""The handlers one by one (real ticket store, outbox and simulator), pure policy and lockout
window rules, and the registry wiring."""

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
    send_writes,
    vsettings,
)
from whmcs_bridge.hooks.context import Event
from whmcs_bridge.hooks.registry import load_registry
from whmcs_bridge.hooks.verification import on_closed, on_message, on_piping
from whmcs_bridge.runtime import BUILTIN_HANDLERS
from whmcs_bridge.store import make_engine
from whmcs_bridge.verification import lockout, policy, service, status, store, tokens
from whmcs_bridge.verification.proofs import build_proof


def _event(kind: str, n: int = 0, **data: Any) -> Event:
    return Event(id=f"evt-{kind}-{n}-{data.get('ticketid')}", type=kind, data=data,
                 timestamp=NOW, received_at=NOW)


@pytest.fixture
def hk(sqlite_url: str, whmcs: Any) -> Any:
    settings = vsettings(sqlite_url)
    engine = make_engine(sqlite_url)
    yield settings, engine, whmcs
    engine.dispose()


def test_registered_at_priority_30_with_the_sweep_job() -> None:
    registry = load_registry(BUILTIN_HANDLERS, entry_point_group=None)
    for hook in ("TicketOpen", "TicketOpenAdmin", "TicketUserReply", "TicketPiping",
                 "TicketClose"):
        specs = [s for s in registry.handlers_for(hook) if s.name.startswith("verification.")]
        assert specs and all(s.priority == 30 for s in specs), hook
    assert "verification.refusal_sweep" in [j.name for j in registry.jobs()]


def test_near_miss_opens_nothing_and_reply_adds_a_change(hk, sim, sim_client) -> None:
    settings, engine, whmcs = hk
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs)
        ticket = add_ticket(conn, sim, client_id=sim_client.id, channel="email")
        on_message(_event("TicketOpen", ticketid=ticket.id, subject="Hỏi giá",
                          message="Tôi muốn hỏi giá gói nâng cấp VPS"), ctx)
        assert store.get_request(conn, ticket.id) is None
        on_message(_event("TicketUserReply", 1, ticketid=ticket.id, replyid=77,
                          message="Ok, vậy nhờ nâng cấp gói giúp em"), ctx)
        on_message(_event("TicketUserReply", 2, ticketid=ticket.id, replyid=78,
                          message="và cài WordPress luôn nhé"), ctx)
        req = store.get_request(conn, ticket.id)
        assert store.split_changes(req.changes) == {"package_change", "software_install"}
        assert len(notifications(conn, "verification_required")) == 1
        links = notifications(conn, "verification_link")
        assert len(links) == 2  # a fresh link once the request grew
        first = links[0].payload["url"].rsplit("/", 1)[1]
        view, _ = service.inspect_link(ctx, first)
        assert (view.ok, view.reason) == (False, "changed")
        newest = links[1].payload["url"].rsplit("/", 1)[1]
        assert service.inspect_link(ctx, newest)[0].ok


def test_chat_credentials_get_the_policy_warning(hk, sim, sim_client) -> None:
    settings, engine, whmcs = hk
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs)
        ticket = add_ticket(conn, sim, client_id=sim_client.id, channel="chat")
        on_message(_event("TicketOpen", ticketid=ticket.id, subject="Web lỗi",
                          message="web lỗi, pass cpanel: Qx7#mm2024 nhé"), ctx)
        assert store.get_request(conn, ticket.id) is None  # a fault report, not a change
        assert store.any_leaked(conn, tokens.fingerprints(settings, "leak:password",
                                                          "Qx7#mm2024"))
    send_writes(settings, engine, whmcs)
    replies, notes = sim.state.conversation(sim.state.tickets[ticket.id])
    assert replies[-1].message.startswith("Theo quy định, không cung cấp")
    assert "Qx7#mm2024" not in replies[-1].message + "".join(n.message for n in notes)
    assert "(password)" in notes[-1].message


def test_staff_opened_and_client_area(hk, sim, sim_client) -> None:
    settings, engine, whmcs = hk
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs)
        staff = add_ticket(conn, sim, client_id=sim_client.id, channel="staff")
        on_message(_event("TicketOpenAdmin", ticketid=staff.id, subject="Upgrade",
                          message="Customer called: please upgrade my plan"), ctx)
        assert status.for_ticket(conn, staff.id)["state"] == "required"
        own = add_ticket(conn, sim, client_id=sim_client.id + 1, channel="client_area")
        on_message(_event("TicketOpen", ticketid=own.id, subject="Upgrade",
                          message="Please upgrade my plan"), ctx)
        assert status.for_ticket(conn, own.id) == {"required": False, "state": "not_required",
                                                   "method": None, "verified_at": None}


def test_closed_ticket_and_piping(hk, sim, sim_client) -> None:
    settings, engine, whmcs = hk
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs)
        ticket = add_ticket(conn, sim, client_id=sim_client.id, channel="email")
        on_message(_event("TicketOpen", ticketid=ticket.id, subject="Đổi email",
                          message="Xin đổi email tài khoản"), ctx)
        assert store.open_requests_for_client(conn, sim_client.id)
        on_closed(_event("TicketClose", ticketid=ticket.id), ctx)
        assert not store.open_requests_for_client(conn, sim_client.id)
        on_piping(_event("TicketPiping", body="card 4111 1111 1111 1111 thanks"), ctx)
        assert store.any_leaked(conn, tokens.fingerprints(settings, "leak:card_last4", "1111"))


def test_disabled_does_nothing(hk, sqlite_url, sim, sim_client) -> None:
    _, engine, whmcs = hk
    settings = vsettings(sqlite_url, verification={"enabled": False})
    with engine.begin() as conn:
        ctx = context(settings, conn, whmcs)
        ticket = add_ticket(conn, sim, client_id=sim_client.id, channel="email")
        on_message(_event("TicketOpen", ticketid=ticket.id, subject="Upgrade",
                          message="Please upgrade my plan"), ctx)
        assert store.get_request(conn, ticket.id) is None


def test_lockout_window_slides(hk) -> None:
    settings, engine, _ = hk
    with engine.begin() as conn:
        for minutes in (0, 60, 120, 180):
            store.record_attempt(conn, ticket_id=1, client_id=9, method="card_last4",
                                 channel="cli", actor="a", outcome="failed", reason="mismatch",
                                 now=NOW + timedelta(minutes=minutes))
        store.record_attempt(conn, ticket_id=2, client_id=9, method="payment", channel="api",
                             actor="b", outcome="failed", reason="mismatch",
                             now=NOW + timedelta(hours=4))
        assert lockout.is_locked(conn, settings, 9, NOW + timedelta(hours=5))
        # 24 h after the first failure it no longer counts
        assert not lockout.is_locked(conn, settings, 9, NOW + timedelta(hours=24, minutes=1))
        assert not lockout.is_locked(conn, settings, 10, NOW + timedelta(hours=5))


@pytest.mark.parametrize(("channel", "needed"), [
    ("client_area", False), ("email", True), ("phone", True), ("chat", True), ("staff", True),
    (None, True)])
def test_proof_needed_by_channel(channel, needed) -> None:
    assert policy.proof_needed(channel, ["email", "phone", "chat", "staff"]) is needed


def test_proof_needed_is_configurable() -> None:
    assert not policy.proof_needed("chat", ["email", "phone", "staff"])


def test_target_clients_from_hook_shapes() -> None:
    assert policy.target_clients("ClientDetailsValidation", {"userid": "12"}, None) == (12,)
    assert policy.target_clients("PreModuleCustom",
                                 {"params": {"clientsdetails": {"userid": 5}}}, None) == (5,)
    assert policy.target_clients("ShoppingCartValidateUpgrade", {"id": 3, "pid": 4},
                                 {"type": "client", "client_id": 8}) == (8,)
    assert policy.target_clients("ShoppingCartValidateUpgrade", {"id": 3},
                                 {"type": "admin", "client_id": None}) == ()


def test_already_verified_short_circuits(hk, sim, sim_client) -> None:
    settings, engine, whmcs = hk
    with engine.begin() as conn:
        ticket = add_ticket(conn, sim, client_id=sim_client.id, channel="phone")
    proving = job(settings, engine, whmcs)
    assert service.submit_proof(proving, ticket.id,
                                build_proof("in_person", {"reference": "R"}),
                                actor="a", channel="cli").outcome == "verified"
    again = service.submit_proof(proving, ticket.id,
                                 build_proof("card_last4", {"last4": "0000"}),
                                 actor="a", channel="cli")
    assert again.outcome == "already_verified"
    with engine.connect() as conn:
        assert len(store.attempts_for_ticket(conn, ticket.id)) == 1
