"""The schemas' precomputed load path (``schemas._Plan``) gives what marshmallow's own
``Schema.load`` gives: the same models with the same ``extra``, and for a refused body the
same InvalidResponseError text."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api import payloads
from tests.api.test_property import EXTRA_KEYS, SCHEMAS, TICKET_KEYS, values
from whmcs_bridge.api import InvalidResponseError, schemas
from whmcs_bridge.sim import SimConfig
from whmcs_bridge.sim.actions import ACTIONS, Caller, Params
from whmcs_bridge.sim.state import SimState


@contextlib.contextmanager
def marshmallow_only() -> Iterator[None]:
    """Every schema loads through marshmallow's ``Schema.load`` (no precomputed plan)."""
    saved = dict(schemas._PLANS)
    schemas._PLANS.clear()
    schemas._PLANS.update(dict.fromkeys(schemas._SCHEMAS, None))
    original = schemas._Plan.of
    schemas._Plan.of = staticmethod(lambda schema: None)  # type: ignore[method-assign]
    try:
        yield
    finally:
        schemas._Plan.of = staticmethod(original)  # type: ignore[method-assign]
        schemas._PLANS.clear()
        schemas._PLANS.update(saved)


def plain(value: Any) -> Any:
    """A model tree as plain data, ``extra`` included (dataclass equality leaves it out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def outcome(schema: Any, body: Any) -> Any:
    try:
        return "ok", plain(schemas.load(schema, body, action="X", tz=UTC))
    except InvalidResponseError as exc:
        return "refused", str(exc)


def both(schema: Any, body: Any) -> tuple[Any, Any]:
    fast = outcome(schema, body)
    with marshmallow_only():
        slow = outcome(schema, body)
    return fast, slow


def test_the_plan_is_taken_for_the_ticket_schemas() -> None:
    for cls in (schemas.TicketSchema, schemas.ReplySchema, schemas.NoteSchema,
                schemas.page_schema("tickets", "ticket", schemas.TicketSchema)):
        assert schemas._Plan.of(schemas._instance(cls)) is not None, cls


ACTION_SCHEMAS = {
    "GetTickets": schemas.page_schema("tickets", "ticket", schemas.TicketSchema),
    "GetTicket": schemas.TicketSchema,
    "OpenTicket": schemas.OpenedTicketSchema,
    "GetClientsDetails": schemas.ClientSchema,
    "GetClientsProducts": schemas.page_schema("products", "product", schemas.ProductSchema),
    "GetInvoices": schemas.page_schema("invoices", "invoice", schemas.InvoiceSchema),
    "GetAdminDetails": schemas.AdminDetailsSchema,
    "ValidateLogin": schemas.LoginResultSchema,
}


@pytest.mark.parametrize("action", sorted(ACTION_SCHEMAS))
def test_documented_examples_load_the_same(action: str) -> None:
    fast, slow = both(ACTION_SCHEMAS[action], payloads.payload(action))
    assert fast[0] == "ok"
    assert fast == slow


def test_simulator_tickets_load_the_same() -> None:
    state = SimState(SimConfig(tickets=60, clients=10, seed=5))
    caller = Caller(admin_username="admin", admin_id=1)
    page = ACTIONS["GetTickets"](
        state, Params({"limitnum": "100", "ignore_dept_assignments": "1"}), caller)
    fast, slow = both(ACTION_SCHEMAS["GetTickets"], page)
    assert fast[0] == "ok" and len(fast[1][1]["items"]) == 60
    assert fast == slow
    for tid in range(1, 61):
        body = ACTIONS["GetTicket"](state, Params({"ticketid": str(tid)}), caller)
        fast, slow = both(schemas.TicketSchema, body)
        assert fast[0] == "ok"
        assert fast == slow


@pytest.mark.parametrize("body", [
    {"ticketid": None}, {"id": "x"}, {"id": 1, "replies": {"reply": [{"replyid": "a"}]}},
    {"id": 1, "replies": [{"date": "2024-01-02"}]}, {"id": 1, "notes": "nope"},
    {"id": 1, "date": "31/31/2024"}, [1, 2], "text",
])
def test_refused_bodies_give_marshmallows_message(body: Any) -> None:
    fast, slow = both(schemas.TicketSchema, body)
    assert fast[0] == "refused"
    assert fast == slow


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=st.sampled_from(SCHEMAS),
       body=st.dictionaries(st.sampled_from(TICKET_KEYS + EXTRA_KEYS), values, max_size=8))
def test_random_bodies_load_or_fail_the_same(schema: Any, body: dict[str, Any]) -> None:
    fast, slow = both(schema, body)
    assert fast == slow
