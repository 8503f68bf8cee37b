"""Access control in the order WHMCS applies it: IP allow-list, credentials, role, action."""

from __future__ import annotations

import hashlib

import pytest

from tests.sim.conftest import sim_config
from tests.sim.helpers import raw
from whmcs_bridge.api import (
    AuthenticationError,
    IpNotAllowedError,
    PermissionDeniedError,
    UnknownActionError,
    WhmcsClient,
)
from whmcs_bridge.sim import run_in_thread
from whmcs_bridge.sim.config import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    DEFAULT_ACCESS_KEY,
    DEFAULT_IDENTIFIER,
    DEFAULT_SECRET,
    READONLY_IDENTIFIER,
    READONLY_SECRET,
)


@pytest.fixture(scope="module")
def locked():
    handle = run_in_thread(sim_config(allowed_ips=("192.0.2.50",)))
    yield handle
    handle.stop()


def test_ip_not_allowed_is_403_with_the_ip(locked):
    response = raw(locked, "GetAdminDetails")
    assert response.status_code == 403
    assert response.json() == {"result": "error", "message": "Invalid IP 127.0.0.1"}
    with pytest.raises(IpNotAllowedError) as info:
        locked.client(retries=0).get_admin_details()
    assert info.value.ip == "127.0.0.1" and info.value.http_status == 403


def test_access_key_bypasses_the_allow_list(locked):
    client = WhmcsClient(locked.url, DEFAULT_IDENTIFIER, DEFAULT_SECRET,
                         access_key=DEFAULT_ACCESS_KEY, retries=0)
    assert client.get_admin_details().adminid == 1
    wrong = WhmcsClient(locked.url, DEFAULT_IDENTIFIER, DEFAULT_SECRET, access_key="nope",
                        retries=0)
    with pytest.raises(IpNotAllowedError):
        wrong.get_admin_details()


def test_ip_check_comes_before_credentials(locked):
    response = raw(locked, "GetAdminDetails", identifier="bad", secret="bad")
    assert response.json()["message"].startswith("Invalid IP")


def test_bad_credentials(sim):
    response = raw(sim, "GetAdminDetails", identifier=DEFAULT_IDENTIFIER, secret="wrong")
    assert response.status_code == 403
    assert response.json() == {"result": "error", "message": "Authentication Failed"}
    with pytest.raises(AuthenticationError):
        WhmcsClient(sim.url, DEFAULT_IDENTIFIER, "wrong", retries=0).get_tickets()
    assert raw(sim, "GetAdminDetails", auth=False).json()["message"] == \
        "Authentication Failed"


def test_credentials_in_username_password_and_legacy_md5(sim):
    pair = raw(sim, "GetAdminDetails", auth=False, username=DEFAULT_IDENTIFIER,
               password=DEFAULT_SECRET)
    assert pair.json()["result"] == "success"
    digest = hashlib.md5(ADMIN_PASSWORD.encode()).hexdigest()
    legacy = raw(sim, "GetAdminDetails", auth=False, username=ADMIN_USERNAME,
                 password=digest)
    assert legacy.json()["result"] == "success"
    plain = raw(sim, "GetAdminDetails", auth=False, username=ADMIN_USERNAME,
                password=ADMIN_PASSWORD)
    assert plain.json()["message"] == "Authentication Failed"


def test_role_permissions(sim):
    reader = WhmcsClient(sim.url, READONLY_IDENTIFIER, READONLY_SECRET, retries=0)
    assert reader.get_tickets(limitnum=1).total == 120
    with pytest.raises(PermissionDeniedError) as info:
        reader.add_ticket_reply(1, "x", adminusername="simreader")
    assert info.value.message == 'Invalid Permissions: API action "addticketreply" is not ' \
        "allowed"
    assert info.value.http_status == 403


def test_unknown_action(sim):
    with pytest.raises(UnknownActionError) as info:
        sim.client(retries=0).call("GetFlyingCars")
    assert info.value.message == "Command Not Found"


def test_post_only(sim):
    import requests

    response = requests.get(sim.api_url, timeout=5)
    assert response.status_code == 405 and response.json()["result"] == "error"
