"""Every hook the receiver has a schema for, fed its documented ``$vars`` as they are
(whmcs_bridge/sim/hook_vars.py, one example per hook built from the WHMCS hooks-reference
tables): the receiver stores it (202, never 400 or "ignored"), no password-like value is
stored, and the worker's built-in handlers process it. The gates answer their documented vars
too (issue 12.9)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import TEST_SECRET
from tests.core.test_whmcs_compat_doc import _rows as compat_rows
from tests.receiver.conftest import signed_post
from tests.sim.conftest import sim_config
from tests.verification.helpers import vsettings
from whmcs_bridge.context import Services
from whmcs_bridge.event_schemas import SCHEMAS, SECRET_KEYS, load_event_data
from whmcs_bridge.hooks.names import GATE_HOOKS
from whmcs_bridge.runtime import build_app, build_registry
from whmcs_bridge.signing import signed_headers
from whmcs_bridge.sim import SimHandle, run_in_thread
from whmcs_bridge.sim.hook_vars import DOCUMENTED, MODULE_PARAMS, documented_vars, top_level
from whmcs_bridge.store import make_engine
from whmcs_bridge.store.tables import events, handler_outcomes
from whmcs_bridge.worker import Worker

HOOK_LIST = (Path(__file__).resolve().parents[2] / "whmcs" / "modules" / "addons"
             / "whmcs_bridge" / "lib" / "HookList.php")
EVENT_HOOKS = [hook for hook in DOCUMENTED if hook in SCHEMAS]
GATES = [hook for hook in DOCUMENTED if hook in GATE_HOOKS]


def _secret_values(value: Any, inside_secret: bool = False) -> set[str]:
    """Every string the example holds under a secret key (what must never be stored)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found |= _secret_values(item, inside_secret or key.lower() in SECRET_KEYS)
    elif isinstance(value, list):
        for item in value:
            found |= _secret_values(item, inside_secret)
    elif inside_secret and isinstance(value, str) and value:
        found.add(value)
    return found


def forwarded_by_the_module() -> set[str]:
    """The names in HookList::FORWARDED (the events the PHP module sends to the receiver)."""
    body = re.search(r"public const FORWARDED = \[(.*?)\];", HOOK_LIST.read_text(), re.S)
    assert body, "HookList::FORWARDED not found"
    return set(re.findall(r"'([A-Za-z]+)'", body.group(1)))


def test_the_module_forwards_exactly_the_hooks_the_receiver_has_schemas_for() -> None:
    """A schema the module never feeds is dead code; a forwarded hook without a schema is
    stored as "ignored" and reaches no handler."""
    forwarded = forwarded_by_the_module()
    assert {"TicketOpen", "AfterModuleChangePassword", "ContactDelete"} <= forwarded
    assert set(SCHEMAS) == forwarded, {"schema only": sorted(set(SCHEMAS) - forwarded),
                                       "forwarded only": sorted(forwarded - set(SCHEMAS))}


def test_every_hook_schema_and_every_gate_with_a_table_has_an_example() -> None:
    assert set(SCHEMAS) <= set(DOCUMENTED), sorted(set(SCHEMAS) - set(DOCUMENTED))
    # ContactDetailsValidation's page documents no table ("the POSTed variables")
    assert set(GATES) == GATE_HOOKS - {"ContactDetailsValidation"}
    assert set(DOCUMENTED) <= set(SCHEMAS) | GATE_HOOKS, "an example for a hook nobody takes"


@pytest.mark.parametrize("hook", sorted(DOCUMENTED))
def test_each_example_holds_exactly_its_documented_names(hook: str) -> None:
    spec = DOCUMENTED[hook]
    example = spec.vars()
    assert set(example) == {top_level(name) for name in spec.documented}
    for name in spec.documented:  # email_preferences[general] is a nested key
        if "[" in name:
            outer, inner = name.rstrip("]").split("[", 1)
            assert inner in example[outer], name
    assert len(set(spec.documented)) == len(spec.documented), "a name listed twice"


def test_the_compat_doc_names_only_documented_vars() -> None:
    """docs/whmcs-compat.md's "documented vars" cell and the examples agree (the cell may
    abbreviate, as ClientEdit's "profile fields", but never names a var the page lacks)."""
    rows = compat_rows()
    for hook, spec in DOCUMENTED.items():
        named = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", rows[hook][0]))
        assert named, hook
        assert named <= set(spec.documented), (hook, sorted(named - set(spec.documented)))


@pytest.mark.parametrize("hook", EVENT_HOOKS)
def test_documented_vars_load_unchanged_but_for_secrets(hook: str) -> None:
    example = documented_vars(hook)
    loaded = load_event_data(hook, example)
    assert not _secret_values(example) & set(json.dumps(loaded).split('"'))
    for key, value in example.items():
        if key.lower() in SECRET_KEYS:
            assert key not in loaded
        elif not isinstance(value, dict):
            assert loaded[key] == value, key


def test_the_secrets_of_the_examples_are_the_documented_ones() -> None:
    """Guards the check above: the examples do carry the secrets WHMCS documents."""
    secrets = {hook: _secret_values(documented_vars(hook)) for hook in EVENT_HOOKS}
    assert secrets["AfterModuleChangePassword"] == {"old-service-password",
                                                    "new-service-password"}
    assert secrets["ClientEdit"] == {"totp", "two-factor-data", "old-two-factor-data"}
    assert {"svc-password", "server-password", "server-access-hash"} <= \
        secrets["AfterModuleChangePackage"]
    assert secrets["ClientAdd"] == {"client-password"}


@pytest.fixture
def whmcs_sim() -> Iterator[SimHandle]:
    handle = run_in_thread(sim_config(tickets=20))
    yield handle
    handle.stop()


def test_documented_vars_are_stored_as_sent_and_processed_by_the_handlers(
        db_url: str, whmcs_sim: SimHandle) -> None:
    settings = vsettings(db_url)
    engine = make_engine(db_url)
    try:
        client = build_app(settings, engine=engine).test_client()
        sent: dict[str, dict[str, Any]] = {}
        for hook in EVENT_HOOKS:
            sent[hook] = documented_vars(hook)
            answer = signed_post(client, {"type": hook, "timestamp": "2026-11-25T10:00:00Z",
                                          "data": sent[hook]})
            assert answer.status_code == 202, (hook, answer.get_json())
            assert answer.get_json()["status"] == "accepted", hook
        with engine.connect() as conn:
            stored = {r.type: r for r in conn.execute(select(events))}
        assert set(stored) == set(EVENT_HOOKS)
        for hook, row in stored.items():
            payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
            text = json.dumps(payload)
            leaked = {s for s in _secret_values(sent[hook]) if f'"{s}"' in text}
            assert not leaked, (hook, leaked)

        worker = Worker(settings, engine, build_registry(settings), services=Services(
            settings, whmcs=whmcs_sim.client(retries=0)), rng=random.Random(1), run_jobs=False)
        worker.run(once=True)
        with engine.connect() as conn:
            status = {r.type: (r.status, r.last_error) for r in conn.execute(select(events))}
            ran = conn.execute(select(events.c.type, handler_outcomes.c.handler,
                                      handler_outcomes.c.status, handler_outcomes.c.last_error)
                               .join(handler_outcomes,
                                     handler_outcomes.c.event_id == events.c.id)).all()
        assert status == {hook: ("done", None) for hook in EVENT_HOOKS}, status
        assert not [r for r in ran if r.status != "succeeded"]
        handlers = {(r.type, r.handler) for r in ran}
        assert {(hook, "audit.record") for hook in EVENT_HOOKS} <= handlers
        assert {("TicketOpen", "tickets.opened"), ("TicketSplit", "tickets.split"),
                ("TicketPiping", "verification.piping")} <= handlers
    finally:
        engine.dispose()


def _gate_body(hook: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The documented vars and the actor, as the module sends them: a new client has no id
    and nobody logged in; a cart upgrade is the logged-in client's own (the module adds the
    session's client as ``userid`` when the vars name none); module commands are staff's."""
    data = documented_vars(hook)
    if hook == "ClientDetailsValidation":
        return data, {"type": "system"}
    if hook == "ShoppingCartValidateUpgrade":
        client = MODULE_PARAMS["userid"]
        return {**data, "userid": client}, {"type": "client", "client_id": client}
    return data, {"type": "admin", "admin_id": 2, "admin_username": "lan"}


@pytest.mark.parametrize("hook", GATES)
def test_gates_answer_their_documented_vars(sqlite_url: str, hook: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        client = build_app(vsettings(sqlite_url), engine=engine).test_client()
        data, actor = _gate_body(hook)
        body = json.dumps({"type": hook, "timestamp": "2026-11-25T10:00:00Z", "data": data,
                           "actor": actor}).encode()
        headers = signed_headers(TEST_SECRET, "msg_gate_" + hook, body)
        answer = client.post(f"/gates/{hook}", data=body,
                             headers={**headers, "Content-Type": "application/json"})
    finally:
        engine.dispose()
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["allow"] is True
