"""Property: random WHMCS-typed values through the coercion layer never raise anything but
InvalidResponseError, and valid-looking values always load."""

from __future__ import annotations

import contextlib
from datetime import UTC

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whmcs_bridge.api import InvalidResponseError, schemas
from whmcs_bridge.api.encoding import php_serialize, php_unserialize

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["", "0", "1", "0000-00-00", "0000-00-00 00:00:00", "2024-01-02",
                     "2024-01-02 03:04:05", "01/02/2024 10:00", "12.50", "$0.00 USD",
                     "true", "false", "NaN", "Infinity", "1e400", "-0"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)

TICKET_KEYS = ["id", "ticketid", "tid", "deptid", "userid", "date", "lastreply", "flag",
               "attachments", "attachments_removed", "replies", "notes", "status", "extra"]
SCHEMAS = [schemas.TicketSchema, schemas.ProductSchema, schemas.InvoiceSchema,
           schemas.PayMethodSchema, schemas.ClientSchema, schemas.TransactionSchema,
           schemas.AdminDetailsSchema, schemas.LoginResultSchema,
           schemas.page_schema("tickets", "ticket", schemas.TicketSchema)]


EXTRA_KEYS = ["total", "amountin", "regdate", "password", "client", "paymethods", "tickets",
              "totalresults", "departments", "whmcs", "twoFactorEnabled",
              "allowedpermissions", "datepaid", "last_updated", "userid"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=st.sampled_from(SCHEMAS),
       body=st.dictionaries(st.sampled_from(TICKET_KEYS + EXTRA_KEYS), values, max_size=8))
def test_coercion_never_leaks_foreign_exceptions(schema, body):
    with contextlib.suppress(InvalidResponseError):
        schemas.load(schema, body, action="X", tz=UTC)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "deptid", "userid", "flag"]),
                       st.integers(0, 10**9).flatmap(lambda i: st.sampled_from([i, str(i)])),
                       min_size=1).map(lambda d: {"id": 1, **d}),
       st.sampled_from(["2024-01-02 03:04:05", "0000-00-00 00:00:00", ""]))
def test_well_typed_tickets_always_load(ids, date):
    ticket = schemas.load(schemas.TicketSchema, {**ids, "date": date}, action="X", tz=UTC)
    assert ticket.id == int(ids["id"])
    assert (ticket.date is None) == (date != "2024-01-02 03:04:05")


php_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.text(max_size=10)),
    lambda inner: st.dictionaries(st.one_of(st.integers(0, 50), st.text(max_size=5)), inner,
                                  max_size=4), max_leaves=10)


@settings(max_examples=200, deadline=None)
@given(php_values)
def test_php_serialize_round_trips(value):
    assert php_unserialize(php_serialize(value)) == value
