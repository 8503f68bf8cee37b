"""Refusals of the receiver contract: 401, 413, 415 and 400 with field paths.

Nothing here reaches the store, so these run on SQLite only (the accepted paths and the store
run on both SQLite and PostgreSQL in test_receiver.py)."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import TEST_SECRET
from tests.receiver.conftest import envelope, signed_post
from whmcs_bridge.signing import signed_headers

OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()

Reader = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """Refusals never touch the store: SQLite is enough."""
    return sqlite_url


# --- 401 ------------------------------------------------------------------------------------

def test_forged_signature_is_401(client: FlaskClient, reader: Reader) -> None:
    raw = json.dumps(envelope()).encode()
    headers = signed_headers(TEST_SECRET, "msg_forged", raw)
    headers["webhook-signature"] = "v1," + base64.b64encode(b"\0" * 32).decode()
    resp = client.post("/webhooks/whmcs", data=raw, headers=headers,
                       content_type="application/json")
    assert resp.status_code == 401
    assert resp.json["reason"] == "no_match"
    assert reader() == []


def test_wrong_secret_is_401(client: FlaskClient, reader: Reader) -> None:
    resp = signed_post(client, envelope(), secret=OTHER_SECRET)
    assert resp.status_code == 401
    assert reader() == []


def test_body_changed_after_signing_is_401(client: FlaskClient, reader: Reader) -> None:
    raw = json.dumps(envelope()).encode()
    headers = signed_headers(TEST_SECRET, "msg_tampered", raw)
    tampered = raw.replace(b'"101"', b'"102"')
    resp = client.post("/webhooks/whmcs", data=tampered, headers=headers,
                       content_type="application/json")
    assert resp.status_code == 401
    assert reader() == []


@pytest.mark.parametrize(("offset", "reason"), [(-301, "stale_timestamp"),
                                                (301, "future_timestamp")])
def test_timestamps_outside_tolerance_are_401(client: FlaskClient, reader: Reader,
                                              offset: int, reason: str) -> None:
    resp = signed_post(client, envelope(), timestamp=int(time.time()) + offset)
    assert resp.status_code == 401
    assert resp.json["reason"] == reason
    assert reader() == []


@pytest.mark.parametrize("header", ["garbage", "v1,a,b", "", "v1,", "v1,!!!!", "v2,abcd",
                                    "v1," + "A" * 5000, " \t "])
def test_malformed_signature_headers_are_401(client: FlaskClient, header: str) -> None:
    raw = json.dumps(envelope()).encode()
    headers = signed_headers(TEST_SECRET, "msg_malformed", raw)
    headers["webhook-signature"] = header
    resp = client.post("/webhooks/whmcs", data=raw, headers=headers,
                       content_type="application/json")
    assert resp.status_code == 401


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_401(client: FlaskClient, missing: str) -> None:
    raw = json.dumps(envelope()).encode()
    headers = signed_headers(TEST_SECRET, "msg_missing", raw)
    del headers[missing]
    resp = client.post("/webhooks/whmcs", data=raw, headers=headers,
                       content_type="application/json")
    assert resp.status_code == 401
    assert resp.json["reason"] == "missing_headers"


def test_non_numeric_timestamp_is_401(client: FlaskClient) -> None:
    raw = json.dumps(envelope()).encode()
    headers = signed_headers(TEST_SECRET, "msg_ts", raw)
    headers["webhook-timestamp"] = "yesterday"
    resp = client.post("/webhooks/whmcs", data=raw, headers=headers,
                       content_type="application/json")
    assert resp.status_code == 401


# --- 413 / 415 / 400 ----------------------------------------------------------------------

def test_oversize_body_is_413(make_app: Callable[..., Flask], reader: Reader) -> None:
    client = make_app(webhooks={"max_body_bytes": 2048}).test_client()
    body = envelope(ticketid="1", message="x" * 3000)
    resp = signed_post(client, body)
    assert resp.status_code == 413
    assert reader() == []


def test_oversize_chunked_body_without_length_is_413(make_app: Callable[..., Flask],
                                                     reader: Reader) -> None:
    client = make_app(webhooks={"max_body_bytes": 2048}).test_client()
    raw = json.dumps(envelope(ticketid="1", message="x" * 3000)).encode()
    headers = signed_headers(TEST_SECRET, "msg_chunked", raw)
    headers["Transfer-Encoding"] = "chunked"
    # what gunicorn hands over for a chunked request: no CONTENT_LENGTH, terminated input
    resp = client.post("/webhooks/whmcs", input_stream=io.BytesIO(raw), headers=headers,
                       content_type="application/json",
                       environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 413
    assert reader() == []


def test_content_length_of_5000_digits_is_413(client: FlaskClient, reader: Reader) -> None:
    # passed the digits check, then int() refused it (over 4300 digits): ValueError, a 500
    raw = json.dumps(envelope()).encode()
    resp = client.post("/webhooks/whmcs", input_stream=io.BytesIO(raw),
                       headers=signed_headers(TEST_SECRET, "msg_huge_length", raw),
                       content_type="application/json",
                       environ_overrides={"CONTENT_LENGTH": "9" * 5000})
    assert resp.status_code == 413
    assert reader() == []


def test_default_limit_is_one_mebibyte(client: FlaskClient) -> None:
    body = envelope(ticketid="1", message="x" * (1024 * 1024))
    assert signed_post(client, body).status_code == 413


def test_chunked_body_under_the_limit_is_accepted(client: FlaskClient, reader: Reader) -> None:
    raw = json.dumps(envelope()).encode()
    headers = signed_headers(TEST_SECRET, "msg_chunked_ok", raw)
    resp = client.post("/webhooks/whmcs", input_stream=io.BytesIO(raw), headers=headers,
                       content_type="application/json",
                       environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 202
    assert [r["id"] for r in reader()] == ["msg_chunked_ok"]


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", ""])
def test_not_json_is_415(client: FlaskClient, reader: Reader, ctype: str) -> None:
    resp = signed_post(client, envelope(), content_type=ctype)
    assert resp.status_code == 415
    assert reader() == []


def test_json_with_charset_and_vendor_types_are_accepted(client: FlaskClient) -> None:
    assert signed_post(client, envelope(),
                       content_type="application/json; charset=utf-8").status_code == 202
    assert signed_post(client, envelope(),
                       content_type="application/vnd.whmcs+json").status_code == 202


def test_signature_is_checked_before_content_type(client: FlaskClient) -> None:
    resp = signed_post(client, envelope(), content_type="text/plain", secret=OTHER_SECRET)
    assert resp.status_code == 401


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe{}", b'{"type": NaN}',
                                 b"[1, 2"])
def test_bad_json_is_400(client: FlaskClient, reader: Reader, raw: bytes) -> None:
    resp = signed_post(client, raw)
    assert resp.status_code == 400
    assert list(resp.json["errors"]) == ["body"]
    assert reader() == []


@pytest.mark.parametrize(("body", "path"), [
    ([1, 2, 3], "_schema"),
    ({"timestamp": "2026-11-25T03:00:00Z", "data": {}}, "type"),
    ({"type": "", "timestamp": "2026-11-25T03:00:00Z", "data": {}}, "type"),
    ({"type": "TicketOpen", "data": {"ticketid": 1}}, "timestamp"),
    ({"type": "TicketOpen", "timestamp": "last tuesday", "data": {"ticketid": 1}}, "timestamp"),
    # valid ISO 8601, but no time the handlers can compute with: stored (202), then the
    # worker's "timestamp - 15 minutes" or conversion to UTC raised OverflowError
    ({"type": "TicketOpen", "timestamp": "0001-01-01T00:00:00+01:00", "data": {"ticketid": 1}},
     "timestamp"),
    ({"type": "TicketOpen", "timestamp": "0001-01-01T00:05:00Z", "data": {"ticketid": 1}},
     "timestamp"),
    ({"type": "TicketOpen", "timestamp": "9999-12-31T23:00:00", "data": {"ticketid": 1}},
     "timestamp"),
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z"}, "data"),
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z", "data": "x"}, "data"),
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z", "data": {}}, "data.ticketid"),
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z",
      "data": {"ticketid": "12abc"}}, "data.ticketid"),
    ({"type": "TicketClose", "timestamp": "2026-11-25T03:00:00Z",
      "data": {"ticketid": "\u00b2"}}, "data.ticketid"),
    # ids are 32-bit: a bigger one used to be stored and crash the worker's queries, and
    # over 4300 digits int() itself raised ValueError (a 500)
    ({"type": "TicketClose", "timestamp": "2026-11-25T03:00:00Z",
      "data": {"ticketid": 2**31}}, "data.ticketid"),
    ({"type": "TicketClose", "timestamp": "2026-11-25T03:00:00Z",
      "data": {"ticketid": "9" * 5000}}, "data.ticketid"),
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z",
      "data": {"ticketid": 1, "userid": str(10**30)}}, "data.userid"),
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z", "data": {"ticketid": 1},
      "actor": {"type": "client", "client_id": 10**19}}, "actor.client_id"),
    ({"type": "TicketDelete", "timestamp": "2026-11-25T03:00:00Z",
      "data": {"ticketid": 5}}, "data.ticketId"),
    ({"type": "AfterModuleChangePackage", "timestamp": "2026-11-25T03:00:00Z",
      "data": {"params": {"serviceid": "x"}}}, "data.params.serviceid"),
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z", "data": {"ticketid": 1},
      "actor": {"type": "robot"}}, "actor.type"),
])
def test_schema_errors_name_the_field(client: FlaskClient, reader: Reader, body: Any,
                                      path: str) -> None:
    resp = signed_post(client, body)
    assert resp.status_code == 400
    assert path in resp.json["errors"], resp.json
    assert all(isinstance(m, str) for m in resp.json["errors"][path])
    assert reader() == []


