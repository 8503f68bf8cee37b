"""One JSON parser for every request body (whmcs_bridge.json_body): the pure rules, then each
endpoint that reads JSON (receiver, gates, staff API) answering a 900-deep body with a 400
and nothing logged as an error (it was a 500 with a 140 KB traceback)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable

import pytest
from flask import Flask

from tests.conftest import TEST_SECRET, TEST_TOKEN
from whmcs_bridge import json_body
from whmcs_bridge.signing import signed_headers


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """Refusals never touch the store: SQLite is enough."""
    return sqlite_url


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_depth_limit_counts_levels_without_recursing() -> None:
    limit = json_body.MAX_DEPTH
    assert json_body.parse(nested(limit)) is not None
    assert json_body.parse(b'{"a":' * (limit - 1) + b"1" + b"}" * (limit - 1)) is not None
    for raw in (nested(limit + 1), nested(900), nested(200_000),
                b'{"a":' * 900 + b"1" + b"}" * 900):
        with pytest.raises(json_body.BodyError, match=f"deeper than {limit} levels"):
            json_body.parse(raw)
    # many brackets side by side are not depth: the walk runs and finds two levels
    assert json_body.parse(b"[" + b",".join([b"[]"] * 500) + b"]") == [[]] * 500
    assert json_body.too_deep([[[]]], limit=2) and not json_body.too_deep([[]], limit=2)
    assert not json_body.too_deep("text", limit=0)


@pytest.mark.parametrize(("raw", "why"), [
    (b"{not json", "not valid JSON"),
    (b'{"a": NaN}', "NaN is not valid JSON"),
    (b"[Infinity]", "Infinity is not valid JSON"),
    (b"\xff\xfe{", "not valid JSON"),
])
def test_not_json_is_refused_saying_why(raw: bytes, why: str) -> None:
    with pytest.raises(json_body.BodyError, match=why):
        json_body.parse(raw)


def test_nul_becomes_replacement_character_in_strings_and_keys() -> None:
    assert json_body.parse(b'{"a\\u0000": ["x\\u0000y"]}') == {"a\ufffd": ["x\ufffdy"]}
    assert json_body.parse(b'{"a": "\\\\u0000"}') == {"a": "\\u0000"}  # an escaped backslash


def _deep_envelope(hook: str, depth: int) -> bytes:
    return (json.dumps({"type": hook, "timestamp": "2026-11-25T10:00:00+07:00"}).encode()[:-1]
            + b', "data": {"ticketid": "1", "userid": "7", "x": ' + nested(depth) + b"}}")


def _signed(raw: bytes) -> dict[str, str]:
    return {**signed_headers(TEST_SECRET, f"msg_{uuid.uuid4().hex}", raw),
            "Content-Type": "application/json"}


@pytest.mark.parametrize("depth", [900, 5000])
def test_every_json_endpoint_answers_a_deep_body_with_400(
        make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture, depth: int) -> None:
    client = make_app().test_client()
    caplog.set_level(logging.WARNING)
    raw = _deep_envelope("TicketOpen", depth)
    receiver = client.post("/webhooks/whmcs", data=raw, headers=_signed(raw))
    gate_raw = _deep_envelope("PreModuleCustom", depth)
    gate = client.post("/gates/PreModuleCustom", data=gate_raw, headers=_signed(gate_raw))
    staff_raw = b'{"method": "in_person", "admin": "alice", "reference": ' + nested(depth) + b"}"
    staff = client.post("/api/tickets/1/verification", data=staff_raw,
                        headers={"Authorization": f"Bearer {TEST_TOKEN}",
                                 "Content-Type": "application/json"})
    for resp in (receiver, gate, staff):
        assert resp.status_code == 400, (resp.status_code, resp.get_data()[:200])
        assert resp.get_json()["errors"]["body"] == [
            f"nested deeper than {json_body.MAX_DEPTH} levels"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
