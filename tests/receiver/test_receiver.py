"""Every answer of the receiver contract (design.md "Signed requests", "Event envelope"),
on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import TEST_SECRET
from tests.receiver.conftest import USER_AGENT, envelope, signed_post
from whmcs_bridge.signing import sign, signed_headers

OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()

Reader = Callable[[], list[dict[str, Any]]]


# --- 202 / 200 / ignored -------------------------------------------------------------------

def test_new_event_is_committed_before_202(client: FlaskClient, reader: Reader) -> None:
    resp = signed_post(client, envelope(), msg_id="msg_new_1")
    assert resp.status_code == 202
    assert resp.json == {"status": "accepted", "id": "msg_new_1"}
    rows = reader()  # a separate engine sees it as soon as the answer is out
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == "msg_new_1"
    assert row["type"] == "TicketOpen"
    assert row["status"] == "pending"
    assert row["attempts"] == 0
    assert row["source"] == USER_AGENT
    assert row["next_attempt_at"] == row["received_at"]
    assert row["payload"]["type"] == "TicketOpen"
    assert row["payload"]["timestamp"] == "2026-11-25T10:00:00+07:00"
    assert row["payload"]["data"]["ticketid"] == 101  # coerced from "101"
    assert row["payload"]["data"]["subject"] == "Site down"
    assert "actor" not in row["payload"]


def test_duplicate_id_answers_200_and_stores_once(client: FlaskClient, reader: Reader) -> None:
    first = signed_post(client, envelope(), msg_id="msg_dup")
    again = signed_post(client, envelope(), msg_id="msg_dup")
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json == {"status": "duplicate", "id": "msg_dup"}
    assert [r["id"] for r in reader()] == ["msg_dup"]


def test_unknown_type_is_stored_as_ignored(client: FlaskClient, reader: Reader) -> None:
    resp = signed_post(client, {"type": "SomethingNew", "timestamp": "2026-11-25T03:00:00Z",
                                "data": {"anything": [1, 2], "password": "hunter2"}},
                       msg_id="msg_unknown")
    assert resp.status_code == 202
    assert resp.json["status"] == "ignored"
    (row,) = reader()
    assert row["status"] == "ignored"
    assert row["next_attempt_at"] is None
    assert row["payload"]["data"] == {"anything": [1, 2]}  # secrets dropped even here


def test_actor_is_validated_and_kept(client: FlaskClient, reader: Reader) -> None:
    body = envelope() | {"actor": {"type": "masquerading_admin", "client_id": "7",
                                   "admin_id": 2, "admin_username": "ann"}}
    assert signed_post(client, body).status_code == 202
    (row,) = reader()
    assert row["payload"]["actor"] == {"type": "masquerading_admin", "client_id": 7,
                                       "admin_id": 2, "admin_username": "ann"}


def test_password_is_never_stored(client: FlaskClient, reader: Reader) -> None:
    body = envelope("ClientChangePassword", userid="42", password="S3cret-pw!")
    assert signed_post(client, body).status_code == 202
    (row,) = reader()
    assert row["payload"]["data"] == {"userid": 42}
    assert "S3cret-pw!" not in json.dumps(row["payload"])


def test_without_group_commit_the_contract_is_the_same(
    make_app: Callable[..., Flask], reader: Reader
) -> None:
    client = make_app(ingest={"group_commit": False}).test_client()
    assert signed_post(client, envelope(), msg_id="msg_solo").status_code == 202
    assert signed_post(client, envelope(), msg_id="msg_solo").status_code == 200
    assert [r["id"] for r in reader()] == ["msg_solo"]


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


def test_tolerance_is_configurable(make_app: Callable[..., Flask]) -> None:
    client = make_app(webhooks={"tolerance_seconds": 900}).test_client()
    resp = signed_post(client, envelope(), timestamp=int(time.time()) - 600)
    assert resp.status_code == 202


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


def test_rotated_secrets_accept_either(make_app: Callable[..., Flask], reader: Reader) -> None:
    client = make_app(webhooks={"secrets": [TEST_SECRET, OTHER_SECRET]}).test_client()
    assert signed_post(client, envelope(), msg_id="msg_old", secret=TEST_SECRET).status_code == 202
    assert signed_post(client, envelope(), msg_id="msg_new",
                       secret=OTHER_SECRET).status_code == 202
    # a sender mid-rotation signs with both; one unknown signature in the list does not hurt
    raw = json.dumps(envelope()).encode()
    ts = int(time.time())
    third = "whsec_" + base64.b64encode(b"t" * 32).decode()
    both = f"{sign(third, 'msg_both', ts, raw)} {sign(OTHER_SECRET, 'msg_both', ts, raw)}"
    resp = client.post("/webhooks/whmcs", data=raw, content_type="application/json",
                       headers={"webhook-id": "msg_both", "webhook-timestamp": str(ts),
                                "webhook-signature": both})
    assert resp.status_code == 202
    assert [r["id"] for r in reader()] == ["msg_both", "msg_new", "msg_old"]


def test_no_secret_configured_refuses_everything(make_app: Callable[..., Flask]) -> None:
    client = make_app(webhooks={"secrets": []}).test_client()
    resp = signed_post(client, envelope())
    assert resp.status_code == 401
    assert resp.json["reason"] == "not_configured"


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
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z"}, "data"),
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z", "data": "x"}, "data"),
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z", "data": {}}, "data.ticketid"),
    ({"type": "TicketOpen", "timestamp": "2026-11-25T03:00:00Z",
      "data": {"ticketid": "12abc"}}, "data.ticketid"),
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


# --- 503 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("group_commit", [True, False])
def test_store_failure_is_503_and_nothing_acknowledged(
    make_app: Callable[..., Flask], group_commit: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(ingest={"group_commit": group_commit})
    engine = app.extensions["whmcs_bridge"].engine

    def broken_connect(*_: Any, **__: Any) -> Any:
        raise OSError("disk on fire")

    monkeypatch.setattr(engine, "begin", broken_connect)
    resp = signed_post(app.test_client(), envelope())
    assert resp.status_code == 503
    assert resp.headers["Retry-After"]


# --- interop ----------------------------------------------------------------------------

def test_request_signed_by_standardwebhooks_is_accepted(client: FlaskClient,
                                                        reader: Reader) -> None:
    raw = json.dumps(envelope())
    now = datetime.now(UTC)
    signature = standardwebhooks.Webhook(TEST_SECRET).sign("msg_interop", now, raw)
    resp = client.post("/webhooks/whmcs", data=raw.encode(), content_type="application/json",
                       headers={"webhook-id": "msg_interop",
                                "webhook-timestamp": str(int(now.timestamp())),
                                "webhook-signature": signature})
    assert resp.status_code == 202
    assert [r["id"] for r in reader()] == ["msg_interop"]


def test_our_signature_verifies_with_standardwebhooks() -> None:
    raw = json.dumps(envelope())
    headers = signed_headers(TEST_SECRET, "msg_ours", raw.encode())
    assert standardwebhooks.Webhook(TEST_SECRET).verify(raw, headers)["type"] == "TicketOpen"
