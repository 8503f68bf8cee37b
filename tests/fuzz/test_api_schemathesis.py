"""Schemathesis against /openapi.json on a running server: no 5xx, every answer documented.

Bounded: at most 25 generated requests per operation and an overall time budget. Requests to
signed endpoints are sent both unsigned (random headers: must be 401) and correctly signed
over the exact body, so the receiver's and the gates' validation is fuzzed too, not only
their signature check. Staff endpoints get the bearer token half of the time.

The database is seeded through the real sync path (``run_sync`` from the WHMCS simulator), and
half of the generated ``ticket_id`` values are ids of those tickets, so the 200 answers of the
staff API are checked against their documented schemas too, not only the 401s and 404s; the
run fails when none was.
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
SEEDED_TICKETS = 12
#: the operation whose 200 bodies must have been checked at least once
TICKET = "GET /api/tickets/{ticket_id}"
TIME_BUDGET_SECONDS = 240
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance]


@pytest.fixture(scope="module")
def bridge_settings(tmp_path_factory: pytest.TempPathFactory) -> Any:
    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'bridge.db'}"
    return make_settings(url, server={"secret_key": "fuzz-" + "k" * 40})


@pytest.fixture(scope="module")
def seeded_ids(bridge_settings: Any) -> list[int]:
    """The ids of the tickets a full sync from the simulator stored (SLA state and all)."""
    from sqlalchemy import select

    from whmcs_bridge.sim import SimConfig, run_in_thread
    from whmcs_bridge.store import make_engine, upgrade
    from whmcs_bridge.sync import run_sync
    from whmcs_bridge.tickets.tables import tickets

    engine = make_engine(bridge_settings.database_url)
    upgrade(engine)
    sim = run_in_thread(SimConfig(seed=11, clients=6, tickets=SEEDED_TICKETS))
    client = sim.client(retries=0)
    try:
        run_sync(engine, bridge_settings, client, full=True, concurrency=2)
        with engine.connect() as conn:
            ids = sorted(conn.execute(select(tickets.c.id)).scalars())
    finally:
        client.close()
        sim.stop()
        engine.dispose()
    assert len(ids) == SEEDED_TICKETS, ids
    return ids


@pytest.fixture(scope="module")
def server(bridge_settings: Any, seeded_ids: list[int]) -> Any:
    with live_server(bridge_settings) as base:
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


def _cases(operation: Any, ticket_ids: list[int]) -> st.SearchStrategy[Any]:
    """The generated cases; where the path has a ``ticket_id``, half of them name a seeded
    ticket (a random 32-bit id almost never does)."""
    cases = operation.as_strategy()
    names = {p.name for p in operation.path_parameters} if operation.path_parameters else set()
    if "ticket_id" not in names:
        return cases

    def seeded(pair: tuple[Any, int | None]) -> Any:
        case, ticket_id = pair
        if ticket_id is not None:
            case.path_parameters = {**(case.path_parameters or {}), "ticket_id": ticket_id}
        return case

    return st.tuples(cases, st.one_of(st.none(), st.sampled_from(ticket_ids))).map(seeded)


def _fuzz(operation: Any, server: str, deadline: float, tried: dict[str, int],
          checked_200: dict[str, int], ticket_ids: list[int]) -> None:
    signed = _signed(operation)

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=_cases(operation, ticket_ids), sign=st.booleans(), bearer=st.booleans())
    def run(case: Any, sign: bool, bearer: bool) -> None:
        if time.monotonic() > deadline:
            return
        response = _send(case, server, sign=sign and signed, bearer=bearer)
        tried[operation.label] = tried.get(operation.label, 0) + 1
        case.validate_response(response, checks=CHECKS)
        if response.status_code == 200:  # counted once its body passed the schema check
            checked_200[operation.label] = checked_200.get(operation.label, 0) + 1

    run()


def test_every_operation_conforms(server: str, seeded_ids: list[int]) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    tried: dict[str, int] = {}
    checked_200: dict[str, int] = {}

    failures: dict[str, str] = {}
    for operation in operations:  # every operation runs even when an earlier one fails
        try:
            _fuzz(operation, server, deadline, tried, checked_200, seeded_ids)
        except (Exception, BaseExceptionGroup) as exc:  # FailureGroup is a BaseExceptionGroup
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:2000]
    details = "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    assert not failures, f"failing operations: {sorted(failures)}\n\n{details}"
    assert set(tried) == {op.label for op in operations}, "the time budget ran out early"
    # the seeded tickets were found: their bodies met the documented Ticket schema
    assert checked_200.get(TICKET, 0) >= 1, f"no 200 of {TICKET} was checked: {checked_200}"


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
