"""FastPath gives exactly what marshmallow gives: the same dict, or the same errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields

from whmcs_bridge.event_schemas import ACTOR_TYPES, ENVELOPE, SCHEMAS, SECRET_KEYS, Id
from whmcs_bridge.schema_fastpath import FastPath
from whmcs_bridge.webhooks.receiver import EVENTS

_ENVELOPE_FAST, _FAST = EVENTS.envelope_loader, EVENTS.hooks

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=False),
    st.text(max_size=6), st.binary(max_size=3),
    st.sampled_from(["", " ", "12", " 7 ", "0", "-3", "12abc", "\u0663", "\u00b2", "High", "Open"]),
)


def _keys(schema: Schema) -> list[str]:
    names = [f.data_key or n for n, f in schema.load_fields.items()]
    for field in schema.load_fields.values():  # nested schemas' keys, for realistic params
        if isinstance(field, fields.Nested):
            names += list(field.schema.load_fields)
    return names + sorted(SECRET_KEYS)[:3] + ["Password", "extra", "customfields"]


def _data(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.one_of(st.sampled_from(_keys(schema)), st.text(max_size=4))
    inner = st.dictionaries(keys, SCALARS, max_size=6)
    values = st.one_of(SCALARS, inner, st.lists(st.one_of(SCALARS, inner), max_size=3))
    # mostly the fields with plausible values, so both the fast and the fallback path run
    return st.dictionaries(keys, values, max_size=12)


def outcome(load: Any, data: Any) -> tuple[str, Any]:
    try:
        return "ok", load(copy.deepcopy(data))
    except ValidationError as exc:
        return "error", exc.messages


def test_every_hook_schema_but_those_with_validators_is_planned() -> None:
    assert {name for name, fast in _FAST.items() if not fast.planned} == {"ClientAdd"}
    assert _ENVELOPE_FAST.planned


@pytest.mark.parametrize("hook", sorted(SCHEMAS))
def test_hook_data_loads_the_same(hook: str) -> None:
    schema, fast = SCHEMAS[hook], _FAST[hook]

    @settings(max_examples=80, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(_data(schema))
    def check(data: dict[str, Any]) -> None:
        before = copy.deepcopy(data)
        assert outcome(fast.load, data) == outcome(schema.load, data)
        assert data == before  # the input is never changed

    check()


TIMESTAMPS = st.one_of(
    st.sampled_from(["2026-11-25T10:00:00+07:00", "2026-11-25T03:00:00Z", "2026-11-25T03:00:00",
                     "2026-11-25 03:00:00", "2026-11-25", "25/11/2026", "", "now"]),
    st.datetimes().map(lambda d: d.isoformat()), st.integers(), st.none(),
)
ACTORS = st.one_of(st.none(), st.text(max_size=3), st.dictionaries(
    st.sampled_from(["type", "client_id", "user_id", "admin_id", "admin_username", "x"]),
    st.one_of(st.sampled_from([*ACTOR_TYPES, "robot"]), SCALARS), max_size=5))


@settings(max_examples=400, deadline=None, database=None)
@given(st.dictionaries(
    st.sampled_from(["type", "timestamp", "data", "actor", "extra"]),
    st.one_of(SCALARS, TIMESTAMPS, ACTORS, st.dictionaries(st.text(max_size=3), SCALARS)),
    max_size=5))
def test_envelope_loads_the_same(envelope: dict[str, Any]) -> None:
    assert outcome(_ENVELOPE_FAST.load, envelope) == outcome(ENVELOPE.load, envelope)


def test_a_typical_event_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for fast in (_ENVELOPE_FAST, _FAST["TicketUserReply"]):
        monkeypatch.setattr(fast.schema, "load",
                            lambda *a, **k: calls.append("schema.load") or {})
    payload = EVENTS.envelope({
        "type": "TicketUserReply", "timestamp": "2026-11-25T10:00:00+07:00",
        "data": {"ticketid": "7", "userid": 3, "message": "hi", "password": "x", "new": 1},
        "actor": {"type": "client", "client_id": "3"}})
    assert calls == []
    assert payload["data"] == {"ticketid": 7, "userid": 3, "message": "hi", "new": 1}
    assert payload["actor"] == {"type": "client", "client_id": 3}


def test_a_schema_with_a_validator_or_default_is_not_planned() -> None:
    class WithDefault(Schema):
        a = fields.String(load_default="x")

    class Plain(Schema):
        class Meta:
            unknown = "include"

        a = fields.String()
        b = Id()

    class Strict(Plain):
        class Meta:
            unknown = "raise"  # an unknown key is an error: the plan does not model that

    assert not FastPath(WithDefault()).planned
    assert not FastPath(SCHEMAS["ClientAdd"]).planned
    assert FastPath(Plain(), own=(Id,)).planned
    assert FastPath(Plain(), own=(Id,)).load({"a": "s", "b": "4"}) == {"a": "s", "b": 4}
    assert not FastPath(Strict(), own=(Id,)).planned


def test_the_fast_path_is_fenced_at_the_wsgi_edge() -> None:
    """Only the receiver loads through FastPath (it reads marshmallow's private ``_hooks``);
    the worker, the CLI and every other module get marshmallow's own ``Schema.load``."""
    import ast
    from pathlib import Path

    import whmcs_bridge

    root = Path(whmcs_bridge.__file__).resolve().parent.parent
    importers = set()
    for folder in ("whmcs_bridge", "webhooks", "hooks"):
        for path in (root / folder).rglob("*.py"):
            if path.is_relative_to(root / "whmcs_bridge" / "webhooks") or path.is_relative_to(
                    root / "whmcs_bridge" / "hooks"):
                continue  # the symlinks to the top-level folders: seen there
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([node.module] if isinstance(node, ast.ImportFrom) else
                         [a.name for a in node.names] if isinstance(node, ast.Import) else [])
                if any(n and n.endswith("schema_fastpath") for n in names):
                    importers.add(path.relative_to(root).as_posix())
    assert importers == {"webhooks/receiver.py"}
