from __future__ import annotations

import types

import pytest

from whmcs_bridge.hooks.registry import HookRegistry, UnknownHookError, load_registry, on, periodic
from whmcs_bridge.runtime import BUILTIN_HANDLERS


def test_typo_in_hook_name_fails_loudly() -> None:
    reg = HookRegistry()
    with pytest.raises(UnknownHookError, match="TicketUserReplied"):
        reg.register("TicketUserReplied", lambda e, c: None)


def test_handlers_run_in_priority_then_name_order() -> None:
    mod = types.SimpleNamespace()

    @on("TicketOpen", priority=20, name="b")
    def b(e, c):  # type: ignore[no-untyped-def]
        return "b"

    @on("TicketOpen", priority=10, name="z")
    @on("TicketClose", priority=5, name="z")
    def z(e, c):  # type: ignore[no-untyped-def]
        return "z"

    @on("TicketOpen", priority=20, name="a")
    def a(e, c):  # type: ignore[no-untyped-def]
        return "a"

    @periodic("sweep", every_seconds=60)
    def job(ctx):  # type: ignore[no-untyped-def]
        return None

    mod.a, mod.b, mod.z, mod.job = a, b, z, job
    reg = HookRegistry()
    reg.register_module(mod)
    assert [h.name for h in reg.handlers_for("TicketOpen")] == ["z", "a", "b"]
    assert [h.name for h in reg.handlers_for("TicketClose")] == ["z"]
    assert [j.name for j in reg.jobs()] == ["sweep"]


def test_duplicate_registration_is_refused() -> None:
    reg = HookRegistry()
    reg.register("TicketOpen", lambda e, c: None, name="x")
    with pytest.raises(ValueError, match="twice"):
        reg.register("TicketOpen", lambda e, c: None, name="x")


def test_builtin_registry_has_audit_on_every_ticket_hook() -> None:
    reg = load_registry(BUILTIN_HANDLERS, entry_point_group=None)
    names = [h.name for h in reg.handlers_for("TicketOpen")]
    assert names[0] == "audit.record"


def test_every_gate_hook_has_a_policy_and_a_route() -> None:
    """hooks/names.py names the gate hooks; the verification policy maps each to the change it
    protects. The two lists must not drift apart (a gate without a policy would 404)."""
    from whmcs_bridge.hooks.names import GATE_HOOKS, KNOWN_HOOKS
    from whmcs_bridge.verification.policy import GATE_CHANGES

    assert set(GATE_CHANGES) == GATE_HOOKS
    assert GATE_HOOKS <= KNOWN_HOOKS


def test_audit_summary_finds_ids_where_each_hook_puts_them() -> None:
    from datetime import UTC, datetime

    from whmcs_bridge.hooks.audit import summarize
    from whmcs_bridge.hooks.context import Event

    now = datetime(2026, 1, 1, tzinfo=UTC)
    reply = Event("e1", "TicketUserReply", {"ticketid": "7", "userid": 3, "message": "secret"},
                  None, now)
    module = Event("e2", "AfterModuleChangePackage", {"params": {"userid": "42"}}, None, now)
    deleted = Event("e3", "TicketDelete", {"ticketId": 9, "adminId": 1}, None, now)
    assert summarize(reply) == "TicketUserReply ticket=7 client=3"
    assert summarize(module) == "AfterModuleChangePackage client=42"
    assert summarize(deleted) == "TicketDelete ticket=9"
    # AfterModuleChangePassword's documented vars name only the service (no params, no client)
    password = Event("e5", "AfterModuleChangePassword", {"serviceid": 55}, None, now)
    assert summarize(password) == "AfterModuleChangePassword service=55"
    package = Event("e6", "AfterModuleChangePackage", {"params": {"userid": 42,
                                                                 "serviceid": "8"}}, None, now)
    assert summarize(package) == "AfterModuleChangePackage client=42 service=8"


def test_audit_skips_ids_no_column_can_hold() -> None:
    # keys the hook schema does not model reach the audit unchecked: 5000 digits crashed
    # int() (ValueError) and 10**30 the audit_log insert (OverflowError); the event then
    # failed until it was dead-lettered
    from datetime import UTC, datetime

    from whmcs_bridge.hooks.audit import _client_id, summarize
    from whmcs_bridge.hooks.context import Event

    now = datetime(2026, 1, 1, tzinfo=UTC)
    odd = Event("e4", "TicketOpen", {"ticketid": 5, "clientId": "9" * 5000, "userId": 10**30,
                                     "client_id": "\u00b2"}, None, now)
    assert summarize(odd) == "TicketOpen ticket=5"
    assert _client_id(odd.data) is None
