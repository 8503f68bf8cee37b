"""Every failure maps to one class of the error tree; nothing foreign escapes; no secret is
ever in an error text."""

from __future__ import annotations

import pickle

import pytest
import requests
import responses
import urllib3

from tests.api.conftest import ACCESS_KEY, API, IDENTIFIER, SECRET, URL, answer
from whmcs_bridge.api import (
    AuthenticationError,
    InvalidResponseError,
    IpNotAllowedError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TransportError,
    UnknownActionError,
    WhmcsClient,
    WhmcsConnectionError,
    WhmcsError,
    WhmcsTimeoutError,
    WhmcsValidationError,
)
from whmcs_bridge.api.errors import classify

ERRORS = [
    ("Invalid IP 203.0.113.9", 403, IpNotAllowedError),
    ("Authentication Failed", 403, AuthenticationError),
    ("Authentication Failed", 200, AuthenticationError),
    ('Invalid Permissions: API action "getticket" is not allowed', 403,
     PermissionDeniedError),
    ("Command Not Found", 200, UnknownActionError),
    ("Ticket ID Not Found", 200, NotFoundError),
    ("Client Not Found", 200, NotFoundError),
    ("Ticket ID not found", 200, NotFoundError),
    ("Email Template not found", 200, NotFoundError),
    ("Message is required", 200, WhmcsValidationError),
    ("Invalid Ticket Priority. Valid priorities are: Low,Medium,High", 200,
     WhmcsValidationError),
    ("Ticket creation date cannot be in the future", 200, WhmcsValidationError),
    ("Something odd", 500, ServerError),
]


@pytest.mark.parametrize(("message", "status", "cls"), ERRORS)
def test_error_messages_map_to_classes(mocked, client, message, status, cls):
    answer(mocked, {"result": "error", "message": message}, status=status)
    with pytest.raises(cls) as info:
        client.call("GetTicket", ticketid=1)
    err = info.value
    assert isinstance(err, WhmcsError)
    assert err.action == "GetTicket" and err.whmcs_status == status
    assert message in str(err)


def test_ip_error_tells_the_admin_what_to_do(mocked, client):
    answer(mocked, {"result": "error", "message": "Invalid IP 203.0.113.9"}, status=403)
    with pytest.raises(IpNotAllowedError) as info:
        client.get_admin_details()
    text = str(info.value)
    assert info.value.ip == "203.0.113.9"
    assert "Allow 203.0.113.9" in text and "API IP Access Restriction" in text
    assert "access_key" in text


@pytest.mark.parametrize(("body", "status", "content_type", "cls", "phrase"), [
    ("<html><body>Login</body></html>", 200, "text/html", InvalidResponseError, "HTML"),
    ("", 200, "application/json", InvalidResponseError, "empty"),
    ("result=success", 200, "text/plain", InvalidResponseError, "not JSON"),
    ("[1, 2]", 200, "application/json", InvalidResponseError, "not JSON"),
    ('{"foo": 1}', 200, "application/json", InvalidResponseError, "result"),
    ("<html>Bad gateway</html>", 502, "text/html", ServerError, "HTML"),
    ("", 503, "text/html", ServerError, "empty"),
    ("slow down", 429, "text/plain", ServerError, "not JSON"),
    ('{"result": "success"}', 500, "application/json", ServerError, "server error"),
])
def test_invalid_responses(mocked, client, body, status, content_type, cls, phrase):
    answer(mocked, body, status=status, content_type=content_type)
    with pytest.raises(cls) as info:
        client.get_tickets()
    assert type(info.value) is cls
    assert phrase in str(info.value)
    assert info.value.retryable is (cls is ServerError)


def test_shape_errors_are_invalid_response(mocked, client):
    answer(mocked, {"result": "success", "totalresults": "x1", "tickets": {}})
    with pytest.raises(InvalidResponseError, match="total"):
        client.get_tickets()
    answer(mocked, {"result": "success", "tickets": {"ticket": [{"tid": "no id"}]}})
    with pytest.raises(InvalidResponseError, match="id"):
        client.get_tickets()


@pytest.mark.parametrize(("exc", "cls"), [
    (requests.ConnectTimeout("boom"), WhmcsTimeoutError),
    (requests.ReadTimeout("boom"), WhmcsTimeoutError),
    (requests.ConnectionError("refused"), WhmcsConnectionError),
    (requests.exceptions.SSLError("bad cert"), WhmcsConnectionError),
    (requests.exceptions.ChunkedEncodingError("cut"), WhmcsConnectionError),
    (requests.exceptions.InvalidURL("bad"), WhmcsConnectionError),
    # retries exhausted on read timeouts: urllib3 wraps them in a ConnectionError
    (requests.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, "/", reason=urllib3.exceptions.ReadTimeoutError(None, "/", "timed out"))),
     WhmcsTimeoutError),
])
def test_transport_errors(mocked, client, exc, cls):
    mocked.add(responses.POST, API, body=exc)
    with pytest.raises(cls) as info:
        client.get_tickets()
    assert isinstance(info.value, TransportError) and info.value.retryable
    assert info.value.whmcs_status is None


def test_secrets_never_in_error_texts(mocked, client):
    answer(mocked, {"result": "error",
                    "message": f"Authentication Failed for {IDENTIFIER}:{SECRET}:{ACCESS_KEY}"})
    with pytest.raises(AuthenticationError) as info:
        client.get_tickets()
    for secret in (SECRET, ACCESS_KEY, IDENTIFIER):
        assert secret not in str(info.value)
        assert secret not in repr(info.value)
    mocked.reset()
    mocked.add(responses.POST, API, body=requests.ConnectionError(f"failed with {SECRET}"))
    # a fresh client: this one refuses every call after the auth failure above
    with WhmcsClient(URL, IDENTIFIER, SECRET, retries=0) as fresh, \
            pytest.raises(WhmcsConnectionError) as info2:
        fresh.get_tickets()
    assert SECRET not in str(info2.value)


def test_errors_pickle():
    err = IpNotAllowedError("GetTickets", 403, "Invalid IP 10.0.0.1")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is IpNotAllowedError and str(again) == str(err)
    err2 = NotFoundError("GetTicket", 200, "Ticket ID Not Found")
    assert str(pickle.loads(pickle.dumps(err2))) == str(err2)


def test_classify_is_pure():
    assert classify("  command not found ") is UnknownActionError
    assert classify("Department ID not found") is NotFoundError
    assert classify("Subject is required") is WhmcsValidationError


def test_unencodable_param_is_a_validation_error(client):
    with pytest.raises(WhmcsValidationError, match="object"):
        client.call("GetTickets", status=object())


def test_redirect_is_explained_not_followed(mocked, client):
    mocked.add(responses.POST, API, status=301,
               headers={"Location": "https://www.whmcs.test/includes/api.php"})
    with pytest.raises(InvalidResponseError) as info:
        client.get_tickets()
    assert info.value.whmcs_status == 301
    assert "https://www.whmcs.test/includes/api.php" in str(info.value)
    assert len(mocked.calls) == 1


def test_retry_after_is_capped():
    from urllib3.response import HTTPResponse

    from whmcs_bridge.api.client import CappedRetry

    retry = CappedRetry(total=2)
    response = HTTPResponse(status=429, headers={"Retry-After": "3600"})
    assert retry.get_retry_after(response) == CappedRetry.retry_after_cap
    assert type(retry.new()) is CappedRetry
