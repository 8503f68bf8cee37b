"""Secrets (API secret, access key, service passwords, password2, password hashes) never show
up in reprs, logs or error texts."""

from __future__ import annotations

import logging

import pytest

from tests.api.conftest import ACCESS_KEY, IDENTIFIER, SECRET, answer, by_action, sent
from tests.api.payloads import payload
from whmcs_bridge.api import WhmcsClient, WhmcsError
from whmcs_bridge.settings import Secret

SERVICE_PASSWORD = "S3rv1ce-Pa55"
LOGIN_PASSWORD = "cust0mer-PW-123"


def _all_log_text(records: list[logging.LogRecord]) -> str:
    parts = []
    for record in records:
        parts.append(record.getMessage())
        parts.extend(str(v) for v in vars(record).values())
    return "\n".join(parts)


def test_client_repr_hides_credentials(client):
    text = repr(client)
    assert SECRET not in text and ACCESS_KEY not in text and IDENTIFIER not in text
    assert "whmcs.test" in text


def test_secret_objects_are_accepted(mocked):
    c = WhmcsClient("https://whmcs.test", Secret("id"), Secret("sec"), Secret("key"))
    assert "sec" not in repr(c)
    answer(mocked, payload("GetAdminDetails"))
    c.get_admin_details()
    form = sent(mocked.calls[0])  # the revealed values go out, not Secret('********')
    assert (form["identifier"], form["secret"], form["accesskey"]) == ("id", "sec", "key")


def test_nothing_secret_in_logs(mocked, client, caplog):
    by_action(mocked)
    with caplog.at_level(logging.DEBUG):
        client.get_clients_products(clientid=3)
        client.validate_login("lan@example.test", LOGIN_PASSWORD)
        client.get_admin_details()
    mocked.reset()
    answer(mocked, {"result": "error", "message": "Authentication Failed"}, status=403)
    with caplog.at_level(logging.DEBUG), pytest.raises(WhmcsError):
        client.get_tickets()
    text = _all_log_text(caplog.records)
    assert caplog.records, "the client logs its calls"
    for secret in (SECRET, ACCESS_KEY, SERVICE_PASSWORD, LOGIN_PASSWORD, "abcdefghijklmnop"):
        assert secret not in text


def test_models_hide_secrets(mocked, client):
    by_action(mocked)
    products = client.get_clients_products(clientid=3)
    login = client.validate_login("lan@example.test", LOGIN_PASSWORD)
    for text in (repr(products), str(products), repr(login)):
        assert SERVICE_PASSWORD not in text and "abcdefghijklmnop" not in text
