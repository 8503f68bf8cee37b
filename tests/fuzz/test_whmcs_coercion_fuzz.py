"""Property fuzzing of the WHMCS response coercion: whatever WHMCS (or something pretending to
be it) answers, the client raises only its own WhmcsError tree — never a marshmallow, JSON or
Python exception that would crash a handler with a confusing traceback.

Bounded: 300 examples per property, no deadline.
"""

from __future__ import annotations

import io
import json
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whmcs_bridge.api import schemas
from whmcs_bridge.api.client import WhmcsClient, _decode_json
from whmcs_bridge.api.errors import InvalidResponseError, WhmcsError

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _all_model_schemas() -> list[type]:
    out, todo = [], list(schemas.ModelSchema.__subclasses__())
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo += cls.__subclasses__()
    return sorted(out, key=lambda c: c.__name__)


MODEL_SCHEMAS = _all_model_schemas()

# values WHMCS really sends, and the ways they go wrong
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.from_regex(r"\A[+-]?\d{1,25}\Z"),
    st.sampled_from(["", "0", "0000-00-00", "0000-00-00 00:00:00", "2026-02-30 10:00:00",
                     "2026-01-05 10:00:00", "05/01/2026 10:00", "1.50", "-0.00", "on", "off",
                     "true", "NaN", "1e309", "Array", "[]", "{}", "9" * 40]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=20)


def _keys(schema_cls: type) -> list[str]:
    return [f.data_key or name for name, f in schema_cls().fields.items()]


@st.composite
def shaped(draw: Any, schema_cls: type) -> dict[str, Any]:
    """A dict using the schema's own keys (so the fields really run), with wild values."""
    keys = _keys(schema_cls)
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys))) if keys \
        else []
    data = {k: draw(json_values) for k in chosen}
    data.update(draw(st.dictionaries(st.text(max_size=10), json_values, max_size=3)))
    return data


@FUZZ
@given(data=st.data(), schema_cls=st.sampled_from(MODEL_SCHEMAS),
       tz=st.sampled_from([UTC, ZoneInfo("Asia/Ho_Chi_Minh"), ZoneInfo("America/New_York")]))
def test_model_schemas_raise_only_invalid_response(data: Any, schema_cls: type,
                                                   tz: Any) -> None:
    payload = data.draw(st.one_of(shaped(schema_cls), json_values))
    try:
        schemas.load(schema_cls, payload, action="Fuzz", tz=tz)
    except InvalidResponseError as exc:
        assert str(exc)


@FUZZ
@given(data=st.data(), item=st.sampled_from(MODEL_SCHEMAS),
       list_key=st.sampled_from(["tickets", "clients", "departments", "products"]))
def test_listing_pages_raise_only_invalid_response(data: Any, item: type, list_key: str) -> None:
    inner = list_key[:-1]
    wrapped = st.one_of(
        st.just(""), st.just([]), st.just({}), st.just({inner: []}), st.just([[]]),
        st.builds(lambda v: {inner: v}, st.one_of(shaped(item), st.lists(shaped(item),
                                                                           max_size=3))),
        json_values)
    payload = {"result": "success", "totalresults": data.draw(scalars),
               "startnumber": data.draw(scalars), "numreturned": data.draw(scalars),
               list_key: data.draw(wrapped)}
    try:
        page = schemas.load(schemas.page_schema(list_key, inner, item), payload,
                            action="Fuzz", tz=UTC)
    except InvalidResponseError:
        return
    assert isinstance(page.items, list)
    assert all(isinstance(n, int) for n in (page.total, page.start, page.returned))


@FUZZ
@given(body=st.one_of(st.binary(max_size=300),
                      st.builds(lambda v: json.dumps(v).encode(), json_values),
                      st.builds(lambda p, v: p + json.dumps({"result": "success", **v}).encode(),
                                st.sampled_from([b"", b"\xef\xbb\xbf", b"Notice: x\n",
                                                 b"<html>"]),
                                st.dictionaries(st.text(max_size=8), json_values,
                                                max_size=3))))
def test_body_decoding_never_raises(body: bytes) -> None:
    result = _decode_json(body)
    assert result is None or isinstance(result, dict | list | str | int | float | bool)


class _Canned(requests.adapters.BaseAdapter):
    """A transport that answers every request with one canned response (no network)."""

    def __init__(self) -> None:
        super().__init__()
        self.status = 200
        self.body = b""
        self.content_type = "application/json"

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        resp = requests.Response()
        resp.status_code = self.status
        resp.raw = io.BytesIO(self.body)  # the public file-like body requests reads from
        resp.headers["Content-Type"] = self.content_type
        resp.url = request.url
        resp.request = request
        return resp

    def close(self) -> None:
        return None


@pytest.fixture(scope="module")
def canned_client() -> Any:
    client = WhmcsClient("http://whmcs.invalid/", "id", "secret", timeout=1)
    adapter = _Canned()
    for session in (client._reads, client._writes):
        session.mount("http://", adapter)
    client.adapter = adapter  # type: ignore[attr-defined]
    yield client
    client.close()


CALLS = [
    lambda c: c.get_ticket(1),
    lambda c: c.get_tickets(),
    lambda c: c.get_client(1),
    lambda c: c.get_support_departments(),
    lambda c: c.open_ticket(1, "s", "m", clientid=1),
    lambda c: c.add_ticket_reply(1, "m", adminusername="a"),
]


@FUZZ
@given(status=st.sampled_from([200, 200, 200, 302, 403, 404, 429, 500, 503]),
       body=st.one_of(
           st.binary(max_size=200),
           st.builds(lambda v: json.dumps(v).encode(), json_values),
           st.builds(lambda v: json.dumps({"result": "success", **v}).encode(),
                     st.dictionaries(st.sampled_from(
                         ["tickets", "ticket", "replies", "notes", "id", "tid", "client",
                          "departments", "totalresults", "numreturned", "userid", "date",
                          "lastreply", "priority", "status", "message", "warning"]),
                         json_values, max_size=6)),
           st.builds(lambda m: json.dumps({"result": "error", "message": m}).encode(),
                     st.text(max_size=60))),
       content_type=st.sampled_from(["application/json", "text/html", ""]),
       call=st.sampled_from(range(len(CALLS))))
def test_client_calls_raise_only_whmcs_errors(canned_client: Any, status: int, body: bytes,
                                              content_type: str, call: int) -> None:
    adapter = canned_client.adapter
    adapter.status, adapter.body, adapter.content_type = status, body, content_type
    try:
        CALLS[call](canned_client)
    except WhmcsError as exc:
        assert "secret" not in str(exc).replace("whsec", "")  # the credential never leaks


def test_canned_transport_is_really_used(canned_client: Any) -> None:
    """Guard against a vacuous fuzz: a well-formed answer must come back as a model."""
    adapter = canned_client.adapter
    adapter.status, adapter.content_type = 200, "application/json"
    adapter.body = json.dumps({"result": "success", "id": "7", "tid": "ABC-7",
                               "c": "x"}).encode()
    assert canned_client.open_ticket(1, "s", "m", clientid=1).id == 7
