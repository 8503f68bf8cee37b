"""Every answer of the receiver contract (design.md "Signed requests", "Event envelope"),
on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

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


def test_nul_characters_are_stored_as_replacement_characters(client: FlaskClient,
                                                             reader: Reader) -> None:
    """PostgreSQL text cannot hold NUL: a ticket subject with one would fail every handler
    that writes it until the event was dead-lettered. WHMCS hands piped mail through as is."""
    body = envelope(ticketid="5", subject="s\x00", message="a\x00b", **{"k\x00": ["\x00"]})
    resp = signed_post(client, body, msg_id="msg_nul")
    assert resp.status_code == 202, resp.json
    data = reader()[0]["payload"]["data"]
    assert (data["subject"], data["message"]) == ("s\ufffd", "a\ufffdb")
    assert data["k\ufffd"] == ["\ufffd"]


@pytest.mark.parametrize("msg_id", ["msg_\x00x", "msg_a\tb", "msg_\x7f"])
def test_webhook_id_with_control_characters_is_401(client: FlaskClient, reader: Reader,
                                                   msg_id: str) -> None:
    resp = signed_post(client, envelope(), msg_id=msg_id)
    assert resp.status_code == 401
    assert resp.json["reason"] == "malformed_id"
    assert reader() == []


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


# --- signatures: tolerance and rotation (refusals are in test_refusals.py) ----------------

def test_tolerance_is_configurable(make_app: Callable[..., Flask]) -> None:
    client = make_app(webhooks={"tolerance_seconds": 900}).test_client()
    resp = signed_post(client, envelope(), timestamp=int(time.time()) - 600)
    assert resp.status_code == 202


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


# --- 503 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("group_commit", [True, False])
def test_store_failure_is_503_and_nothing_acknowledged(
    make_app: Callable[..., Flask], group_commit: bool
) -> None:
    app = make_app(ingest={"group_commit": group_commit})
    engine = app.extensions["whmcs_bridge"].engine
    with engine.begin() as conn:  # the inbox is gone: every insert fails
        conn.execute(text("DROP TABLE events"))
    resp = signed_post(app.test_client(), envelope())
    assert resp.status_code == 503
    assert resp.headers["Retry-After"]
    assert resp.json["error"] == "service_unavailable"


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
