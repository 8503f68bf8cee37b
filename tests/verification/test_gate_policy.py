"""The gate decision as a pure function: which clients a change is about, and the rules of
``whmcs_bridge.verification.policy`` (new clients, the system, the client's own session, every
candidate checked)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from tests.verification.helpers import NOW
from whmcs_bridge.verification import policy

MODULE_HOOKS = sorted(policy.MODULE_HOOKS)
ADMIN = {"type": "admin", "client_id": None, "admin_id": 1, "admin_username": "alice"}
SYSTEM = {"type": "system", "client_id": None}


def row(state: str, ticket_id: int = 1, changes: str = "package_change",
        expires_at: Any = None) -> Any:
    return SimpleNamespace(ticket_id=ticket_id, tid=f"T-{ticket_id}", state=state,
                           changes=changes, expires_at=expires_at, language="en")


# --- which clients a gate checks (issue 13.5, issue 12.4) ------------------------------------


@pytest.mark.parametrize("hook", MODULE_HOOKS)
def test_module_hooks_take_the_service_owner_first(hook) -> None:
    data = {"client_id": 9, "params": {"userid": 5, "clientsdetails": {"userid": 5, "id": 5}}}
    assert policy.target_clients(hook, data, ADMIN) == (5, 9)
    only_details = {"params": {"serviceid": 7, "clientsdetails": {"id": "6"}}}
    assert policy.target_clients(hook, only_details, ADMIN) == (6,)


def test_user_id_is_never_a_client_id() -> None:
    # userId is a WHMCS user (a login): before, it was read as the client when nothing else was
    assert policy.target_clients("ClientDetailsValidation", {"userId": 77}, ADMIN) == ()
    assert policy.target_clients("PreModuleCustom", {"params": {"userid": 5}, "userId": 77},
                                 ADMIN) == (5,)
    assert policy.target_clients("ContactDetailsValidation", {"user_id": 77}, ADMIN) == ()


@pytest.mark.parametrize("actor_type", ["admin", "masquerading_admin", "api", "system"])
def test_only_a_clients_own_session_names_the_target(actor_type) -> None:
    # an admin who used "Login as Owner" for client 3 then edits client 8 in the admin area:
    # client 3 was checked (and, without 8 in the data, taken for the target)
    actor = {"type": actor_type, "client_id": 3}
    assert policy.target_clients("ClientDetailsValidation", {"userid": 8}, actor) == (8,)
    assert policy.target_clients("ShoppingCartValidateUpgrade", {"id": 7}, actor) == ()
    own = {"type": "client", "client_id": 3}
    assert policy.target_clients("ShoppingCartValidateUpgrade", {"id": 7}, own) == (3,)


def test_unreadable_client_key_is_named() -> None:
    assert policy.unreadable_client_key({"userid": "abc"}) == "data.userid"
    assert policy.unreadable_client_key({"params": {"userid": 2**40}}) == "data.params.userid"
    assert policy.unreadable_client_key({"userid": 0, "firstname": "An"}) is None
    assert policy.unreadable_client_key({"firstname": "An", "email": "a@b.test"}) is None


# --- the rules --------------------------------------------------------------------------------


def test_new_client_is_allowed_whoever_acts() -> None:
    for actor in (ADMIN, SYSTEM, {"type": "api"}, None):
        decision = policy.decide_gate("ClientDetailsValidation", actor, {}, NOW)
        assert (decision.allow, decision.reason) == (True, "new_client")
        assert decision.as_json() == {"allow": True}


@pytest.mark.parametrize("hook", sorted(set(policy.GATE_CHANGES) - {"ClientDetailsValidation"}))
def test_other_gates_need_a_client(hook) -> None:
    with pytest.raises(ValueError, match="needs the client"):
        policy.decide_gate(hook, ADMIN, {}, NOW)


@pytest.mark.parametrize("hook", MODULE_HOOKS)
@pytest.mark.parametrize("state", ["required", "refused"])
def test_system_module_command_is_allowed_despite_a_pending_request(hook, state) -> None:
    decision = policy.decide_gate(hook, SYSTEM, {5: [row(state)]}, NOW)
    assert (decision.allow, decision.reason) == (True, "system")
    # staff and the API keep the gate
    for actor in (ADMIN, {"type": "api"}, {"type": "masquerading_admin", "client_id": 5}):
        assert policy.decide_gate(hook, actor, {5: [row(state)]}, NOW).allow is False


@pytest.mark.parametrize("hook", MODULE_HOOKS)
def test_system_module_command_is_refused_while_a_candidate_is_locked(hook) -> None:
    verified = row("verified", 2, expires_at=NOW + timedelta(hours=1))
    decision = policy.decide_gate(hook, SYSTEM, {5: [], 9: [row("locked", 4), verified]}, NOW)
    assert (decision.allow, decision.reason, decision.ticket_id) == (
        False, "verification_locked", 4)


@pytest.mark.parametrize("hook", ["ClientDetailsValidation", "ContactDetailsValidation",
                                  "ShoppingCartValidateUpgrade"])
def test_system_is_not_exempt_outside_module_commands(hook) -> None:
    decision = policy.decide_gate(hook, SYSTEM, {5: [row("required")]}, NOW)
    assert (decision.allow, decision.reason) == (False, "verification_required")


def test_every_candidate_is_checked() -> None:
    # the owner (5) has a pending request; a forged key names client 9, who has nothing
    decision = policy.decide_gate("PreModuleChangePackage", ADMIN, {9: [], 5: [row("required")]},
                                  NOW)
    assert (decision.allow, decision.ticket_id) == (False, 1)
    # a verification of one candidate does not clear another
    verified = row("verified", 2, expires_at=NOW + timedelta(hours=1))
    decision = policy.decide_gate("PreModuleChangePackage", ADMIN,
                                  {9: [verified], 5: [row("required", 3)]}, NOW)
    assert (decision.allow, decision.ticket_id) == (False, 3)
    # the most severe across candidates is named
    decision = policy.decide_gate("PreModuleCustom", ADMIN,
                                  {5: [row("required", 1)], 9: [row("locked", 6)]}, NOW)
    assert (decision.reason, decision.ticket_id) == ("verification_locked", 6)
    assert policy.decide_gate("PreModuleCustom", ADMIN, {5: [], 9: []}, NOW).allow is True


def test_a_clients_own_session_clears_only_that_client() -> None:
    own = {"type": "client", "client_id": 5}
    assert policy.decide_gate("ClientDetailsValidation", own, {5: [row("required")]},
                              NOW).reason == "client_session"
    decision = policy.decide_gate("ClientDetailsValidation", own,
                                  {8: [row("required", 2)], 5: [row("required")]}, NOW)
    assert (decision.allow, decision.ticket_id) == (False, 2)
