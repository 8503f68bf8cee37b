"""Every way WHMCS refuses the caller is an auth failure, and one is enough: the client makes
no further call (WHMCS bans the IP after three failed logins in 30 minutes)."""

from __future__ import annotations

import pytest
import responses

from tests.api.conftest import API, IDENTIFIER, SECRET, URL, answer
from whmcs_bridge.api import (
    AccountDisabledError,
    AuthenticationError,
    ClientTrippedError,
    InvalidAccessKeyError,
    IpBannedError,
    IpNotAllowedError,
    PermissionDeniedError,
    UnknownActionError,
    WhmcsClient,
)
from whmcs_bridge.api.errors import classify

AUTH_FAILURES = [
    ("Authentication Failed", AuthenticationError),
    ("Invalid or missing credentials", AuthenticationError),
    ("Invalid Access Key", InvalidAccessKeyError),
    ("IP Banned", IpBannedError),
    ("Administrator Account Disabled", AccountDisabledError),
    ("Invalid IP 203.0.113.9", IpNotAllowedError),
]


@pytest.mark.parametrize(("message", "cls"), AUTH_FAILURES)
def test_auth_failures_are_classified(message, cls):
    assert classify(message) is cls
    assert cls.auth_failure and issubclass(cls, AuthenticationError)


def test_invalid_api_action_is_an_unknown_action_not_an_auth_failure():
    assert classify("Invalid API Action") is UnknownActionError
    assert not UnknownActionError.auth_failure
    assert not PermissionDeniedError.auth_failure


@pytest.mark.parametrize(("message", "cls"), AUTH_FAILURES)
def test_one_auth_failure_trips_the_client(mocked, client, message, cls):
    answer(mocked, {"result": "error", "message": message}, status=403)
    with pytest.raises(cls):
        client.call("GetAdminDetails")
    assert isinstance(client.tripped, cls)
    with pytest.raises(ClientTrippedError) as info:
        client.get_tickets()
    assert len(mocked.calls) == 1  # the second call never reached WHMCS
    text = str(info.value)
    assert "GetAdminDetails" in text and message in text and "3 failed logins" in text
    assert SECRET not in text and IDENTIFIER not in text


def test_a_write_after_an_auth_failure_is_refused_too(mocked, client):
    answer(mocked, {"result": "error", "message": "Authentication Failed"}, status=403)
    with pytest.raises(AuthenticationError):
        client.get_tickets()
    with pytest.raises(ClientTrippedError):
        client.add_ticket_reply(1, "hello", adminusername="bridge")
    assert len(mocked.calls) == 1


def test_other_errors_do_not_trip(mocked, client):
    answer(mocked, {"result": "error", "message": "Ticket ID Not Found"})
    answer(mocked, {"result": "error",
                    "message": 'Invalid Permissions: API action "getticket" is not allowed'},
           status=403)
    answer(mocked, {"result": "success", "totalresults": 0, "startnumber": 0,
                    "numreturned": 0})
    for _ in range(2):
        with pytest.raises(Exception):  # noqa: B017 - any non-auth error
            client.get_ticket(1)
    assert client.tripped is None
    assert client.get_tickets().items == []


def test_a_bad_credential_is_not_retried_even_on_a_retrying_read():
    with responses.RequestsMock() as mocked:
        answer(mocked, {"result": "error", "message": "Authentication Failed"}, status=403)
        with WhmcsClient(URL, IDENTIFIER, SECRET, retries=3, backoff=0) as client, \
                pytest.raises(AuthenticationError):
            client.get_tickets()
        assert len(mocked.calls) == 1
        assert mocked.calls[0].request.url == API
