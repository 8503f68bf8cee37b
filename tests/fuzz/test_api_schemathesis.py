"""Schemathesis against /openapi.json on a running server: no 5xx, every answer documented.

Bounded: at most 25 generated requests per operation and an overall time budget. Requests to
signed endpoints are sent both unsigned (random headers: must be 401) and correctly signed
over the exact body, so the receiver's and the gates' validation is fuzzed too, not only
their signature check. Staff endpoints get the bearer token half of the time.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from tests.conftest import TEST_SECRET, TEST_TOKEN, make_settings
from tests.fuzz.live_server import live_server
from whmcs_bridge.signing import signed_headers

MAX_EXAMPLES = 25
TIME_BUDGET_SECONDS = 240
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from whmcs_bridge.store import make_engine, upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'bridge.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with live_server(make_settings(url, server={"secret_key": "fuzz-" + "k" * 40})) as base:
        yield base


def _signed(operation: Any) -> bool:
    names = {p.name.lower() for p in operation.headers} if operation.headers else set()
    return "webhook-signature" in names


def _send(case: Any, base: str, *, sign: bool, bearer: bool) -> requests.Response:
    kwargs = case.as_transport_kwargs(base_url=base)
    headers = dict(kwargs.pop("headers", None) or {})
    if "json" in kwargs:
        kwargs["data"] = json.dumps(kwargs.pop("json")).encode()
        headers.setdefault("Content-Type", "application/json")
    if bearer:
        headers["Authorization"] = f"Bearer {TEST_TOKEN}"
    if sign:
        body = kwargs.get("data") or b""
        if isinstance(body, str):
            body = body.encode()
        kwargs["data"] = body
        headers.update(signed_headers(TEST_SECRET, f"msg_{uuid.uuid4().hex}", body))
    kwargs["headers"] = headers
    kwargs.setdefault("timeout", 30)
    kwargs["allow_redirects"] = False
    return requests.request(**kwargs)


def _fuzz(operation: Any, server: str, deadline: float, tried: dict[str, int]) -> None:
    signed = _signed(operation)

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), sign=st.booleans(), bearer=st.booleans())
    def run(case: Any, sign: bool, bearer: bool) -> None:
        if time.monotonic() > deadline:
            return
        response = _send(case, server, sign=sign and signed, bearer=bearer)
        tried[operation.label] = tried.get(operation.label, 0) + 1
        case.validate_response(response, checks=CHECKS)

    run()


def test_every_operation_conforms(server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    tried: dict[str, int] = {}

    failures: dict[str, str] = {}
    for operation in operations:  # every operation runs even when an earlier one fails
        try:
            _fuzz(operation, server, deadline, tried)
        except (Exception, BaseExceptionGroup) as exc:  # FailureGroup is a BaseExceptionGroup
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:2000]
    details = "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    assert not failures, f"failing operations: {sorted(failures)}\n\n{details}"
    assert set(tried) == {op.label for op in operations}, "the time budget ran out early"


def test_a_signed_valid_event_is_accepted(server: str) -> None:
    """Sanity of the harness itself: a real event, signed, is stored (202)."""
    body = json.dumps({"type": "TicketOpen", "timestamp": "2026-01-05T10:00:00+07:00",
                       "data": {"ticketid": 1, "ticketmask": "ABC-1", "userid": 1,
                                "deptid": 1, "deptname": "Support", "subject": "hi",
                                "message": "hello", "priority": "High"}}).encode()
    headers = {"Content-Type": "application/json",
               **signed_headers(TEST_SECRET, "msg_harness_1", body)}
    resp = requests.post(f"{server}/webhooks/whmcs", data=body, headers=headers, timeout=30)
    assert resp.status_code in (200, 202), resp.text


BOUNDARY_IDS = [0, 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**30]


def test_integer_path_parameters_at_their_boundaries(server: str) -> None:
    """Deterministic edge cases the random run may miss: ids beyond 32/64-bit integers must be
    a documented 4xx (no such ticket), never a database overflow turned into a 500."""
    doc = requests.get(f"{server}/openapi.json", timeout=30).json()
    problems = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ints = [p["name"] for p in op.get("parameters", [])
                    if p["in"] == "path" and p["schema"].get("type") == "integer"]
            if not ints or method != "get":
                continue
            for value in BOUNDARY_IDS:
                url = server + path.replace("{" + ints[0] + "}", str(value))
                resp = requests.get(url, headers={"Authorization": f"Bearer {TEST_TOKEN}"},
                                    timeout=30)
                if resp.status_code >= 500 or str(resp.status_code) not in op["responses"]:
                    problems.append(f"GET {path} with {value}: {resp.status_code}")
    assert not problems, problems
